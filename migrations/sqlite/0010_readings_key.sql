-- Point history keyed by the reading itself: a WITHOUT ROWID table whose primary key
-- (point_id, ts_ms, value) is the only B-tree, so a reading costs one insert instead of
-- a rowid-table insert plus an index insert. Two readings of one point in the same
-- millisecond with the same value are one reading (the second says nothing more; inserts
-- use `on conflict do nothing`); different values in the same millisecond are both kept.
-- The readers order by (ts_ms, value) within a point: this key's order.
create table readings_keyed (
    point_id text not null,
    ts_ms bigint not null,
    value real not null,
    primary key (point_id, ts_ms, value)
) without rowid;

-- Copy in key order, so the new B-tree is written by appending. `indexed by` keeps the
-- plan an ordered walk of the old index with a sort of only each (point, ms) group's
-- values: a full scan plus sort would sort the whole history, and with the store's
-- `temp_store = memory` that sort would be held in RAM. Exact duplicates become one row.
-- (`where true`: SQLite's documented way to parse `on conflict` after `insert … select`.)
insert into readings_keyed (point_id, ts_ms, value)
    select point_id, ts_ms, value from readings indexed by readings_point_ts
    where true
    order by point_id, ts_ms, value
    on conflict do nothing;

drop index readings_point_ts;
drop table readings;
alter table readings_keyed rename to readings;
