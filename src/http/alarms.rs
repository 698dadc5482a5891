//! `/api/v1/alarms`: the standing alarm list, one alarm, the alarm history (journal),
//! and the operator's commands: acknowledge (one or several), shelve, unshelve, suppress,
//! out of service; and a chart of an alarm's point around its raise (`alarm_chart`).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::alarms::{
    Alarm, AlarmCommand, AlarmEvent, AlarmState, Priority, SuppressScope,
};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::api::PageQuery;
use super::page::{ApiQuery, MAX_LIMIT, NoParams, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody};
use crate::store::EventRow;

#[derive(OpenApi)]
#[openapi(paths(
    list,
    history,
    command,
    one,
    chart,
    acknowledge,
    acknowledge_many,
    suppress,
    suppressions,
    unsuppress,
    shelve,
    unshelve
))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/alarms", get(list))
        .route("/alarms/history", get(history))
        .route("/alarms/commands", post(command))
        .route("/alarms/acknowledge", post(acknowledge_many))
        .route("/alarms/suppress", post(suppress))
        .route("/alarms/suppressions", get(suppressions))
        .route("/alarms/unsuppress", post(unsuppress))
        .route("/alarms/{id}", get(one))
        .route("/alarms/{id}/chart", get(chart))
        .route("/alarms/{id}/acknowledge", post(acknowledge))
        .route("/alarms/{id}/shelve", post(shelve))
        .route("/alarms/{id}/unshelve", post(unshelve))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Include alarms in normal too.
    #[serde(default)]
    all: bool,
    /// Only alarms in this state.
    state: Option<AlarmState>,
    /// Only alarms of this priority.
    priority: Option<Priority>,
    /// Only alarms of this device.
    device: Option<String>,
    /// Only alarms of devices serving a unit of this building (the units register).
    building: Option<String>,
    /// Only alarms whose message, id or device name holds this text (any case).
    q: Option<String>,
    /// Only alarms raised at or after this time.
    from: Option<DateTime<Utc>>,
    /// Only alarms raised before this time.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// The standing alarms (or all with `all=true`), highest priority first, then oldest,
/// filtered by state, priority, device, building and text, then paged.
#[utoipa::path(get, path = "/alarms", tag = "alarms", params(ListQuery),
    responses(
        (status = 200, description = "One page of alarms", body = Vec<Alarm>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Paged<Vec<Alarm>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let all = q.all || q.state.is_some();
    let mut alarms = s.engine.alarms(all).await.ok_or(ApiError::Unavailable)?;
    let buildings = match &q.building {
        Some(_) => device_buildings(&s).await?,
        None => HashMap::new(),
    };
    let text = q.q.as_deref().map(str::to_lowercase).unwrap_or_default();
    alarms.retain(|a| {
        q.state.is_none_or(|st| a.state == st)
            && q.priority.is_none_or(|p| a.priority == p)
            && q.device.as_ref().is_none_or(|d| a.device == *d)
            && q.building
                .as_ref()
                .is_none_or(|b| buildings.get(&a.device) == Some(b))
            && (text.is_empty() || matches_text(&s, a, &text))
            && window.contains(a.raised_at)
    });
    // Highest priority first, then oldest first: the order a duty engineer works in.
    alarms.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(a.raised_at.cmp(&b.raised_at))
    });
    Ok(page.slice(alarms))
}

/// Whether `text` (lower case) is in the alarm's message (either language), id or its
/// device's name.
fn matches_text(s: &AppState, a: &Alarm, text: &str) -> bool {
    let device_name = s
        .devices
        .iter()
        .find(|d| d.config.id == a.device)
        .map(|d| d.config.name.to_lowercase());
    a.message.to_lowercase().contains(text)
        || a.message_zh.as_deref().is_some_and(|m| m.contains(text))
        || a.id.to_lowercase().contains(text)
        || device_name.is_some_and(|n| n.contains(text))
}

/// Each device that serves a unit, with the unit's building from the units register.
pub(super) async fn device_buildings(s: &AppState) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for d in s.devices.iter() {
        let Some(unit) = &d.config.unit else { continue };
        if let Some(u) = s.store.unit(unit).await? {
            out.insert(d.config.id.clone(), u.building);
        }
    }
    Ok(out)
}

