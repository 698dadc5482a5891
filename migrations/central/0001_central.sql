-- The central office's records (issue 23): every table keyed by the site and the
-- record's id at that site (its outbox row id), so a record delivered twice is applied
-- once. Records and history are partitioned by month (the consumer makes the partitions
-- ahead; a default partition takes what falls outside them).
create table central_sites (
    site_id text primary key,
    first_ms bigint not null,
    last_received_ms bigint not null,
    last_record_ms bigint not null,
    watermark bigint not null default 0
);

create table central_records (
    site_id text not null,
    record_id bigint not null,
    at timestamptz not null,
    kind text not null,
    subject text not null,
    body jsonb not null,
    received_ms bigint not null,
    primary key (site_id, record_id, at)
) partition by range (at);
create table central_records_default partition of central_records default;
create index central_records_kind on central_records (site_id, kind, at);

create table central_history (
    site_id text not null,
    record_id bigint not null,
    at timestamptz not null,
    point text not null,
    value double precision not null,
    primary key (site_id, record_id, at)
) partition by range (at);
create table central_history_default partition of central_history default;

-- The latest snapshot of each book a site keeps (alarms, incident:N, request:N, …): what
-- the fleet view reads. A snapshot older than the one kept is ignored.
create table central_state (
    site_id text not null,
    name text not null,
    record_id bigint not null,
    at timestamptz not null,
    body jsonb not null,
    primary key (site_id, name)
);

-- What the watermark may cover: per site and batch, the highest JetStream stream
-- sequence and the highest record id committed. Once the durable consumer's ack floor
-- (every message at or below it acknowledged, so committed) reaches a batch's sequence,
-- its id may raise the site's watermark and the row goes.
create table central_marks (
    site_id text not null,
    stream_seq bigint not null,
    record_id bigint not null,
    primary key (site_id, stream_seq)
);
