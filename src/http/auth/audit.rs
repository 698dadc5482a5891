//! The audit trail as the layer writes it (who, when, method and matched route, target,
//! status, the record before where cheap, the request body after: JSON as sent, any other
//! body (a photo, a CSV) as its size, declared type and SHA-256), and read back:
//! `GET /api/v1/audit?actor=&from=&to=&action=&limit=` and the `/audit` page (admin only).

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Html;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use utoipa::{IntoParams, OpenApi};

use super::AppState;
use crate::http::page::{ApiQuery, Page, Paged, Window};
use crate::http::{ApiError, ErrorBody};
use crate::store::{AuditEntry, AuditFilter};

/// The audit read, for the OpenAPI document (the path is under `/api/v1`).
#[derive(OpenApi)]
#[openapi(paths(list))]
pub(crate) struct Doc;

/// An audit row waiting for the answer's status.
#[derive(Debug)]
pub(crate) struct Pending {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: String,
    pub route: String,
}

/// Writes the row; a failure is logged, never shown (the change itself stands).
pub(crate) async fn write(s: &AppState, p: Pending, status: StatusCode) {
    let entry = AuditEntry {
        at: s.clock.now(),
        actor: p.actor,
        action: p.action,
        target: p.target,
        status: status.as_u16(),
        before: p.before,
        after: p.after,
        ip: p.ip,
        route: p.route,
    };
    if let Err(e) = s.store.insert_audit(&entry).await {
        tracing::error!(error = %e, action = %entry.action, "audit row not written");
    }
}

/// Largest body the layer reads for the audit outside the upload route.
const BODY_LIMIT: usize = 4 << 20;

/// A change's body, read whole for the audit (and handed on): up to the attachment limit
/// on the upload route, 4 MiB elsewhere.
pub(crate) async fn read_body(route: &str, body: Body) -> Result<Bytes, ApiError> {
    let limit = if route == crate::http::files::UPLOAD_ROUTE {
        crate::http::files::max_bytes()
    } else {
        BODY_LIMIT
    };
    // Past the limit, or the client went away mid-body (then nobody reads the answer).
    to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::TooLarge { limit })
}

/// What the audit keeps of a body not declared JSON (a file, a CSV, an untyped body):
/// its size, declared type and SHA-256, never the bytes. `None` for JSON bodies, kept as
/// sent (the handlers refuse a JSON body sent without its type), and for empty ones.
pub(crate) fn upload(headers: &HeaderMap, bytes: &Bytes) -> Option<Value> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if bytes.is_empty() || essence == "application/json" || essence.ends_with("+json") {
        return None;
    }
    let sha256: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(json!({"upload": {
        "size_bytes": bytes.len(),
        "content_type": essence,
        "sha256": sha256,
    }}))
}

/// The record as it stood before the change: alarms and incidents, read from the engine.
/// Other records' `before` is left empty (their own history tables keep it).
pub(crate) async fn before(s: &AppState, route: &str, target: &str) -> Option<Value> {
    if route.starts_with("/api/v1/alarms/{id}") {
        let alarm = s.engine.alarm_by_id(target).await??;
        return serde_json::to_value(alarm).ok();
    }
    if route.starts_with("/api/v1/incidents/{id}") {
        let id = target.parse().ok()?;
        let incident = s.engine.incident(id).await??;
        return serde_json::to_value(incident).ok();
    }
    None
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit", get(list))
        .route("/audit", get(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Exactly this actor.
    actor: Option<String>,
    /// Actions containing this text.
    action: Option<String>,
    /// From (inclusive).
    from: Option<DateTime<Utc>>,
    /// To (exclusive).
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

impl AuditQuery {
    fn filter(self) -> Result<(AuditFilter, Page), ApiError> {
        let page = Page::new(self.limit, self.offset)?;
        Window::new(self.from, self.to)?;
        let blank = |s: Option<String>| s.filter(|x| !x.trim().is_empty());
        let filter = AuditFilter {
            actor: blank(self.actor),
            action: blank(self.action),
            from: self.from,
            to: self.to,
            limit: page.fetch(),
            offset: page.offset,
        };
        Ok((filter, page))
    }
}

/// The audit trail, newest first (admin only).
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, description = "One page of audit rows", body = Vec<AuditEntry>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Paged<Vec<AuditEntry>>, ApiError> {
    let (filter, page) = q.filter()?;
    Ok(page.of_fetched(s.store.audit(&filter).await?))
}

async fn page(
    State(s): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, ApiError> {
    let (actor, action) = (q.actor.clone(), q.action.clone());
    let (filter, page) = q.filter()?;
    let rows = page.of_fetched(s.store.audit(&filter).await?).body;
    let tz = s.site.tz();
    let body: String = rows
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                e.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
                esc(&e.actor),
                esc(&e.action),
                esc(&e.target),
                e.status,
                esc(&e.after.as_ref().map(ToString::to_string).unwrap_or_default()),
            )
        })
        .collect();
    Ok(Html(format!(
        include_str!("../assets/audit.html"),
        actor = esc(&actor.unwrap_or_default()),
        action = esc(&action.unwrap_or_default()),
        rows = body
    )))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
