-- The same rule as SQLite's 0010: two readings of one point in the same millisecond with
-- the same value are one reading (the second says nothing more; inserts use
-- `on conflict do nothing`); different values in the same millisecond are both kept.
-- A unique index on (point_id, ts_ms, value) makes the rule and serves the readers,
-- which order by (ts_ms, value) within a point, so it replaces readings_point_ts.

-- Exact duplicates already stored: keep one of each.
delete from readings
where ctid in (
    select ctid from (
        select ctid, row_number() over (partition by point_id, ts_ms, value order by ctid) as n
        from readings
    ) numbered
    where n > 1
);

create unique index readings_point_ts_value on readings (point_id, ts_ms, value);
drop index readings_point_ts;