/// One alarm.
#[utoipa::path(get, path = "/alarms/{id}", tag = "alarms",
    params(("id" = String, Path, description = "Alarm id")),
    responses(
        (status = 200, description = "The alarm", body = Alarm),
        (status = 404, description = "No such alarm", body = ErrorBody),
    ))]
async fn one(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Alarm>, ApiError> {
    s.engine
        .alarm_by_id(&id)
        .await
        .ok_or(ApiError::Unavailable)?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("alarm `{id}`")))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    /// Only entries after this journal sequence number.
    after: Option<i64>,
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
    /// The newest `latest` entries, newest first (the console's history list); 1 to 10000.
    latest: Option<i64>,
    /// With `latest`: only the entries of this alarm (its detail's history).
    alarm: Option<String>,
}

/// The alarm journal: every transition, oldest first (or the newest with `latest`).
#[utoipa::path(get, path = "/alarms/history", tag = "alarms", params(HistoryQuery),
    responses(
        (status = 200, description = "One page of alarm journal entries", body = Vec<EventRow>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn history(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Paged<Vec<EventRow>>, ApiError> {
    if let Some(n) = q.latest {
        if !(1..=MAX_LIMIT).contains(&n) {
            let message = format!("latest {n} is outside 1..={MAX_LIMIT}");
            return Err(ApiError::invalid("latest", message));
        }
        let rows = match &q.alarm {
            Some(alarm) => s.store.latest_events_of("alarm", alarm, n).await?,
            None => s.store.latest_events("alarm", n).await?,
        };
        return Ok(Paged::whole(rows));
    }
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let rows = s
        .store
        .events_page(
            q.after.unwrap_or(0),
            Some("alarm"),
            window.millis(),
            page.offset,
            page.fetch(),
        )
        .await?;
    Ok(page.of_fetched(rows))
}

/// Runs one alarm command in the engine and returns the transitions it caused.
pub(super) async fn run(
    s: &AppState,
    cmd: AlarmCommand,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    Ok(Json(s.engine.alarm(cmd).await?))
}

/// Any alarm command (acknowledge, shelve, unshelve, suppress, out of service), tagged.
#[utoipa::path(post, path = "/alarms/commands", tag = "alarms",
    request_body(content = Object, description = "An `AlarmCommand`: `{\"type\": \"acknowledge\", \"alarm\": …, \"actor\": …}`"),
    responses(
        (status = 200, description = "The transitions it caused", body = Vec<AlarmEvent>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such alarm", body = ErrorBody),
        (status = 409, description = "The alarm's state does not allow it", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`actor`, `reason`, `until`)", body = ErrorBody),
    ))]
async fn command(
    State(s): State<AppState>,
    ApiJson(cmd): ApiJson<AlarmCommand>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    run(&s, cmd).await
}

/// Who acts, and an optional note.
#[derive(Deserialize, ToSchema)]
struct Ack {
    actor: String,
    note: Option<String>,
}

/// Acknowledges an alarm.
#[utoipa::path(post, path = "/alarms/{id}/acknowledge", tag = "alarms",
    params(("id" = String, Path, description = "Alarm id")), request_body = Ack,
    responses(
        (status = 200, description = "The transitions it caused", body = Vec<AlarmEvent>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such alarm", body = ErrorBody),
        (status = 409, description = "The alarm's state does not allow it", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`actor`, `reason`, `until`)", body = ErrorBody),
    ))]
async fn acknowledge(
    State(s): State<AppState>,
    ApiPath(alarm): ApiPath<String>,
    ApiJson(a): ApiJson<Ack>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    super::require_actor(&a.actor)?;
    acknowledge_as(&s, alarm, a.actor, a.note).await
}

/// Acknowledges `alarm` as `actor`: the console's route and the phone page's link both
/// change the alarm's state here, and nowhere else.
pub(super) async fn acknowledge_as(
    s: &AppState,
    alarm: String,
    actor: String,
    note: Option<String>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    run(s, AlarmCommand::Acknowledge { alarm, actor, note }).await
}

/// Several alarms, who acts, and one note for all.
#[derive(Deserialize, ToSchema)]
struct AckMany {
    alarms: Vec<String>,
    actor: String,
    note: Option<String>,
}

/// Acknowledges several alarms with one note: all of them, or none (409) when one cannot
/// be acknowledged.
#[utoipa::path(post, path = "/alarms/acknowledge", tag = "alarms", request_body = AckMany,
    responses(
        (status = 200, description = "The transitions it caused", body = Vec<AlarmEvent>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such alarm", body = ErrorBody),
        (status = 409, description = "One of the alarms cannot be acknowledged", body = ErrorBody),
        (status = 422, description = "No alarm named, or no `actor`", body = ErrorBody),
    ))]
