-- The centre's operators (issue 23, the fleet view): the same roles, argon2 password
-- hashes and sha256-hashed session and API tokens as a site's users, kept in the central
-- database. Only hashes of secrets are stored.
create table central_users (
    username text primary key,
    role text not null,
    password_hash text not null,
    disabled boolean not null default false,
    created_ms bigint not null
);

create table central_sessions (
    token_hash text primary key,
    username text not null references central_users (username) on delete cascade,
    csrf_token text not null,
    created_ms bigint not null,
    expires_ms bigint not null
);
create index central_sessions_expiry on central_sessions (expires_ms);

create table central_tokens (
    token_hash text primary key,
    name text not null,
    role text not null,
    created_ms bigint not null,
    revoked_ms bigint
);
