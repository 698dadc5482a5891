-- Patrol scans (stored before the API answers), findings, and snapshots of the pure
-- core's books so their state survives a restart.
create table scans (
    scan_id text primary key,
    scanned_ms bigint not null,
    received_ms bigint not null,
    guard text not null,
    body text not null,
    result text,
    record text
);
create index scans_received on scans (received_ms);

create table findings (
    finding_id text primary key,
    ts_ms bigint not null,
    guard text not null,
    kind text not null,
    body text not null
);

create table core_state (
    name text primary key,
    body text not null,
    updated_ms bigint not null
);
