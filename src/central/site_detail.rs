//! One site at the centre, for the fleet page's site panel (issue 23): its open alarms
//! (from the site's latest `alarms` book snapshot), its open incidents (their latest
//! snapshots) and the commands the centre sent it (`central_commands`), newest first.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::http::ErrorBody;

/// Commands listed for a site.
const RECENT: i64 = 50;

pub(super) fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/api/v1/sites/{site}/open", get(open))
        .route("/api/v1/sites/{site}/commands", get(commands))
        .with_state(pool)
}

/// What is open at a site, as its snapshots at the centre say.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Open {
    /// Alarms not back to normal, as the site's alarm book has them.
    #[schema(value_type = Vec<Object>)]
    alarms: Vec<Value>,
    /// Incidents not closed or cancelled, as the site's incident snapshots have them.
    #[schema(value_type = Vec<Object>)]
    incidents: Vec<Value>,
}

/// A command the centre sent to the site.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub(super) struct CommandRow {
    command_id: String,
    operator: String,
    /// `{type: acknowledge, alarm, comment}` or `{type: dispatch, incident, to, note}`.
    #[schema(value_type = Object)]
    action: Value,
    /// `sending`, `applied`, `refused`, `unavailable`, `not_delivered`, `bad_reply`.
    outcome: String,
    /// The site's code, or why it was not delivered.
    code: Option<String>,
    /// Last sent, ms since the epoch.
    sent_ms: i64,
    /// Answered, ms since the epoch.
    answered_ms: Option<i64>,
    /// Times sent.
    tries: i32,
}

/// A site's open alarms and incidents, from its latest snapshots at the centre.
#[utoipa::path(get, path = "/api/v1/sites/{site}/open", tag = "fleet",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "Open alarms and incidents (empty when the site sent none)", body = Open),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The central database is unavailable", body = ErrorBody),
    ))]
pub(super) async fn open(State(pool): State<PgPool>, Path(site): Path<String>) -> Response {
    let alarms = sqlx::query_scalar(
        "select a from central_state st, jsonb_array_elements(st.body->'alarms') a \
         where st.site_id = $1 and st.name = 'alarms' and a->>'state' <> 'normal' \
         order by a->>'raised_at' desc",
    )
    .bind(&site)
    .fetch_all(&pool);
    let incidents = sqlx::query_scalar(
        "select body - 'timeline' from central_state where site_id = $1 \
         and name like 'incident:%' and body->>'state' not in ('closed', 'cancelled') \
         order by (body->>'id')::bigint desc",
    )
    .bind(&site)
    .fetch_all(&pool);
    match tokio::try_join!(alarms, incidents) {
        Ok((alarms, incidents)) => Json(Open { alarms, incidents }).into_response(),
        Err(e) => unavailable(&e),
    }
}

/// The last 50 commands the centre sent to a site, newest first.
#[utoipa::path(get, path = "/api/v1/sites/{site}/commands", tag = "commands",
    params(("site" = String, Path, description = "Site id")),
    responses(
        (status = 200, description = "Newest first", body = Vec<CommandRow>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The central database is unavailable", body = ErrorBody),
    ))]
pub(super) async fn commands(State(pool): State<PgPool>, Path(site): Path<String>) -> Response {
    let rows = sqlx::query_as::<_, CommandRow>(
        "select command_id, operator, action, outcome, code, sent_ms, answered_ms, tries \
         from central_commands where site_id = $1 order by sent_ms desc limit $2",
    )
    .bind(&site)
    .bind(RECENT)
    .fetch_all(&pool)
    .await;
    match rows {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => unavailable(&e),
    }
}

fn unavailable(e: &sqlx::Error) -> Response {
    tracing::warn!(error = %e, "a site's detail not read");
    let body = serde_json::json!({"code": "unavailable",
        "message": "the central database is unavailable"});
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
