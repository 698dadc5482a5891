-- Point history keyed by an integer per point instead of the point's id text: a reading's
-- key compares as one integer (the text compares were most of an insert's key look-up)
-- and its row holds a one- to three-byte varint instead of the id, so the history file
-- shrinks by about a third. `point_keys` names each key; keys are never reused.
create table point_keys (
    point_key integer primary key,
    point_id text not null unique
);

-- Keys in id order, so the copy below still walks and appends in key order.
insert into point_keys (point_id)
    select distinct point_id from readings order by point_id;

create table readings_by_key (
    point_key integer not null,
    ts_ms bigint not null,
    value real not null,
    primary key (point_key, ts_ms, value)
) without rowid;

insert into readings_by_key (point_key, ts_ms, value)
    select k.point_key, r.ts_ms, r.value
    from readings r join point_keys k on k.point_id = r.point_id
    order by r.point_id, r.ts_ms, r.value;

drop table readings;
alter table readings_by_key rename to readings;
