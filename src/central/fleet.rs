//! The fleet's figures over HTTP: `/api/v1/fleet` lists every site with its link state,
//! open alarms by priority, incidents with breached clocks, overdue requests, patrol on
//! time and the month's KPIs (`figures`); `/api/v1/fleet/alarms` lists the sites cut off
//! and since when; `/metrics` for Prometheus, with `sitewatch_fleet_link_down{site}`
//! set at each scrape; `/api/v1/openapi.json` documents the API.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::extract::State as Extract;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use prometheus::IntGaugeVec;
use sitewatch_core::clock::Clock;
use sitewatch_core::incidents::Kpi;
use sqlx::PgPool;
use utoipa::OpenApi;

use super::config::SiteEntry;
use super::figures::{self, Link, LinkAlarm, Share, SiteRow};
use crate::http::ErrorBody;
use crate::http::openapi::Security;
use crate::metrics::Registry;

/// What the handlers share.
#[derive(Debug, Clone)]
pub(super) struct State {
    pub(super) pool: PgPool,
    pub(super) registry: Arc<Registry>,
    pub(super) link_down_after: Duration,
    /// `[[sites]]`.
    pub(super) sites: Arc<Vec<SiteEntry>>,
    /// When the centre started: a named site never heard from is silent since then.
    pub(super) started: DateTime<Utc>,
    pub(super) clock: Arc<dyn Clock>,
    /// `sitewatch_fleet_link_down{site}`.
    pub(super) link_down: IntGaugeVec,
}

impl State {
    /// Every site's row now.
    async fn rows(&self) -> Result<Vec<SiteRow>, sqlx::Error> {
        let now = self.clock.now();
        figures::rows(
            &self.pool,
            &self.sites,
            self.started,
            now,
            self.link_down_after,
        )
        .await
    }
}

/// The link-down gauge, registered in `r`.
pub(super) fn link_down_gauge(r: &Registry) -> IntGaugeVec {
    r.int_gauge(
        "sitewatch_fleet_link_down",
        "1 while a site has been silent longer than [fleet] link_down_after (an alarm at the \
         centre), else 0; set at each scrape.",
        &["site"],
    )
}

pub(super) fn router(state: State) -> Router {
    Router::new()
        .route("/api/v1/fleet", get(fleet))
        .route("/api/v1/fleet/alarms", get(fleet_alarms))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Renders the registry after setting each site's link gauge (a database fault leaves
/// the gauges as they were: the scrape still answers).
async fn metrics(Extract(s): Extract<State>) -> String {
    match s.rows().await {
        Ok(rows) => {
            for r in &rows {
                s.link_down
                    .with_label_values(&[r.site.as_str()])
                    .set(i64::from(r.link.down));
            }
        }
        Err(e) => tracing::warn!(error = %e, "fleet metrics: central database unreadable"),
    }
    s.registry.render()
}

/// Every site with its link state and figures, by site id.
#[utoipa::path(get, path = "/api/v1/fleet", tag = "fleet",
    responses(
        (status = 200, description = "One row per site", body = Vec<SiteRow>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The central database cannot be read", body = ErrorBody),
    ))]
async fn fleet(Extract(s): Extract<State>) -> Response {
    match s.rows().await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => unreadable(&e),
    }
}

/// The sites cut off (silent longer than `[fleet] link_down_after`) and since when.
#[utoipa::path(get, path = "/api/v1/fleet/alarms", tag = "fleet",
    responses(
        (status = 200, description = "The centre's standing alarms", body = Vec<LinkAlarm>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 503, description = "The central database cannot be read", body = ErrorBody),
    ))]
async fn fleet_alarms(Extract(s): Extract<State>) -> Response {
    match s.rows().await {
        Ok(rows) => Json(figures::alarms(&rows)).into_response(),
        Err(e) => unreadable(&e),
    }
}

fn unreadable(e: &sqlx::Error) -> Response {
    tracing::warn!(error = %e, "fleet view: central database unreadable");
    crate::http::ApiError::StoreUnavailable.into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sitewatch central",
        description = "The central office's fleet view: every site's link state and figures \
            from the records the sites forward. Sign in at `/login` (session cookie) or send \
            a bearer token from `sitewatch central token`. Refusals carry `ErrorBody`."
    ),
    paths(fleet, fleet_alarms, openapi_json, super::commands::ack, super::commands::dispatch,
        super::site_detail::open, super::site_detail::commands),
    components(schemas(SiteRow, Link, Share, LinkAlarm, Kpi, ErrorBody,
        super::site_detail::Open, super::site_detail::CommandRow)),
    security(("bearer" = []), ("session" = [])),
    modifiers(&Security)
)]
struct Doc;

static JSON: LazyLock<String> =
    LazyLock::new(|| Doc::openapi().to_json().unwrap_or_else(|_| "{}".to_owned()));

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], JSON.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_every_fleet_route_and_the_error_body() {
        let doc: serde_json::Value = serde_json::from_str(&JSON).expect("json");
        for path in [
            "/api/v1/fleet",
            "/api/v1/fleet/alarms",
            "/api/v1/openapi.json",
        ] {
            assert!(doc["paths"][path]["get"].is_object(), "{path}");
        }
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        assert!(doc["components"]["schemas"]["SiteRow"].is_object());
        for path in [
            "/api/v1/sites/{site}/alarms/{id}/ack",
            "/api/v1/sites/{site}/incidents/{id}/dispatch",
        ] {
            assert!(doc["paths"][path]["post"].is_object(), "{path}");
        }
    }
}
