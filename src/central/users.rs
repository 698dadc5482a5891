//! The centre's operators, their sessions and API tokens in the central database
//! (`migrations/central/0002_users.sql`). Only hashes of secrets are stored; the hashing
//! and the tokens are the site's (`crate::access`).

use sqlx::PgPool;

use crate::access::{Role, Secret, hash_password, new_token, token_hash};
use crate::store::Holder;

/// `sitewatch central user add`: adds an operator, refusing a taken name.
pub async fn add_cli(
    pool: &PgPool,
    name: &str,
    role: Role,
    password: &Secret,
) -> anyhow::Result<()> {
    anyhow::ensure!(!name.trim().is_empty(), "a user needs a name");
    let hash = hash_password(password)?;
    let now = chrono::Utc::now().timestamp_millis();
    anyhow::ensure!(
        add_user(pool, name, role, &hash, now).await?,
        "user `{name}` already exists"
    );
    println!("user {name} added ({role}) at the centre");
    Ok(())
}

/// `sitewatch central user list`.
pub async fn list_cli(pool: &PgPool) -> anyhow::Result<()> {
    for (name, role, disabled) in users(pool).await? {
        let state = if disabled { " (disabled)" } else { "" };
        println!("{name}\t{role}{state}");
    }
    Ok(())
}

/// `sitewatch central token`: makes a token and prints it, once (only its hash is kept).
pub async fn token_cli(pool: &PgPool, name: &str, role: Role) -> anyhow::Result<()> {
    let token = new_token();
    let now = chrono::Utc::now().timestamp_millis();
    create_token(pool, name, role, &token_hash(token.expose()), now).await?;
    println!("{}", token.expose());
    eprintln!("token {name} ({role}) created at the centre; it is shown only this once");
    Ok(())
}

/// Adds an operator; false when the name is taken.
pub async fn add_user(
    pool: &PgPool,
    name: &str,
    role: Role,
    password_hash: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into central_users (username, role, password_hash, created_ms) \
         values ($1, $2, $3, $4) on conflict do nothing",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(password_hash)
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every operator by name: (name, role, disabled).
pub async fn users(pool: &PgPool) -> Result<Vec<(String, String, bool)>, sqlx::Error> {
    sqlx::query_as("select username, role, disabled from central_users order by username")
        .fetch_all(pool)
        .await
}

/// An enabled operator's role and password hash, for sign-in.
pub async fn login(pool: &PgPool, name: &str) -> Result<Option<(Role, String)>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "select role, password_hash from central_users where username = $1 and not disabled",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(role, hash)| Some((role.parse().ok()?, hash))))
}

/// Records a session by its token's hash, and forgets the sessions that have ended (the
/// table stays as small as the sessions in use).
pub async fn create_session(
    pool: &PgPool,
    token_hash: &str,
    name: &str,
    csrf: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into central_sessions (token_hash, username, csrf_token, created_ms, expires_ms) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(name)
    .bind(csrf)
    .bind(now_ms)
    .bind(expires_ms)
    .execute(pool)
    .await?;
    sqlx::query("delete from central_sessions where expires_ms <= $1")
        .bind(now_ms)
        .execute(pool)
        .await?;
    Ok(())
}

/// The live session with this token hash, if its operator is enabled.
pub async fn session(
    pool: &PgPool,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<Holder>, sqlx::Error> {
    let row: Option<(String, String, String, i64)> = sqlx::query_as(
        "select u.username, u.role, s.csrf_token, s.expires_ms from central_sessions s \
         join central_users u using (username) \
         where s.token_hash = $1 and s.expires_ms > $2 and not u.disabled",
    )
    .bind(token_hash)
    .bind(now_ms)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(name, role, csrf, expires)| {
        Some(Holder {
            name,
            role: role.parse().ok()?,
            csrf,
            expires_at: chrono::DateTime::from_timestamp_millis(expires),
        })
    }))
}

/// Ends a session.
pub async fn delete_session(pool: &PgPool, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("delete from central_sessions where token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Records an API token by its hash.
pub async fn create_token(
    pool: &PgPool,
    name: &str,
    role: Role,
    token_hash: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into central_tokens (token_hash, name, role, created_ms) values ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(name)
    .bind(role.as_str())
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// The unrevoked token with this hash.
pub async fn token(pool: &PgPool, token_hash: &str) -> Result<Option<Holder>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "select name, role from central_tokens where token_hash = $1 and revoked_ms is null",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(name, role)| {
        Some(Holder {
            name,
            role: role.parse().ok()?,
            csrf: String::new(),
            expires_at: None,
        })
    }))
}
