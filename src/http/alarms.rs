//! `/api/v1/alarms`: the standing alarm list, one alarm, the alarm history (journal),
//! and the operator's commands: acknowledge, shelve, unshelve, suppress, out of service.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sitewatch_core::alarms::{Alarm, AlarmCommand, AlarmEvent, AlarmState};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::page::{ApiQuery, MAX_LIMIT, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody};
use crate::store::EventRow;

#[derive(OpenApi)]
#[openapi(paths(list, history, command, one, acknowledge, shelve, unshelve))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/alarms", get(list))
        .route("/alarms/history", get(history))
        .route("/alarms/commands", post(command))
        .route("/alarms/{id}", get(one))
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

/// The standing alarms (or all with `all=true`), highest priority first, then oldest.
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
    alarms.retain(|a| q.state.is_none_or(|st| a.state == st) && window.contains(a.raised_at));
    // Highest priority first, then oldest first: the order a duty engineer works in.
    alarms.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(a.raised_at.cmp(&b.raised_at))
    });
    Ok(page.slice(alarms))
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
        let rows = s.store.latest_events("alarm", n).await?;
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
    run(
        &s,
        AlarmCommand::Acknowledge {
            alarm,
            actor: a.actor,
            note: a.note,
        },
    )
    .await
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
    let until = match (b.until, b.minutes) {
        (Some(t), _) => t,
        (None, Some(m)) if m > 0 => s.clock.now() + Duration::minutes(m),
        _ => {
            return Err(ApiError::invalid(
                "until",
                "give `until` or a positive `minutes`",
            ));
        }
    };
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
