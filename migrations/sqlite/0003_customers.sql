-- Customer-service records (issue 5; rules.md §8, §13.9–10, §13.14, §13.16–18):
-- buildings, floors and units with their owners and tenants (业户档案), occupancy history
-- with meter base readings, service requests, notices with per-unit delivery records,
-- vacant-unit inspections and key loans. Nothing here is ever deleted.
create table buildings (
    building_id text primary key,
    name text not null,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);

create table floors (
    floor_id text primary key,
    building_id text not null references buildings (building_id),
    label text not null,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);

create table units (
    unit_id text primary key,
    building_id text not null references buildings (building_id),
    floor_id text not null references floors (floor_id),
    label text not null,
    area_m2 real,
    occupancy text not null,
    occupancy_since_ms bigint not null,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);
create index units_occupancy on units (occupancy);

create table unit_contacts (
    unit_contact_id integer primary key autoincrement,
    unit_id text not null references units (unit_id),
    role text not null,
    name text not null,
    phone text,
    email text,
    preferred_channel text not null,
    created_at_ms bigint not null,
    updated_at_ms bigint not null,
    unique (unit_id, role)
);

-- Every occupancy change; move-in and move-out carry the meter base readings (§13.10).
create table occupancy_changes (
    occupancy_change_id integer primary key autoincrement,
    unit_id text not null references units (unit_id),
    occupancy text not null,
    at_ms bigint not null,
    actor text not null,
    water_base real,
    power_base real,
    created_at_ms bigint not null
);
create index occupancy_changes_unit on occupancy_changes (unit_id, at_ms);

-- Repairs, complaints and suggestions: the core's ServiceRequest as JSON, with the
-- columns the lists filter on. `version` guards against two desks writing at once.
create table service_requests (
    service_request_id integer primary key autoincrement,
    kind text not null,
    state text not null,
    unit_id text not null,
    body text not null,
    version bigint not null,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);
create index service_requests_state on service_requests (state);

create table notices (
    notice_id integer primary key autoincrement,
    level text not null,
    template text not null,
    title text not null,
    body text not null,
    starts_at_ms bigint,
    ends_at_ms bigint,
    expires_at_ms bigint not null,
    target text not null,
    created_by text not null,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);

-- One row per target unit: how and when the notice reached it, and its confirmation.
create table notice_units (
    notice_unit_id integer primary key autoincrement,
    notice_id bigint not null references notices (notice_id),
    unit_id text not null,
    channel text,
    delivered_at_ms bigint,
    confirmed_at_ms bigint,
    recorded_by text,
    created_at_ms bigint not null,
    updated_at_ms bigint not null,
    unique (notice_id, unit_id)
);

create table inspections (
    inspection_id text primary key,
    unit_id text not null,
    inspector text not null,
    body text not null,
    created_at_ms bigint not null
);
create index inspections_unit on inspections (unit_id, created_at_ms);

create table key_loans (
    key_loan_id integer primary key autoincrement,
    key_set_id text not null,
    holder text not null,
    purpose text not null,
    out_at_ms bigint not null,
    in_at_ms bigint,
    returned_by text,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);
create index key_loans_set on key_loans (key_set_id, out_at_ms);