async fn acknowledge_many(
    State(s): State<AppState>,
    ApiJson(a): ApiJson<AckMany>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    super::require_actor(&a.actor)?;
    let cmd = AlarmCommand::AcknowledgeMany {
        alarms: a.alarms,
        actor: a.actor,
        note: a.note.filter(|n| !n.trim().is_empty()),
    };
    run(&s, cmd).await
}

/// An alarm's point around its raise, as an SVG line chart in site time: from half an
/// hour before the raise to half an hour after it (or now, if sooner).
#[utoipa::path(get, path = "/alarms/{id}/chart", tag = "alarms",
    params(("id" = String, Path, description = "Alarm id")),
    responses(
        (status = 200, description = "The chart", content_type = "image/svg+xml", body = String),
        (status = 404, description = "No such alarm, or it watches no point", body = ErrorBody),
    ))]
async fn chart(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    _: ApiQuery<NoParams>,
) -> Result<Response, ApiError> {
    let alarm = s
        .engine
        .alarm_by_id(&id)
        .await
        .ok_or(ApiError::Unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("alarm `{id}`")))?;
    let point = alarm
        .point
        .clone()
        .ok_or_else(|| ApiError::NotFound(format!("alarm `{id}` watches no point")))?;
    let now = s.clock.now();
    let raised = alarm.raised_at.unwrap_or(now);
    let from = raised - Duration::minutes(30);
    let to = (raised + Duration::minutes(30)).min(now).max(raised);
    let between = (from.timestamp_millis(), to.timestamp_millis() + 1);
    let rows = s.store.readings_page(&point, between, 0, 5000).await?;
    let series: Vec<_> = rows.iter().map(|r| (r.at, r.value)).collect();
    let svg = super::alarm_chart::svg(&series, (from, to), alarm.raised_at, s.site.tz());
    // Drawn from the history as of now: never kept by a cache.
    let headers = [
        (header::CONTENT_TYPE, "image/svg+xml"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, svg).into_response())
}

/// Shelve until a time, or for some minutes.
#[derive(Deserialize, ToSchema)]
struct ShelveBody {
    actor: String,
    reason: String,
    /// Until when; or `minutes` from now.
    until: Option<DateTime<Utc>>,
    minutes: Option<i64>,
}

/// Shelves an alarm for a while.
#[utoipa::path(post, path = "/alarms/{id}/shelve", tag = "alarms",
    params(("id" = String, Path, description = "Alarm id")), request_body = ShelveBody,
    responses(
        (status = 200, description = "The transitions it caused", body = Vec<AlarmEvent>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such alarm", body = ErrorBody),
        (status = 409, description = "The alarm's state does not allow it", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`actor`, `reason`, `until`)", body = ErrorBody),
    ))]
async fn shelve(
    State(s): State<AppState>,
    ApiPath(alarm): ApiPath<String>,
    ApiJson(b): ApiJson<ShelveBody>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    super::require_actor(&b.actor)?;
    let until = ends(&s, b.until, b.minutes)?;
    run(
        &s,
        AlarmCommand::Shelve {
            alarm,
            actor: b.actor,
            reason: b.reason,
            until,
        },
    )
    .await
}

/// The end of a shelve or suppression: `until`, or `minutes` from now on the daemon's
/// clock (a browser's clock may be wrong).
fn ends(
    s: &AppState,
    until: Option<DateTime<Utc>>,
    minutes: Option<i64>,
) -> Result<DateTime<Utc>, ApiError> {
    match (until, minutes) {
        (Some(t), _) => Ok(t),
        (None, Some(m)) if m > 0 => Ok(s.clock.now() + Duration::minutes(m)),
        _ => Err(ApiError::invalid(
            "until",
            "give `until` or a positive `minutes`",
        )),
    }
}

