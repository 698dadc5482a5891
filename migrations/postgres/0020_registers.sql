-- The compliance register (rules.md §13.24, §13.15; issue 22 item 10): one row per item,
-- dates as site-local days (YYYY-MM-DD), and every inspection recorded kept for good
-- (§13.25: records are never deleted).
create table compliance_items (
    item_id text primary key,
    kind text not null,
    name text not null,
    last_inspected text,
    interval_days bigint not null,
    next_due text not null,
    certificate_file bigint,
    contractor text not null,
    updated_by text not null,
    updated_at_ms bigint not null
);

create table compliance_inspections (
    item_id text not null,
    done_on text not null,
    certificate_file bigint,
    recorded_by text not null,
    recorded_at_ms bigint not null
);
