//! The HTTP side: JSON API under `/api/v1`, the desks' pages (`desks`) at `/` and `/service`, `/metrics`, `/healthz`
//! and `/readyz`, behind one auth layer (`auth`: sessions, tokens, roles, audit). `router(state)` is kept apart from serving so tests can call it directly.

mod alarm_chart;
mod alarms;
mod api;
pub mod auth;
mod compliance;
pub(crate) mod desks;
mod duty;
mod error;
mod fallback;
mod files;
mod fire_tests;
mod followups;
mod incidents;
mod inspections;
mod keys;
mod kpis;
mod links;
mod live;
mod maintenance;
mod meters;
mod metrics;
mod notices;
mod oncall;
pub mod openapi;
pub(crate) mod page;
mod patrol;
mod personal;
mod plans;
mod requests;
mod sms_reply;
mod snapshots;
mod staff;
mod units;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::get;
use sitewatch_core::clock::Clock;
use tokio_util::sync::CancellationToken;

use crate::config::{Device, SiteConfig};
use crate::engine::{EngineHandle, LiveHub};
use crate::store::Store;
use crate::store::writer::WriteStatus;
pub use auth::{Actor, AuthState, Principal};
pub use error::{ApiError, ApiJson, ApiPath, require_actor, require_client_id};
pub use metrics::HttpMetrics;
pub(crate) use page::ApiQuery;
pub(crate) use personal::Personal;
/// The error body as the OpenAPI document names it.
pub(crate) type ErrorBody = error::Body<'static>;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Asks the engine.
    pub engine: EngineHandle,
    /// The database.
    pub store: Store,
    /// The store writer's health and backlog.
    pub writes: WriteStatus,
    /// The metrics registry and the figures the handlers move.
    pub metrics: HttpMetrics,
    /// `[site]`.
    pub site: Arc<SiteConfig>,
    /// The plant's configured devices (`[[devices]]`; the register's meters are in
    /// `estate`).
    pub devices: Arc<Vec<Device>>,
    /// The patrol's checkpoints (`[[patrol.checkpoints]]`), which site plans place.
    pub checkpoints: Arc<Vec<sitewatch_core::patrol::Checkpoint>>,
    /// The estate's gateways and register meters (issue 24).
    pub estate: Arc<crate::estate::Estate>,
    /// Live events for SSE.
    pub live: Arc<LiveHub>,
    /// The engine's clock, so records made here share its time.
    pub clock: Arc<dyn Clock>,
    /// Fires at shutdown, so long-lived streams end and shutdown is not held up.
    pub shutdown: CancellationToken,
    /// Sign-in state: whether users exist, recent log-in failures.
    pub auth: Arc<AuthState>,
    /// `[kpis]`: targets of the service KPIs.
    pub kpis: sitewatch_core::incidents::KpiTargets,
    /// `[billing]`: the meter cut-off and the export deadline.
    pub billing: crate::config::BillingConfig,
    /// Notice sending: the `[notify]` policy and the sender's doorbell.
    pub notify: crate::notify::Planner,
    /// Paging (`[paging]`): the rota and the links; `None` pages nobody.
    pub paging: Option<Arc<crate::paging::Paging>>,
    /// The long-running tasks that ended before the stop.
    pub tasks: crate::health::TaskHealth,
}

/// Every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(desks::duty))
        .route("/guard", get(desks::guard))
        .route("/incidents/{id}", get(desks::incident))
        .route("/service", get(desks::service))
        .route("/service/requests/{id}", get(desks::service))
        .route("/service/notices/new", get(desks::service))
        .route("/service/notices/{id}", get(desks::service))
        .route("/service/units", get(desks::service))
        .route("/plan", get(desks::plan))
        .route("/assets/{name}", get(desks::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .nest(
            "/api/v1",
            api::router()
                .merge(alarms::router())
                .merge(incidents::router())
                .merge(patrol::router())
                .merge(live::router())
                .merge(snapshots::router())
                .merge(files::router())
                .merge(units::router())
                .merge(meters::router())
                .merge(requests::router())
                .merge(followups::router())
                .merge(inspections::router())
                .merge(notices::router())
                .merge(duty::router())
                .merge(fire_tests::router())
                .merge(compliance::router())
                .merge(keys::router())
                .merge(maintenance::router())
                .merge(kpis::router())
                .merge(links::router())
                .merge(oncall::router())
                .merge(sms_reply::router())
                .merge(staff::router())
                .merge(plans::router())
                .merge(openapi::router())
                .fallback(fallback::no_route)
                // After every route above and before the layers, so they wrap it.
                .method_not_allowed_fallback(fallback::wrong_method)
                // Points a paged answer's `Link` header at its next page.
                .layer(axum::middleware::from_fn(page::link_next))
                .layer(axum::middleware::from_fn(fallback::error_bodies)),
        )
        .merge(oncall::phone_router())
        .merge(auth::login_router())
        .merge(auth::audit_router())
        // The routes outside the nest (`/api/v1/audit`, pages); those inside have theirs.
        .method_not_allowed_fallback(fallback::wrong_method)
        // After routing, so the layer sees the matched route; one table decides access.
        .route_layer(from_fn_with_state(state.clone(), auth::layer))
        // Outermost, so every error answer is counted, whoever gave it.
        .layer(from_fn_with_state(state.clone(), metrics::count_errors))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Longest `/readyz` waits for the database or the engine: a probe must answer, and a
/// database that takes this long to say `select 1` is not ready either.
const READY_WAIT: Duration = Duration::from_secs(2);

/// Ready when the database answers, the engine is running, the write path works (the
/// last write succeeded, nothing gave way in the last minute and no rows have waited too
/// long: `writes` in the body says which) and no long-running task has ended (`ended`
/// names them). Never waits past [`READY_WAIT`].
async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let ping = tokio::time::timeout(READY_WAIT, s.store.ping());
    let engine = tokio::time::timeout(READY_WAIT, s.engine.alive());
    let (db, engine) = tokio::join!(ping, engine);
    let db = db.unwrap_or(false);
    let engine = engine.unwrap_or(false);
    let writes = s.writes.report();
    let ended = s.tasks.list();
    let status = if db && engine && writes.ok && ended.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "database": db,
        "engine": engine,
        "writes": writes,
        "ended": ended,
    });
    (status, axum::Json(body))
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        {
            s.writes.show();
            s.metrics.render()
        },
    )
}
