//! `/api/v1`: devices, points, point history (one point, or a batch for sparklines) and
//! the event journal.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::points::{PointState, Quality};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, AppState, ErrorBody};
use crate::store::{EventRow, Reading};

#[derive(OpenApi)]
#[openapi(paths(devices, points, point, readings, chart, batch_readings, events))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/devices", get(devices))
        .route("/points", get(points))
        .route("/points/{id}", get(point))
        .route("/points/{id}/readings", get(readings))
        .route("/points/{id}/chart", get(chart))
        .route("/readings", get(batch_readings))
        .route("/events", get(events))
}

/// A configured device and whether it answers.
#[derive(Serialize, ToSchema)]
struct DeviceView {
    id: String,
    name: String,
    profile: String,
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_id: Option<u8>,
    /// The unit it serves, and that unit's building (units register): the console's
    /// filter and suppression scopes.
    unit: Option<String>,
    building: Option<String>,
    up: bool,
    misses: u32,
    last_error: Option<String>,
    last_ok: Option<DateTime<Utc>>,
}

/// Paging only.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    pub limit: Option<i64>,
    /// Items to skip (default 0); the answer's `X-Next-Offset` gives the next page's.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

/// The configured devices, with their communication state.
#[utoipa::path(get, path = "/devices", tag = "plant", params(PageQuery),
    responses(
        (status = 200, description = "One page of devices", body = Vec<DeviceView>),
        (status = 422, description = "Bad `limit` or `offset`", body = ErrorBody),
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn devices(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Paged<Vec<DeviceView>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let states = s.engine.devices().await.ok_or(ApiError::Unavailable)?;
    let buildings = super::alarms::device_buildings(&s).await?;
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
                unit: d.config.unit.clone(),
                building: buildings.get(&d.config.id).cloned(),
                up: st.up,
                misses: st.misses,
                last_error: st.last_error.clone(),
                last_ok: st.last_ok,
            })
        })
        .collect();
    Ok(page.slice(views))
}

/// Where a device is reached: its Modbus address, or `mqtt:` and its topic.
fn address(d: &crate::config::Device) -> String {
    match (&d.config.modbus, d.mqtt_topic()) {
        (Some(m), _) => m.endpoint(),
        (None, Some(topic)) => format!("mqtt:{topic}"),
        (None, None) => String::new(),
    }
}

/// The points as of `now`.
#[derive(Serialize, ToSchema)]
struct PointsView {
    now: DateTime<Utc>,
    /// One page of points.
    points: Vec<PointView>,
}

