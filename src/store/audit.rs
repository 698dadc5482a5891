//! The audit trail: one row per change made through the API or the dashboard and per
//! log-in or log-out. Never updated, never deleted.

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};

/// One audit row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: the user or token name, `anonymous` in open mode.
    pub actor: String,
    /// Method and matched route, or `login`, `login_failed`, `logout`.
    pub action: String,
    /// The record's id from the path (`fire_panel.zone3_alarm:discrete`, `12`), or empty.
    pub target: String,
    /// The answer's HTTP status.
    pub status: u16,
    /// The record before the change, where it was cheap to read (alarms, incidents).
    pub before: Option<serde_json::Value>,
    /// What was asked: the request body.
    pub after: Option<serde_json::Value>,
    /// The client's address.
    pub ip: String,
    /// The request path as sent.
    pub route: String,
}

/// What to look for; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Actions containing this text.
    pub action: Option<String>,
    /// From (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// To (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// At most this many, newest first.
    pub limit: i64,
    /// Skip this many first (paging).
    pub offset: i64,
}

impl Store {
    /// Writes one audit row.
    pub async fn insert_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "insert into audit (at_ms, actor, action, target, status, before_json, after_json, ip, route) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.at.timestamp_millis())
        .bind(e.actor.clone())
        .bind(e.action.clone())
        .bind(e.target.clone())
        .bind(i32::from(e.status))
        .bind(e.before.as_ref().map(ToString::to_string))
        .bind(e.after.as_ref().map(ToString::to_string))
        .bind(e.ip.clone())
        .bind(e.route.clone())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Audit rows matching `f`, newest first.
    pub async fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "select at_ms, actor, action, target, status, before_json, after_json, ip, route from audit \
             where ($1 = '' or actor = $1) and ($2 = '' or action like '%' || $2 || '%') \
             and at_ms >= $3 and at_ms < $4 order by at_ms desc, audit_id desc limit $5 offset $6",
        )
        .bind(f.actor.clone().unwrap_or_default())
        .bind(f.action.clone().unwrap_or_default())
        .bind(f.from.map_or(i64::MIN, |t| t.timestamp_millis()))
        .bind(f.to.map_or(i64::MAX, |t| t.timestamp_millis()))
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().filter_map(entry).collect())
    }
}

fn entry(r: &sqlx::any::AnyRow) -> Option<AuditEntry> {
    let json = |c: &str| {
        r.try_get::<Option<String>, _>(c)
            .ok()
            .flatten()
            .and_then(|s| serde_json::from_str(&s).ok())
    };
    Some(AuditEntry {
        at: Utc
            .timestamp_millis_opt(r.try_get("at_ms").ok()?)
            .single()?,
        actor: r.try_get("actor").ok()?,
        action: r.try_get("action").ok()?,
        target: r.try_get("target").ok()?,
        status: u16::try_from(r.try_get::<i32, _>("status").ok()?).ok()?,
        before: json("before_json"),
        after: json("after_json"),
        ip: r.try_get("ip").ok()?,
        route: r.try_get("route").ok()?,
    })
}
