-- Point history (on change beyond a deadband, plus a heartbeat) and the event journal.
create table readings (
    point_id text not null,
    ts_ms bigint not null,
    value real not null
);
create index readings_point_ts on readings (point_id, ts_ms);

create table events (
    event_id integer primary key autoincrement,
    ts_ms bigint not null,
    kind text not null,
    subject text not null,
    body text not null
);
create index events_kind_ts on events (kind, ts_ms);
