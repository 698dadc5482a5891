-- Messages sending a notice to its recipients (issue 5): one row per owner or tenant of a
-- target unit, written in the same transaction as the notice. The sender works through
-- `queued` rows; every outcome stays (nothing is deleted).
-- status: queued -> sent (handed to the transport, answer pending) -> delivered | queued
-- (retry at next_attempt_ms) | failed; suppressed (flood control) and hand (paper) are final.
create table notice_messages (
    message_id integer primary key autoincrement,
    notice_id bigint not null references notices (notice_id),
    unit_id text not null,
    role text not null,
    name text not null,
    channel text not null,
    preferred_channel text not null,
    address text,
    contact_key text not null,
    incident_id bigint,
    status text not null,
    reason text,
    attempts bigint not null default 0,
    idempotency_key text not null unique,
    next_attempt_ms bigint,
    last_attempt_ms bigint,
    delivered_at_ms bigint,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);
create index notice_messages_due on notice_messages (status, next_attempt_ms);
create index notice_messages_contact on notice_messages (contact_key, created_at_ms);
create index notice_messages_incident on notice_messages (incident_id, contact_key);
create index notice_messages_notice on notice_messages (notice_id);
