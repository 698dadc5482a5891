-- Monthly meter snapshots for billing (抄表): every meter's reading at the cut-off
-- (rules.md §13.10: the 20th, seed 004:85). One row per period and point; never changed.
create table meter_snapshots (
    period text not null,
    point_id text not null,
    device_id text not null,
    unit_id text,
    value double precision,
    unit text not null,
    quality text not null,
    read_ms bigint,
    taken_ms bigint not null,
    primary key (period, point_id)
);
