-- Duty desk (issue 5): shift hand-overs (交接班记录) with their items, notes and
-- acknowledgements as the core's JSON; the duty log per shift (值班接待纪录, rules.md
-- §13.19); planned fire-system tests that suppress the fire panel for their window
-- (§13.15); the incident a service request came from. Nothing is ever deleted.
create table handovers (
    handover_id integer primary key autoincrement,
    outgoing text not null,
    started_at_ms bigint not null,
    completed_at_ms bigint,
    body text not null,
    version bigint not null,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);
create index handovers_started on handovers (started_at_ms);

create table duty_log (
    duty_log_id integer primary key autoincrement,
    author text not null,
    shift text not null,
    text text not null,
    at_ms bigint not null,
    created_at_ms bigint not null
);
create index duty_log_at on duty_log (at_ms);

create table fire_tests (
    fire_test_id integer primary key autoincrement,
    notice_id bigint not null references notices (notice_id),
    devices text not null,
    starts_at_ms bigint not null,
    ends_at_ms bigint not null,
    created_by text not null,
    applied_at_ms bigint,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);

alter table service_requests add column incident_id bigint;
create index service_requests_incident on service_requests (incident_id);
