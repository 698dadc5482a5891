//! The fleet's figures over HTTP: `/api/v1/fleet` lists every site with its link state
//! (last record received, lag, watermark, whether it is cut off) and its open alarms by
//! priority, from the sites' own book snapshots; `/metrics` for Prometheus.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as Extract;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sqlx::PgPool;

use crate::metrics::Registry;

/// What the handlers share.
#[derive(Debug, Clone)]
pub(super) struct State {
    pub(super) pool: PgPool,
    pub(super) registry: Arc<Registry>,
    pub(super) link_down_after: Duration,
}

/// One site's row in the fleet view.
#[derive(Debug, Serialize)]
struct SiteRow {
    site: String,
    /// When the centre last committed a record of it (ms since the epoch).
    last_received_ms: i64,
    /// The newest record's own time.
    last_record_ms: i64,
    /// Seconds between now and the last record received.
    silent_s: i64,
    /// The highest record id committed (the site purges behind it).
    watermark: i64,
    /// Silent longer than `[fleet] link_down_after`: an alarm at the centre.
    link_down: bool,
    /// Standing alarms not in normal, by priority.
    open_alarms: BTreeMap<String, i64>,
}

pub(super) fn router(state: State) -> Router {
    Router::new()
        .route("/api/v1/fleet", get(fleet))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(Extract(s): Extract<State>) -> String {
    s.registry.render()
}

async fn fleet(Extract(s): Extract<State>) -> Response {
    match rows(&s).await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "fleet view: central database unreadable");
            // The site's stable API error body (`http::ApiError::StoreUnavailable`, with
            // the same Retry-After), written out: the centre does not import `http`.
            let body = serde_json::json!({
                "code": "unavailable",
                "message": "the database is unavailable; try again shortly",
            });
            let retry = [(axum::http::header::RETRY_AFTER, "10")];
            (StatusCode::SERVICE_UNAVAILABLE, retry, Json(body)).into_response()
        }
    }
}

async fn rows(s: &State) -> Result<Vec<SiteRow>, sqlx::Error> {
    let sites: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "select site_id, last_received_ms, last_record_ms, watermark from central_sites order by site_id",
    )
    .fetch_all(&s.pool)
    .await?;
    let alarms: Vec<(String, String, i64)> = sqlx::query_as(
        "select st.site_id, a->>'priority', count(*) from central_state st, \
         jsonb_array_elements(st.body->'alarms') a \
         where st.name = 'alarms' and a->>'state' <> 'normal' group by 1, 2",
    )
    .fetch_all(&s.pool)
    .await?;
    let now = chrono::Utc::now().timestamp_millis();
    let down_ms = s.link_down_after.as_millis() as i64;
    Ok(sites
        .into_iter()
        .map(|(site, received, record, watermark)| SiteRow {
            open_alarms: alarms
                .iter()
                .filter(|(s, ..)| *s == site)
                .map(|(_, p, n)| (p.clone(), *n))
                .collect(),
            site,
            last_received_ms: received,
            last_record_ms: record,
            silent_s: (now - received).max(0) / 1000,
            watermark,
            link_down: now - received > down_ms,
        })
        .collect())
}