/// A point's state with its description.
#[derive(Serialize, ToSchema)]
struct PointView {
    #[serde(flatten)]
    state: PointState,
    name: String,
    description: String,
    states: std::collections::BTreeMap<String, String>,
    /// The name and state words in zh-CN, where the profile gives them.
    zh: crate::config::profile::Localized,
    age_seconds: Option<f64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PointFilter {
    /// Only this device's points.
    device: Option<String>,
    /// Only points of this quality (the point's state).
    quality: Option<Quality>,
    /// Only points last read at or after this time.
    from: Option<DateTime<Utc>>,
    /// Only points last read before this time.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// The points, filtered; paged inside `points`.
#[utoipa::path(get, path = "/points", tag = "plant", params(PointFilter),
    responses(
        (status = 200, description = "One page of points", body = PointsView),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn points(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<PointFilter>,
) -> Result<Paged<PointsView>, ApiError> {
    let page = Page::new(f.limit, f.offset)?;
    let window = Window::new(f.from, f.to)?;
    let now = s.clock.now();
    let mut all = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    // The register's meters are in the estate's table, not the hub: listed only when
    // asked for by device (their detail is `/meters`; ten thousand of them would bury the
    // plant's points).
    all.extend(f.device.as_deref().and_then(|d| meter_point(&s, d)));
    let points = all
        .into_iter()
        .filter(|p| f.device.as_ref().is_none_or(|d| *p.device == **d))
        .filter(|p| f.quality.is_none_or(|q| p.quality == q))
        .filter(|p| window.contains(p.updated_at))
        .map(|p| view(&s, p, now))
        .collect();
    Ok(page.slice(points).map(|points| PointsView { now, points }))
}

/// A register meter's counter as a point, from the estate's table.
fn meter_point(s: &AppState, device: &str) -> Option<PointState> {
    let register = s.estate.register();
    let (m, st) = register.meter(device)?;
    Some(PointState::outside(
        m.point().into(),
        m.id.clone(),
        m.measure().into(),
        st.value,
        st.quality(),
        st.read_at,
    ))
}

/// One point.
#[utoipa::path(get, path = "/points/{id}", tag = "plant",
    params(("id" = String, Path, description = "Point id, `{device}.{point}`")),
    responses(
        (status = 200, description = "The point", body = PointView),
        (status = 404, description = "No such point", body = ErrorBody),
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn point(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PointView>, ApiError> {
    let mut all = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    let device = id.split_once('.').map_or("", |x| x.0);
    all.extend(meter_point(&s, device));
    let p = all
        .into_iter()
        .find(|p| *p.id == *id)
        .ok_or_else(|| ApiError::NotFound(format!("point `{id}`")))?;
    Ok(Json(view(&s, p, s.clock.now())))
}

fn view(s: &AppState, state: PointState, now: DateTime<Utc>) -> PointView {
    let name = state.id.split_once('.').map_or("", |x| x.1).to_owned();
    let meter = s.estate.profile_of(&state.device);
    let def = (s.devices.iter())
        .find(|d| *d.config.id == *state.device)
        .map(|d| &d.profile)
        .or(meter.as_ref())
        .and_then(|p| p.describe(&name));
    PointView {
        age_seconds: state
            .updated_at
            .map(|t| (now - t).num_milliseconds() as f64 / 1000.0),
        description: def.map(|d| d.0.to_owned()).unwrap_or_default(),
        states: def.map(|d| d.1.clone()).unwrap_or_default(),
        zh: def.map(|d| d.2.clone()).unwrap_or_default(),
        name,
        state,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    /// From (inclusive); an hour ago by default. `from` is the same.
    #[serde(alias = "from")]
    since: Option<DateTime<Utc>>,
    /// To (exclusive).
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// A point's kept readings, oldest first.
#[utoipa::path(get, path = "/points/{id}/readings", tag = "plant",
    params(("id" = String, Path, description = "Point id"), HistoryQuery),
    responses(
        (status = 200, description = "One page of readings", body = Vec<Reading>),
        (status = 404, description = "No such point", body = ErrorBody),
        (status = 422, description = "Bad time or paging parameter", body = ErrorBody),
    ))]
async fn readings(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Paged<Vec<Reading>>, ApiError> {
    let known = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    if !known.iter().any(|p| *p.id == *id) {
        return Err(ApiError::NotFound(format!("point `{id}`")));
    }
    let page = Page::new(q.limit, q.offset)?;
    let since = q
        .since
        .unwrap_or_else(|| s.clock.now() - Duration::hours(1));
    let window = Window::new(Some(since), q.to)?;
    let rows = s
        .store
        .readings_page(&id, window.millis(), page.offset, page.fetch())
        .await?;
    Ok(page.of_fetched(rows))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ChartQuery {
    /// From; 24 hours before `to` by default.
    from: Option<DateTime<Utc>>,
    /// To; now by default.
    to: Option<DateTime<Utc>>,
}

/// Slices a chart's window is cut into, and readings read from each: a 30-day window of a
/// point recorded every second still draws from at most 1,000 readings spread over it.
const CHART_SLICES: i64 = 200;
const CHART_PER_SLICE: i64 = 5;

/// A point's history over a window as an SVG line chart in site time (the alarm detail's
/// chart, without a raise to mark).
#[utoipa::path(get, path = "/points/{id}/chart", tag = "plant",
    params(("id" = String, Path, description = "Point id"), ChartQuery),
    responses(
        (status = 200, description = "The chart", content_type = "image/svg+xml", body = String),
        (status = 404, description = "No such point", body = ErrorBody),
        (status = 422, description = "`to` not after `from`", body = ErrorBody),
    ))]
async fn chart(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ChartQuery>,
) -> Result<Response, ApiError> {
    let known = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    if !known.iter().any(|p| *p.id == *id) {
        return Err(ApiError::NotFound(format!("point `{id}`")));
    }
    let to = q.to.unwrap_or_else(|| s.clock.now());
    let from = q.from.unwrap_or(to - Duration::hours(24));
    if to <= from {
        return Err(ApiError::invalid("to", "`to` must be after `from`"));
    }
    // The end is drawn too: a reading taken now belongs on the chart of "the last hour".
    let (start, end) = (from.timestamp_millis(), to.timestamp_millis() + 1);
    let step = ((end - start) / CHART_SLICES).max(1);
    let mut series = Vec::new();
    for slice in (start..end).step_by(step as usize) {
        let between = (slice, (slice + step).min(end));
        let rows = s
            .store
            .readings_page(&id, between, 0, CHART_PER_SLICE)
            .await?;
        series.extend(rows.iter().map(|r| (r.at, r.value)));
    }
    let svg = super::alarm_chart::svg(&series, (from, to), None, s.site.tz());
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Most points one batch may ask for: a plant tab's worth, not the whole register.
const BATCH_POINTS: usize = 500;
/// Readings per point in a batch unless `limit` says otherwise: plenty for a sparkline.
const BATCH_LIMIT: i64 = 360;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct BatchQuery {
    /// Comma-separated point ids.
    points: Option<String>,
    since: Option<DateTime<Utc>>,
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct Sample {
    at: DateTime<Utc>,
    value: f64,
}

#[derive(Serialize, ToSchema)]
struct BatchView {
    /// The server's time, so a page trims its window on the daemon's clock, not its own.
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    /// Each asked point's newest readings since `since`, oldest first.
    points: std::collections::BTreeMap<String, Vec<Sample>>,
}

/// `GET /api/v1/readings?points=a,b&since=&limit=`: the recent history of many points in
/// one request (the plant tab's sparklines), at most `limit` readings each.
#[utoipa::path(get, path = "/readings", tag = "plant", params(BatchQuery),
    responses(
        (status = 200, description = "Each point's readings since `since`, oldest first", body = BatchView),
        (status = 422, description = "No, too many or unknown points, or a bad `limit`", body = ErrorBody),
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn batch_readings(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<BatchQuery>,
) -> Result<Json<BatchView>, ApiError> {
    let ids = batch_points(q.points.as_deref().unwrap_or(""))?;
    let known = s.engine.points().await.ok_or(ApiError::Unavailable)?;
    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| !known.iter().any(|p| *p.id == ***id))
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
        asked => Page::new(asked, None)?.limit,
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct EventQuery {
    /// Only entries after this sequence number (a cursor that survives new entries).
    after: Option<i64>,
    /// Only entries of this kind (`alarm`, `device`, `point_quality`, …).
    kind: Option<String>,
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

/// The event journal, oldest first.
#[utoipa::path(get, path = "/events", tag = "plant", params(EventQuery),
    responses(
        (status = 200, description = "One page of journal entries", body = Vec<EventRow>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn events(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> Result<Paged<Vec<EventRow>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let rows = s
        .store
        .events_page(
            q.after.unwrap_or(0),
            q.kind.as_deref(),
            window.millis(),
            page.offset,
            page.fetch(),
        )
        .await?;
    Ok(page.of_fetched(rows))
}
