//! The meter register (issue 24): `POST /meters/import` replaces it from a CSV, all or
//! nothing, every bad line named; `GET /meters` lists the meters the daemon reads with
//! their state and counter; `GET /gateways` shows each gateway's sweep. An import takes
//! effect at once: the estate's table is replaced, each gateway reads the new register
//! from its next sweep and the engine adds the new meters' rules at its next tick.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams, Page, Paged};
use super::{Actor, ApiError, AppState, ErrorBody};
use crate::config::GatewayConfig;
use crate::customers::meters::Known;
use crate::customers::{ImportError, import_meters};
use crate::estate::{MeterRow, MeterState};

#[derive(OpenApi)]
#[openapi(paths(import, list, gateways))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/meters/import", post(import))
        .route("/meters", get(list))
        .route("/gateways", get(gateways))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// Who imports, when sign-in is off.
    actor: Option<String>,
}

/// What an import kept.
#[derive(Serialize, ToSchema)]
struct MetersImported {
    /// Meters in the register now.
    meters: usize,
    /// Meters per gateway.
    gateways: std::collections::BTreeMap<String, usize>,
    /// Always false: the register is read by the next sweep of each gateway (kept for
    /// clients of the first version, which had to restart the daemon).
    restart_needed: bool,
    /// Meters of the file left out of the table (their gateway or profile left the
    /// config); empty for a file checked against this config.
    left_out: Vec<String>,
}

/// Body: the register as CSV (`meter,unit,kind,profile,gateway,unit_id[,multiplier]`).
/// Every line is checked first against the config's gateways and profiles and the unit
/// register; one bad line and nothing is written. It replaces the whole register.
#[utoipa::path(post, path = "/meters/import", tag = "estate", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The meter register as CSV"),
    responses(
        (status = 200, description = "The register is replaced and read from each gateway's next sweep", body = MetersImported),
        (status = 422, description = "Lines are invalid (`invalid_rows`, with `problems`); nothing written", body = ErrorBody),
    ))]
