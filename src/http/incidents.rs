//! `/api/v1/incidents`: open incidents, one incident with its timeline, the SLA board,
//! opening one by hand (repair request, complaint, emergency report) and every workflow
//! step (dispatch, on site, resolve, follow-up, close, cancel, claim steps, households).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{
    ClockView, Incident, IncidentCommand, IncidentError, IncidentEvent, IncidentId, IncidentState,
    NewIncident,
};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::api::PageQuery;
use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody, Personal};
use crate::engine::Output;

#[derive(OpenApi)]
#[openapi(paths(list, open, board, one, command))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list).post(open))
        .route("/incidents/board", get(board))
        .route("/incidents/{id}", get(one))
        .route("/incidents/{id}/commands", post(command))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only this category.
    category: Option<String>,
    /// Only incidents in this state (closed and cancelled ones too); open ones otherwise.
    state: Option<IncidentState>,
    /// Only incidents reported at or after this time.
    from: Option<DateTime<Utc>>,
    /// Only incidents reported before this time.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// Open incidents (or those in `state`), by number.
#[utoipa::path(get, path = "/incidents", tag = "incidents", params(ListQuery),
    responses(
        (status = 200, description = "One page of incidents", body = Vec<Incident>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    personal: Personal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Paged<Vec<Incident>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let list = s
        .engine
        .read(move |b, _| {
            let all = match q.state {
                Some(_) => b.incidents.all_incidents(),
                None => b.incidents.open_incidents(),
            };
            all.into_iter()
                .filter(|i| q.category.as_ref().is_none_or(|c| &i.category == c))
                .filter(|i| q.state.is_none_or(|st| i.state == st))
                .filter(|i| window.contains(Some(i.reported_at)))
                .cloned()
                .collect()
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(page.slice(personal.apply(list)))
}

/// One incident as its page shows it: the record (timeline, attachments, households,
/// alarm trips) and its running clocks as the board shows them, so the page's traffic
/// lights match the board's.
#[derive(Serialize, ToSchema)]
struct IncidentView {
    #[serde(flatten)]
    incident: Incident,
    board: Vec<ClockView>,
}

/// One incident with its timeline, clocks, claim file and households.
#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "Incident number")),
    responses(
        (status = 200, description = "The incident", body = IncidentView),
        (status = 404, description = "No such incident", body = ErrorBody),
    ))]
async fn one(
    State(s): State<AppState>,
    personal: Personal,
    ApiPath(id): ApiPath<IncidentId>,
) -> Result<Json<IncidentView>, ApiError> {
    s.engine
        .read(move |b, now| {
            b.incidents.get(id).map(|i| IncidentView {
                board: i.running_clocks(now),
                incident: personal.apply(i.clone()),
            })
        })
        .await
        .ok_or(ApiError::Unavailable)?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))
}

/// Whether incident `id` exists (the incident page answers 404 for one that does not).
pub(super) async fn exists(s: &AppState, id: IncidentId) -> Result<bool, ApiError> {
    s.engine
        .read(move |b, _| b.incidents.get(id).is_some())
        .await
        .ok_or(ApiError::Unavailable)
}

/// The SLA board: every running clock with its time left.
#[utoipa::path(get, path = "/incidents/board", tag = "incidents", params(PageQuery),
    responses(
        (status = 200, description = "One page of running clocks", body = Vec<ClockView>),
        (status = 422, description = "Bad paging parameter", body = ErrorBody),
    ))]
async fn board(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Paged<Vec<ClockView>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let clocks = s
        .engine
        .read(|b, now| b.incidents.board(now))
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(page.slice(clocks))
}

/// Opens an incident by hand (repair request, complaint, emergency report).
#[utoipa::path(post, path = "/incidents", tag = "incidents", request_body = NewIncident,
    responses(
        (status = 201, description = "The incident opened", body = Incident),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`title`, `category`, `reported_by`)", body = ErrorBody),
    ))]
async fn open(
    State(s): State<AppState>,
    personal: Personal,
    ApiJson(new): ApiJson<NewIncident>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    super::require_actor(&new.reported_by)?;
    if new.title.trim().is_empty() {
        return Err(ApiError::invalid("title", "an incident needs a title"));
    }
    let result = s
        .engine
        .act(move |b, now| match b.incidents.open(new, now) {
            Ok((id, events)) => (Ok(b.incidents.get(id).cloned()), outputs(events)),
            Err(e) => (Err(e), Vec::new()),
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    let incident = result
        .map_err(incident_error)?
        .ok_or(ApiError::Unavailable)?;
    Ok((StatusCode::CREATED, Json(personal.apply(incident))))
}

/// One workflow step (dispatch, on site, resolve, follow-up, close, cancel, claim steps,
/// households).
#[utoipa::path(post, path = "/incidents/{id}/commands", tag = "incidents",
    params(("id" = i64, Path, description = "Incident number")),
    request_body(content = Object, description = "An `IncidentCommand`: `{\"actor\": …, \"note\": …, \"action\": {\"type\": \"dispatch\", …}}`"),
    responses(
        (status = 200, description = "The events it caused", body = Vec<Object>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 409, description = "The incident's state does not allow it", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    ))]
async fn command(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(cmd): ApiJson<IncidentCommand>,
) -> Result<Json<Vec<IncidentEvent>>, ApiError> {
    super::require_actor(&cmd.actor)?;
    let result = s
        .engine
        .act(move |b, now| match b.incidents.apply(id, cmd, now) {
            Ok(events) => (Ok(events.clone()), outputs(events)),
            Err(e) => (Err(e), Vec::new()),
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(result.map_err(incident_error)?))
}

fn outputs(events: Vec<IncidentEvent>) -> Vec<Output> {
    events.into_iter().map(Output::incident).collect()
}

fn incident_error(e: IncidentError) -> ApiError {
    match e {
        IncidentError::NotFound(_) => ApiError::NotFound(e.to_string()),
        IncidentError::UnknownCategory(_) | IncidentError::NotAnAccident(_) => {
            ApiError::invalid("category", e.to_string())
        }
        IncidentError::MissingReason => ApiError::invalid("reason", e.to_string()),
        IncidentError::BadCall { field, .. } => ApiError::invalid(field, e.to_string()),
        _ => ApiError::Conflict(e.to_string()),
    }
}
