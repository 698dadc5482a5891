-- Pages to people on call (issue 21). One row per step of an alarm's escalation and per
-- repeat: `page_key` (`{alarm}|{raised ms}|{level}|{seq}`, or `summary|{person}|{ms}`) is
-- unique, so a step is planned once whatever restarts come between; the queued rows are
-- the schedule a restart continues from. Nothing is deleted.
-- status: queued -> sending (handed to a channel) -> delivered | queued (retry, or the
-- next channel) | failed; cancelled (an acknowledgement or return to normal came first),
-- summarised (joined the person's summary), held (the person's rate limit).
create table pages (
    page_id integer primary key autoincrement,
    page_key text not null unique,
    kind text not null,
    alarm_id text,
    raised_at_ms bigint,
    priority text not null,
    level text not null,
    seq bigint not null,
    person text,
    channel text,
    address text,
    channel_index bigint not null default 0,
    channel_attempts bigint not null default 0,
    attempts bigint not null default 0,
    status text not null,
    reason text,
    title text not null default '',
    body text not null default '',
    due_ms bigint not null,
    created_at_ms bigint not null,
    updated_at_ms bigint not null,
    sent_at_ms bigint,
    delivered_at_ms bigint,
    cancelled_by text,
    link_used_ms bigint,
    link_action text
);
create index pages_due on pages (status, due_ms);
create index pages_alarm on pages (alarm_id, raised_at_ms);
