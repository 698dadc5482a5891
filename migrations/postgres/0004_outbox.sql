-- Outgoing messages (MQTT events and retained alarm states, later webhooks and mail),
-- written with the decision that caused them and deleted only once delivered, so a
-- broker or gateway outage, or a restart, loses nothing.
create table outbox (
    outbox_id bigint generated always as identity primary key,
    created_ms bigint not null,
    channel text not null,
    target text not null,
    payload text not null,
    retain integer not null default 0,
    attempts integer not null default 0,
    sent_ms bigint
);
create index outbox_unsent on outbox (channel, sent_ms, outbox_id);
