-- Commands down (issue 23): every command the centre sends to a site and how it ended,
-- recorded before it is sent. `outcome`: `sending` (sent, no answer yet: the centre
-- stopped before one came), `applied` and `refused` (the site's answer, with the status
-- and stable code its own API gives), `not_delivered` (no site answered: no responders,
-- or none within `[fleet] command_timeout`; the site may still apply it later, and a
-- resend with the same id then answers its outcome), `unavailable` (the site's engine
-- was stopping: nothing done there), `bad_reply`. Only `applied` and `refused` are final:
-- the same command id is then answered from here, otherwise sent again.
create table central_commands (
    command_id text primary key,
    site_id text not null,
    operator text not null,
    action jsonb not null,
    sent_ms bigint not null,
    tries integer not null default 1,
    outcome text not null,
    answered_ms bigint,
    status integer,
    code text,
    answer jsonb
);
create index central_commands_site on central_commands (site_id, sent_ms);
