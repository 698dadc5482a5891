//! The meter register (issue 24): `POST /meters/import` replaces it from a CSV, all or
//! nothing, every bad line named; `GET /meters` lists the meters the daemon reads with
//! their state and counter; `GET /gateways` shows each gateway's sweep. The daemon reads
//! the register at start, so an import takes effect at the next start.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::points::{DeviceState, PointState};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams, Page, Paged};
use super::{Actor, ApiError, AppState, ErrorBody};
use crate::config::{Device, GatewayConfig, RegisterTargets};
use crate::customers::meters::Known;
use crate::customers::{ImportError, import_meters};

#[derive(OpenApi)]
#[openapi(paths(import, list, gateways))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/meters/import", post(import))
        .route("/meters", get(list))
        .route("/gateways", get(gateways))
}

/// The estate as the daemon reads it: its gateways and the register's meters (as
/// devices), and what a new register is checked against.
#[derive(Debug, Default)]
pub struct Estate {
    /// `[[gateways]]`.
    pub gateways: Vec<GatewayConfig>,
    /// The register's meters read since start.
    meters: Vec<Device>,
    /// Index into `meters` by id.
    by_id: HashMap<String, usize>,
    /// Gateway ids, profiles and plant device ids a register is checked against.
    pub targets: RegisterTargets,
}

impl Estate {
    /// The estate of `devices` (the meters among them) and `gateways`.
    pub fn new(
        devices: &[Device],
        gateways: Vec<GatewayConfig>,
        targets: RegisterTargets,
    ) -> Estate {
        let meters: Vec<Device> = (devices.iter())
            .filter(|d| d.config.meter.is_some())
            .cloned()
            .collect();
        let by_id = (meters.iter().enumerate())
            .map(|(i, d)| (d.config.id.clone(), i))
            .collect();
        Estate {
            gateways,
            meters,
            by_id,
            targets,
        }
    }

    /// The meter of device id `id`, if it is one.
    pub fn meter(&self, id: &str) -> Option<&Device> {
        self.by_id.get(id).map(|&i| &self.meters[i])
    }
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
    /// Always true: the daemon reads the register at start.
    restart_needed: bool,
}

/// Body: the register as CSV (`meter,unit,kind,profile,gateway,unit_id[,multiplier]`).
/// Every line is checked first against the config's gateways and profiles and the unit
/// register; one bad line and nothing is written. It replaces the whole register.
#[utoipa::path(post, path = "/meters/import", tag = "estate", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The meter register as CSV"),
    responses(
        (status = 200, description = "The register is replaced; read at the next start", body = MetersImported),
        (status = 422, description = "Lines are invalid (`invalid_rows`, with `problems`); nothing written", body = ErrorBody),
    ))]
async fn import(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    Actor(signed_in): Actor,
    body: axum::body::Bytes,
) -> Result<Json<MetersImported>, ApiError> {
    let actor = signed_in.or(q.actor).unwrap_or_else(|| "import".to_owned());
    let t = &s.estate.targets;
    let known = Known {
        gateways: t.gateways.clone(),
        profiles: t.profiles.clone(),
        units: s.store.unit_buildings().await?.into_keys().collect(),
        devices: t.devices.clone(),
    };
    let meters = import_meters(&s.store, &body, &known, &actor, s.clock.now())
        .await
        .map_err(|e| match e {
            ImportError::Rows(rows) => ApiError::InvalidRows(rows),
            ImportError::Store(e) => ApiError::Store(e),
        })?;
    let mut gateways = std::collections::BTreeMap::new();
    for m in &meters {
        *gateways.entry(m.gateway.clone()).or_default() += 1;
    }
    Ok(Json(MetersImported {
        meters: meters.len(),
        gateways,
        restart_needed: true,
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
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<MeterFilter>,
) -> Result<Paged<Vec<MeterView>>, ApiError> {
    let page = Page::new(f.limit, f.offset)?;
    let states = device_states(&s).await?;
    let points = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    let values: HashMap<&str, &PointState> = points.iter().map(|p| (&*p.id, p)).collect();
    let views = (s.estate.meters.iter())
        .filter(|d| f.unit.is_none() || d.config.unit == f.unit)
        .filter_map(|d| view(d, states.get(d.config.id.as_str())?, &values))
        .filter(|v| f.gateway.as_ref().is_none_or(|g| *g == v.gateway))
        .filter(|v| f.silent.is_none_or(|silent| v.silent == silent))
        .collect();
    Ok(page.slice(views))
}

async fn device_states(s: &AppState) -> Result<HashMap<String, DeviceState>, ApiError> {
    let all = s.engine.devices().await.ok_or(ApiError::Unavailable)?;
    Ok(all.into_iter().map(|d| (d.id.clone(), d)).collect())
}

fn view(d: &Device, st: &DeviceState, values: &HashMap<&str, &PointState>) -> Option<MeterView> {
    let link = d.config.meter.as_ref()?;
    let modbus = d.config.modbus.as_ref()?;
    let counter = link.counter.and_then(|i| d.profile.points.get(i));
    let point = counter.and_then(|p| values.get(d.point_id(&p.name).as_str()));
    Some(MeterView {
        id: d.config.id.clone(),
        unit: d.config.unit.clone(),
        kind: link.kind.clone(),
        profile: d.profile.id.clone(),
        gateway: link.gateway.clone(),
        unit_id: modbus.unit_id,
        multiplier: link.multiplier,
        silent: st.misses > 0,
        up: st.up,
        misses: st.misses,
        last_error: st.last_error.clone(),
        last_ok: st.last_ok,
        value: point.and_then(|p| p.value),
        measure: counter.map(|p| p.unit.clone()),
    })
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
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn gateways(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<GatewayView>>, ApiError> {
    let states = device_states(&s).await?;
    let figures: HashMap<String, crate::metrics::GatewayFigures> =
        s.metrics.estate().gateways().into_iter().collect();
    let mut silent: HashMap<&str, Vec<String>> = HashMap::new();
    for d in &s.estate.meters {
        let (Some(link), Some(st)) = (&d.config.meter, states.get(&d.config.id)) else {
            continue;
        };
        let list = silent.entry(link.gateway.as_str()).or_default();
        if st.misses > 0 && list.len() < 100 {
            list.push(d.config.id.clone());
        }
    }
    let now = s.clock.now();
    let views = (s.estate.gateways.iter())
        .map(|g| {
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
                silent_meters: silent.remove(g.id.as_str()).unwrap_or_default(),
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
