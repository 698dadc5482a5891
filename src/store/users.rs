//! Users, their sessions and API tokens. Only hashes of secrets are stored.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};
use crate::access::Role;

/// A user as listed (no password hash).
#[derive(Debug, Clone, Serialize)]
pub struct UserRow {
    /// Log-in name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// A disabled user cannot log in and loses its sessions.
    pub disabled: bool,
}

/// Who a session or token speaks for.
#[derive(Debug, Clone)]
pub struct Holder {
    /// User name or token name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The session's CSRF token (empty for API tokens).
    pub csrf: String,
    /// When the session ends (`None` for API tokens, which last until revoked).
    pub expires_at: Option<DateTime<Utc>>,
}

impl Store {
    /// How many users exist (none: the daemon is open, on loopback only).
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("select count(*) as n from users")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Adds a user; false when the name is taken.
    pub async fn add_user(
        &self,
        user: &UserRow,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let taken = sqlx::query("select 1 as x from users where username = $1")
            .bind(user.username.clone())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !taken {
            sqlx::query(
                "insert into users (username, display_name, role, password_hash, disabled, created_at_ms, updated_at_ms) \
                 values ($1, $2, $3, $4, 0, $5, $5)",
            )
            .bind(user.username.clone())
            .bind(user.display_name.clone())
            .bind(user.role.as_str())
            .bind(password_hash.to_owned())
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(!taken)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query(
            "select username, display_name, role, disabled from users order by username",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().filter_map(user_row).collect())
    }

    /// A user and its password hash, for log-in.
    pub async fn user_login(&self, name: &str) -> Result<Option<(UserRow, String)>, StoreError> {
        let row = sqlx::query(
            "select username, display_name, role, disabled, password_hash from users where username = $1",
        )
        .bind(name.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|r| Some((user_row(&r)?, r.try_get("password_hash").ok()?))))
    }

    /// Records a session by its token's hash.
    pub async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        csrf: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into sessions (token_hash, username, csrf_token, created_at_ms, expires_at_ms) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash.to_owned())
        .bind(username.to_owned())
        .bind(csrf.to_owned())
        .bind(now.timestamp_millis())
        .bind(expires.timestamp_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The live session with this token hash, if its user is enabled.
    pub async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Holder>, StoreError> {
        let row = sqlx::query(
            "select u.username, u.role, s.csrf_token, s.expires_at_ms from sessions s join users u on u.username = s.username \
             where s.token_hash = $1 and s.expires_at_ms > $2 and u.disabled = 0",
        )
        .bind(token_hash.to_owned())
        .bind(now.timestamp_millis())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|r| {
            let expires = r.try_get::<i64, _>("expires_at_ms").ok()?;
            Some(Holder {
                expires_at: DateTime::from_timestamp_millis(expires),
                ..holder(&r, "username", Some("csrf_token"))?
            })
        }))
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("delete from sessions where token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records an API token by its hash.
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into api_tokens (name, role, token_hash, created_at_ms) values ($1, $2, $3, $4)",
        )
        .bind(name.to_owned())
        .bind(role.as_str())
        .bind(token_hash.to_owned())
        .bind(now.timestamp_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The unrevoked token with this hash.
    pub async fn api_token(&self, token_hash: &str) -> Result<Option<Holder>, StoreError> {
        let row = sqlx::query(
            "select name, role from api_tokens where token_hash = $1 and revoked_at_ms is null",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|r| holder(&r, "name", None)))
    }

    /// Revokes every live token of this name; how many were revoked.
    pub async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "update api_tokens set revoked_at_ms = $1 where name = $2 and revoked_at_ms is null",
        )
        .bind(now.timestamp_millis())
        .bind(name.to_owned())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

fn user_row(r: &sqlx::any::AnyRow) -> Option<UserRow> {
    let disabled: i32 = r.try_get("disabled").ok()?;
    Some(UserRow {
        username: r.try_get("username").ok()?,
        display_name: r.try_get("display_name").ok()?,
        role: r.try_get::<String, _>("role").ok()?.parse().ok()?,
        disabled: disabled != 0,
    })
}

fn holder(r: &sqlx::any::AnyRow, name: &str, csrf: Option<&str>) -> Option<Holder> {
    Some(Holder {
        name: r.try_get(name).ok()?,
        role: r.try_get::<String, _>("role").ok()?.parse().ok()?,
        csrf: match csrf {
            Some(c) => r.try_get(c).ok()?,
            None => String::new(),
        },
        expires_at: None,
    })
}
