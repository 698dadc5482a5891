//! `/api/v1`: devices, points, point history (one point, or a batch for sparklines) and
//! the event journal.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::points::{PointState, Quality};

use super::{ApiError, ApiQuery, AppState};
use crate::store::{EventRow, Reading};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/devices", get(devices))
        .route("/points", get(points))
        .route("/points/{id}", get(point))
        .route("/points/{id}/readings", get(readings))
        .route("/readings", get(batch_readings))
        .route("/events", get(events))
}

#[derive(Serialize)]
struct DeviceView {
    id: String,
    name: String,
    profile: String,
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_id: Option<u8>,
    up: bool,
    misses: u32,
    last_error: Option<String>,
    last_ok: Option<DateTime<Utc>>,
}

async fn devices(State(s): State<AppState>) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let states = s.engine.devices().await.ok_or(ApiError::Unavailable)?;
    let views = s
        .devices
        .iter()
        .filter_map(|d| {
            let st = states.iter().find(|st| st.id == d.config.id)?;
            Some(DeviceView {
                id: d.config.id.clone(),
                name: d.config.name.clone(),
                profile: d.profile.id.clone(),
                address: address(d),
                unit_id: d.config.modbus.as_ref().map(|m| m.unit_id),
                up: st.up,
                misses: st.misses,
                last_error: st.last_error.clone(),
                last_ok: st.last_ok,
            })
        })
        .collect();
    Ok(Json(views))
}

/// Where a device is reached: its Modbus address, or `mqtt:` and its topic.
fn address(d: &crate::config::Device) -> String {
    match (&d.config.modbus, d.mqtt_topic()) {
        (Some(m), _) => m.endpoint(),
        (None, Some(topic)) => format!("mqtt:{topic}"),
        (None, None) => String::new(),
    }
}

#[derive(Serialize)]
struct PointsView {
    now: DateTime<Utc>,
    points: Vec<PointView>,
}

#[derive(Serialize)]
struct PointView {
    #[serde(flatten)]
    state: PointState,
    name: String,
    description: String,
    states: std::collections::BTreeMap<String, String>,
    age_seconds: Option<f64>,
}

#[derive(Deserialize)]
struct PointFilter {
    device: Option<String>,
    quality: Option<Quality>,
}

async fn points(
    State(s): State<AppState>,
    Query(f): Query<PointFilter>,
) -> Result<Json<PointsView>, ApiError> {
    let now = s.clock.now();
    let all = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    let points = all
        .into_iter()
        .filter(|p| f.device.as_ref().is_none_or(|d| &p.device == d))
        .filter(|p| f.quality.is_none_or(|q| p.quality == q))
        .map(|p| view(&s, p, now))
        .collect();
    Ok(Json(PointsView { now, points }))
}

async fn point(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PointView>, ApiError> {
    let all = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    let p = all
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("point `{id}`")))?;
    Ok(Json(view(&s, p, s.clock.now())))
}

fn view(s: &AppState, state: PointState, now: DateTime<Utc>) -> PointView {
    let name = state.id.split_once('.').map_or("", |x| x.1).to_owned();
    let def = s
        .devices
        .iter()
        .find(|d| d.config.id == state.device)
        .and_then(|d| d.profile.describe(&name));
    PointView {
        age_seconds: state
            .updated_at
            .map(|t| (now - t).num_milliseconds() as f64 / 1000.0),
        description: def.map(|d| d.0.to_owned()).unwrap_or_default(),
        states: def.map(|d| d.1.clone()).unwrap_or_default(),
        name,
        state,
    }
}

#[derive(Deserialize)]
struct HistoryQuery {
    since: Option<DateTime<Utc>>,
    limit: Option<i64>,
}

async fn readings(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<Reading>>, ApiError> {
    let known = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    if !known.iter().any(|p| p.id == id) {
        return Err(ApiError::NotFound(format!("point `{id}`")));
    }
    let limit = limit(q.limit)?;
    let since = q
        .since
        .unwrap_or_else(|| s.clock.now() - Duration::hours(1));
    Ok(Json(s.store.readings(&id, since, limit).await?))
}

/// Most points one batch may ask for: a plant tab's worth, not the whole register.
const BATCH_POINTS: usize = 500;
/// Readings per point in a batch unless `limit` says otherwise: plenty for a sparkline.
const BATCH_LIMIT: i64 = 360;

#[derive(Deserialize)]
struct BatchQuery {
    /// Comma-separated point ids.
    points: Option<String>,
    since: Option<DateTime<Utc>>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct Sample {
    at: DateTime<Utc>,
    value: f64,
}

#[derive(Serialize)]
struct BatchView {
    /// The server's time, so a page trims its window on the daemon's clock, not its own.
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    /// Each asked point's newest readings since `since`, oldest first.
    points: std::collections::BTreeMap<String, Vec<Sample>>,
}

/// `GET /api/v1/readings?points=a,b&since=&limit=`: the recent history of many points in
/// one request (the plant tab's sparklines), at most `limit` readings each.
async fn batch_readings(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<BatchQuery>,
) -> Result<Json<BatchView>, ApiError> {
    let ids = batch_points(q.points.as_deref().unwrap_or(""))?;
    let known = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| !known.iter().any(|p| &p.id == *id))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(
            "points",
            format!("unknown points: {}", unknown.join(", ")),
        ));
    }
    let limit = match q.limit {
        None => BATCH_LIMIT,
        asked => limit(asked)?,
    };
    let now = s.clock.now();
    let since = q.since.unwrap_or_else(|| now - Duration::hours(1));
    let mut points = std::collections::BTreeMap::new();
    for id in ids {
        let rows = s.store.recent_readings(&id, since, limit).await?;
        let samples = rows
            .into_iter()
            .map(|r| Sample {
                at: r.at,
                value: r.value,
            })
            .collect();
        points.insert(id, samples);
    }
    Ok(Json(BatchView { now, since, points }))
}

/// The distinct ids of a `points=` list: 1 to [`BATCH_POINTS`] of them.
fn batch_points(list: &str) -> Result<Vec<String>, ApiError> {
    let ids: std::collections::BTreeSet<String> = list
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() || ids.len() > BATCH_POINTS {
        return Err(ApiError::invalid(
            "points",
            format!("give 1 to {BATCH_POINTS} point ids, comma-separated"),
        ));
    }
    Ok(ids.into_iter().collect())
}

#[derive(Deserialize)]
struct EventQuery {
    after: Option<i64>,
    kind: Option<String>,
    limit: Option<i64>,
}

async fn events(
    State(s): State<AppState>,
    Query(q): Query<EventQuery>,
) -> Result<Json<Vec<EventRow>>, ApiError> {
    let limit = limit(q.limit)?;
    Ok(Json(
        s.store
            .events(q.after.unwrap_or(0), q.kind.as_deref(), limit)
            .await?,
    ))
}

fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    match asked.unwrap_or(1000) {
        n @ 1..=10_000 => Ok(n),
        n => Err(ApiError::Invalid {
            field: "limit",
            message: format!("limit {n} is outside 1..=10000"),
        }),
    }
}
