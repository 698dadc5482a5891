-- The meter register (issue 24): each household meter behind a gateway, with the unit
-- it serves. An import replaces the whole register in one transaction; the daemon reads
-- it at start.
create table meters (
    meter_id text primary key,
    unit_id text not null,
    kind text not null,
    profile text not null,
    gateway text not null,
    unit_address bigint not null,
    multiplier real not null,
    seq bigint not null,
    updated_by text not null,
    updated_at_ms bigint not null
);

create unique index meters_on_gateway on meters (gateway, unit_address);