/// A suppression window: what it covers, why, and until when (or for some minutes).
#[derive(Deserialize, ToSchema)]
struct SuppressBody {
    /// `{"type": "device", "id": …}`, `{"type": "unit", "id": …}` or `{"type": "site"}`.
    #[schema(value_type = Object)]
    scope: SuppressScope,
    actor: String,
    reason: String,
    until: Option<DateTime<Utc>>,
    minutes: Option<i64>,
}

/// Suppresses every alarm of a device, a point, a unit or the site for a window.
#[utoipa::path(post, path = "/alarms/suppress", tag = "alarms", request_body = SuppressBody,
    responses(
        (status = 200, description = "The transitions it caused", body = Vec<AlarmEvent>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`actor`, `reason`, `until`)", body = ErrorBody),
    ))]
async fn suppress(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<SuppressBody>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    super::require_actor(&b.actor)?;
    let until = ends(&s, b.until, b.minutes)?;
    let cmd = AlarmCommand::Suppress {
        scope: b.scope,
        reason: b.reason,
        actor: b.actor,
        until: Some(until),
    };
    run(&s, cmd).await
}

/// A suppression window in force: what it covers, who set it, why, since and until when.
#[derive(Serialize, ToSchema)]
struct SuppressionView {
    /// `{"type": "device", "id": …}`, `{"type": "point", "id": …}`,
    /// `{"type": "unit", "id": …}` or `{"type": "site"}`: what lifting it names.
    #[schema(value_type = Object)]
    scope: SuppressScope,
    /// Who set it.
    by: String,
    /// Why.
    reason: String,
    /// Since when.
    since: DateTime<Utc>,
    /// When it ends by itself (`null`: when lifted).
    until: Option<DateTime<Utc>>,
}

/// The suppression windows in force, oldest first, paged as every list is.
#[utoipa::path(get, path = "/alarms/suppressions", tag = "alarms", params(PageQuery),
    responses(
        (status = 200, description = "One page of suppression windows", body = Vec<SuppressionView>),
        (status = 422, description = "Bad `limit` or `offset`", body = ErrorBody),
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn suppressions(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Paged<Vec<SuppressionView>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let windows = s.engine.suppressions().await.ok_or(ApiError::Unavailable)?;
    let views = windows
        .into_iter()
        .map(|w| SuppressionView {
            scope: w.scope,
            by: w.actor,
            reason: w.reason,
            since: w.since,
            until: w.until,
        })
        .collect();
    Ok(page.slice(views))
}

/// A suppression to lift, by the scope it was set with, and who lifts it.
#[derive(Deserialize, ToSchema)]
struct UnsuppressBody {
    /// The window's `scope`, as `/alarms/suppressions` lists it.
    #[schema(value_type = Object)]
    scope: SuppressScope,
    actor: String,
}

/// Lifts the suppression windows of a scope before their time: the engine lifts them and
/// the alarms they covered are annunciated again.
#[utoipa::path(post, path = "/alarms/unsuppress", tag = "alarms", request_body = UnsuppressBody,
    responses(
        (status = 200, description = "The transitions it caused", body = Vec<AlarmEvent>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 409, description = "No suppression with that scope", body = ErrorBody),
        (status = 422, description = "No `actor`", body = ErrorBody),
    ))]
async fn unsuppress(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<UnsuppressBody>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    super::require_actor(&b.actor)?;
    let cmd = AlarmCommand::Unsuppress {
        scope: b.scope,
        actor: b.actor,
    };
    run(&s, cmd).await
}

/// Ends a shelve early.
#[utoipa::path(post, path = "/alarms/{id}/unshelve", tag = "alarms",
    params(("id" = String, Path, description = "Alarm id")), request_body = Ack,
    responses(
        (status = 200, description = "The transitions it caused", body = Vec<AlarmEvent>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such alarm", body = ErrorBody),
        (status = 409, description = "The alarm's state does not allow it", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`actor`, `reason`, `until`)", body = ErrorBody),
    ))]
async fn unshelve(
    State(s): State<AppState>,
    ApiPath(alarm): ApiPath<String>,
    ApiJson(a): ApiJson<Ack>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    super::require_actor(&a.actor)?;
    run(
        &s,
        AlarmCommand::Unshelve {
            alarm,
            actor: a.actor,
        },
    )
    .await
}
