-- The key register and plant maintenance (rules.md §13.23, §13.13; issue 22 items 11-12).
-- The registers themselves live in the engine's book snapshots (`core_state`: `vacant`,
-- `maintenance`); these tables keep what happened, for good (§13.25): each loan's expected
-- return, each inventory of the key board with what was missing, each maintenance task
-- done with the running data read then.
alter table key_loans add column expected_back_ms bigint;

create table key_inventories (
    counted_by text not null,
    missing bigint not null,
    body text not null,
    created_at_ms bigint not null
);

create table maintenance_done (
    task_id text not null,
    done_on text not null,
    done_by text not null,
    body text not null,
    created_at_ms bigint not null
);
create index maintenance_done_task on maintenance_done (task_id, done_on);
