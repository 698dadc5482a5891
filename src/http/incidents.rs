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
    ClockView, Incident, IncidentCommand, IncidentEvent, IncidentId, IncidentState, NewIncident,
};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::api::PageQuery;
use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody, Personal};

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
    let mut list = s
        .engine
        .incidents(q.state.is_some())
        .await
        .ok_or(ApiError::Unavailable)?;
    list.retain(|i| {
        q.category.as_ref().is_none_or(|c| &i.category == c)
            && q.state.is_none_or(|st| i.state == st)
            && window.contains(Some(i.reported_at))
    });
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
        .incident_clocks(id)
        .await
        .ok_or(ApiError::Unavailable)?
        .map(|(incident, board)| {
            Json(IncidentView {
                board,
                incident: personal.apply(incident),
            })
        })
        .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))
}

/// Whether incident `id` exists (the incident page answers 404 for one that does not).
pub(super) async fn exists(s: &AppState, id: IncidentId) -> Result<bool, ApiError> {
    let found = s.engine.incident(id).await.ok_or(ApiError::Unavailable)?;
    Ok(found.is_some())
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
    let clocks = s.engine.board().await.ok_or(ApiError::Unavailable)?;
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
    let incident = s.engine.open_incident(new).await?;
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
    Ok(Json(s.engine.incident_step(id, cmd).await?))
}