async fn import(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    Actor(signed_in): Actor,
    body: axum::body::Bytes,
) -> Result<Json<MetersImported>, ApiError> {
    let actor = signed_in.or(q.actor).unwrap_or_else(|| "import".to_owned());
    let buildings = s.store.unit_buildings().await?;
    let t = s.estate.targets();
    let known = Known {
        gateways: t.gateways.clone(),
        profiles: t.profiles.clone(),
        units: buildings.keys().cloned().collect(),
        devices: t.devices.clone(),
    };
    let meters = import_meters(&s.store, &body, &known, &actor, s.clock.now())
        .await
        .map_err(|e| match e {
            ImportError::Rows(rows) => ApiError::InvalidRows(rows),
            ImportError::Store(e) => ApiError::Store(e),
        })?;
    // Kept first, then read: the table follows the store.
    let left_out = s.estate.load(&meters, &buildings);
    for reason in &left_out {
        tracing::warn!(%reason, "meter of the register left out");
    }
    let mut gateways = std::collections::BTreeMap::new();
    for m in &meters {
        *gateways.entry(m.gateway.clone()).or_default() += 1;
    }
    tracing::info!(meters = meters.len(), "meter register imported and read");
    Ok(Json(MetersImported {
        meters: meters.len(),
        gateways,
        restart_needed: false,
        left_out,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct MeterFilter {
    /// Only this gateway's meters.
    gateway: Option<String>,
    /// Only this unit's meters.
    unit: Option<String>,
    /// `true`: only meters that did not answer their last read.
    silent: Option<bool>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// A meter of the register as the daemon reads it.
#[derive(Serialize, ToSchema)]
struct MeterView {
    id: String,
    unit: Option<String>,
    /// `electricity`, `water` or `gas`.
    kind: String,
    profile: String,
    gateway: String,
    unit_id: u8,
    multiplier: f64,
    /// Did not answer its last read (skipped after its timeout).
    silent: bool,
    /// Answers its reads (false once it missed `comm_loss_after` in a row).
    up: bool,
    misses: u32,
    last_error: Option<String>,
    last_ok: Option<DateTime<Utc>>,
    /// Its counter's latest reading, times the multiplier.
    value: Option<f64>,
    /// The counter's unit (`kWh`, `m3`).
    measure: Option<String>,
}

/// The register's meters, with each one's state and counter.
#[utoipa::path(get, path = "/meters", tag = "estate", params(MeterFilter),
    responses(
        (status = 200, description = "One page of meters, in register order", body = Vec<MeterView>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<MeterFilter>,
) -> Result<Paged<Vec<MeterView>>, ApiError> {
    let page = Page::new(f.limit, f.offset)?;
    let register = s.estate.register();
    let gateways = s.estate.gateways();
    let views = (register.all().into_iter())
        .filter(|(_, m, _)| f.unit.as_deref().is_none_or(|u| *m.unit == *u))
        .filter(|(g, _, _)| f.gateway.as_ref().is_none_or(|id| gateways[*g].id == *id))
        .filter(|(_, _, st)| f.silent.is_none_or(|silent| st.silent() == silent))
        .map(|(g, m, st)| view(&gateways[g], m, st))
        .collect();
    Ok(page.slice(views))
}

fn view(g: &GatewayConfig, m: &MeterRow, st: MeterState) -> MeterView {
    MeterView {
        id: m.id.to_string(),
        unit: Some(m.unit.to_string()),
        kind: m.kind.as_str().to_owned(),
        profile: m.profile.id.clone(),
        gateway: g.id.clone(),
        unit_id: m.unit_id,
        multiplier: m.multiplier,
        silent: st.silent(),
        up: !st.down,
        misses: st.misses,
        last_error: st.last_error.as_deref().map(str::to_owned),
        last_ok: st.read_at,
        value: st.value,
        measure: Some(m.measure().to_owned()),
    }
}

/// A gateway and its last sweep.
#[derive(Serialize, ToSchema)]
struct GatewayView {
    id: String,
    name: String,
    /// `host:port` or the serial port.
    address: String,
    /// `tcp`, `rtu` or `rtu_over_tcp`.
    transport: String,
    /// Seconds between sweeps.
    poll_interval_seconds: f64,
    /// Seconds a meter may take to answer.
    timeout_seconds: f64,
    /// Meters of the register on it.
    meters: u64,
    /// Meters that answered their last read.
    reading: u64,
    /// Meters that did not answer their last read.
    silent: u64,
    /// The last whole sweep's duration, seconds; none before the first.
    sweep_seconds: Option<f64>,
    /// When the last whole sweep ended.
    swept_at: Option<DateTime<Utc>>,
    /// The meters that did not answer their last read (at most 100; `GET
    /// /meters?gateway=…&silent=true` has them all).
    silent_meters: Vec<String>,
}

/// Each gateway with its meters' counts and its last sweep.
#[utoipa::path(get, path = "/gateways", tag = "estate",
    responses(
        (status = 200, description = "Every gateway of the config", body = Vec<GatewayView>),
    ))]
async fn gateways(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<GatewayView>>, ApiError> {
    let figures: HashMap<String, crate::metrics::GatewayFigures> =
        s.metrics.estate().gateways().into_iter().collect();
    let register = s.estate.register();
    let now = s.clock.now();
    let views = (s.estate.gateways().iter().zip(&register.gateways))
        .map(|(g, meters)| {
            let silent_meters = (meters.meters.iter().zip(meters.state().iter()))
                .filter(|(_, st)| st.silent())
                .take(100)
                .map(|(m, _)| m.id.to_string())
                .collect();
            let f = figures.get(&g.id);
            let m = g.modbus(1);
            GatewayView {
                id: g.id.clone(),
                name: g.name.clone(),
                address: m.endpoint(),
                transport: transport(&m),
                poll_interval_seconds: g.poll_interval.as_secs_f64(),
                timeout_seconds: g.timeout.as_secs_f64(),
                meters: f.map_or(0, |f| f.meters),
                reading: f.map_or(0, |f| f.reading),
                silent: f.map_or(0, |f| f.silent),
                sweep_seconds: f.and_then(|f| f.sweep).map(|d| d.as_secs_f64()),
                swept_at: (f.and_then(|f| f.swept_ago))
                    .and_then(|ago| chrono::Duration::from_std(ago).ok())
                    .map(|ago| now - ago),
                silent_meters,
            }
        })
        .collect();
    Ok(Json(views))
}

fn transport(m: &crate::config::ModbusConfig) -> String {
    match m.transport {
        crate::config::Transport::Tcp => "tcp",
        crate::config::Transport::Rtu => "rtu",
        crate::config::Transport::RtuOverTcp => "rtu_over_tcp",
    }
    .to_owned()
}
