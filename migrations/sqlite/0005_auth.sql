-- Users, sessions, API tokens and the audit trail (issue 7). Secrets are stored only as
-- hashes: passwords with argon2 (PHC string), session and API tokens as sha256 hex.
create table users (
    user_id integer primary key autoincrement,
    username text not null unique,
    display_name text not null,
    role text not null,
    password_hash text not null,
    disabled integer not null default 0,
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);

create table sessions (
    session_id integer primary key autoincrement,
    token_hash text not null unique,
    username text not null references users (username),
    csrf_token text not null,
    created_at_ms bigint not null,
    expires_at_ms bigint not null
);

create table api_tokens (
    api_token_id integer primary key autoincrement,
    name text not null,
    role text not null,
    token_hash text not null unique,
    created_at_ms bigint not null,
    revoked_at_ms bigint
);
create index api_tokens_name on api_tokens (name);

-- Every change made through the API or the dashboard, and every log-in and log-out.
-- `action` is the method and matched route (`POST /api/v1/alarms/{id}/acknowledge`) or
-- `login`, `login_failed`, `logout`; `before` and `after` are JSON (or null).
create table audit (
    audit_id integer primary key autoincrement,
    at_ms bigint not null,
    actor text not null,
    action text not null,
    target text not null,
    status integer not null,
    before_json text,
    after_json text,
    ip text not null,
    route text not null
);
create index audit_at on audit (at_ms);
create index audit_actor on audit (actor, at_ms);
