//! `/api/v1/requests`: repair requests (报修), complaints (投诉) and suggestions: intake,
//! the list (by state, overdue), one request with its timeline, and every step (acknowledge,
//! dispatch, complete with the report, follow-up, rating, decline with the reason, explain
//! a delay on a chaser, close). A repair closes only with its three records (§13.16).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{
    Channel, ClockView, NewRequest, RequestAction, RequestCommand, RequestEvent, RequestId,
    RequestKind, RequestState, ServiceError, ServiceRequest, WorkingCalendar,
};

use chrono::{DateTime, Utc};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody, Personal};

#[derive(OpenApi)]
#[openapi(paths(list, intake, one, command))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/requests", get(list).post(intake))
        .route("/requests/{id}", get(one))
        .route("/requests/{id}/commands", post(command))
}

/// What the desk takes in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct IntakeBody {
    kind: RequestKind,
    channel: Channel,
    unit: String,
    owner: Option<String>,
    summary: String,
    received_by: String,
    /// The incident the request came from (a repair after a leak, a complaint about one).
    incident: Option<sitewatch_core::incidents::IncidentId>,
}

/// Takes in a repair request, complaint or suggestion.
#[utoipa::path(post, path = "/requests", tag = "requests", request_body = IntakeBody,
    responses(
        (status = 201, description = "The request taken in, with its clocks", body = ServiceRequest),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`summary`, `unit`, `received_by`)", body = ErrorBody),
    ))]
async fn intake(
    State(s): State<AppState>,
    personal: Personal,
    ApiJson(b): ApiJson<IntakeBody>,
) -> Result<(StatusCode, Json<ServiceRequest>), ApiError> {
    super::require_actor(&b.received_by)?;
    if b.summary.trim().is_empty() {
        return Err(ApiError::invalid("summary", "say what the owner asked"));
    }
    if s.store.unit(&b.unit).await?.is_none() {
        return Err(ApiError::invalid(
            "unit",
            format!("unit `{}` is not in the register", b.unit),
        ));
    }
    super::links::check_intake(&s, b.kind, b.incident).await?;
    let calendar = calendar(&s).await?;
    let now = s.clock.now();
    let incident = b.incident;
    let new = NewRequest {
        kind: b.kind,
        channel: b.channel,
        unit: b.unit,
        owner: b.owner,
        summary: b.summary,
        received_by: b.received_by,
    };
    let config = s.service.clone();
    let request = s
        .store
        .create_request(now, |id| {
            let mut request = ServiceRequest::new(id, new, &config, &calendar, now).0;
            request.incident = incident;
            request
        })
        .await?;
    Ok((StatusCode::CREATED, Json(personal.apply(request))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only requests in this state.
    state: Option<RequestState>,
    /// Only this kind (`repair`, `complaint`, `suggestion`).
    kind: Option<String>,
    /// Only this unit's requests (a unit id, `1-0301`).
    unit: Option<String>,
    /// Only requests past a deadline.
    #[serde(default)]
    overdue: bool,
    /// Only requests received at or after this time.
    from: Option<DateTime<Utc>>,
    /// Only requests received before this time.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// A request with its running clocks, for the lists.
#[derive(Serialize, ToSchema)]
struct RequestView {
    #[serde(flatten)]
    request: ServiceRequest,
    /// Past a deadline now.
    overdue: bool,
    /// Running clocks with their time left.
    running: Vec<ClockView>,
}

impl RequestView {
    fn of(request: ServiceRequest, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            overdue: request.is_overdue(now),
            running: request.running_clocks(now),
            request,
        }
    }
}

/// Requests by number, filtered.
#[utoipa::path(get, path = "/requests", tag = "requests", params(ListQuery),
    responses(
        (status = 200, description = "One page of requests", body = Vec<RequestView>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    personal: Personal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Paged<Vec<RequestView>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let now = s.clock.now();
    let rows = s.store.requests(q.state, q.kind.as_deref()).await?;
    let views: Vec<RequestView> = rows
        .into_iter()
        .filter(|r| window.contains(Some(r.request.received_at)))
        .filter(|r| q.unit.as_ref().is_none_or(|u| *u == r.request.unit))
        .map(|r| RequestView::of(personal.apply(r.request), now))
        .filter(|v| !q.overdue || v.overdue)
        .collect();
    Ok(page.slice(views))
}

/// One request with its timeline.
#[utoipa::path(get, path = "/requests/{id}", tag = "requests",
    params(("id" = i64, Path, description = "Request number")),
    responses(
        (status = 200, description = "The request", body = RequestView),
        (status = 404, description = "No such request", body = ErrorBody),
    ))]
async fn one(
    State(s): State<AppState>,
    personal: Personal,
    ApiPath(id): ApiPath<RequestId>,
) -> Result<Json<RequestView>, ApiError> {
    let stored = s
        .store
        .request(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("request {id}")))?;
    let request = personal.apply(stored.request);
    Ok(Json(RequestView::of(request, s.clock.now())))
}

/// One step on a request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RequestCommandBody {
    actor: String,
    #[serde(default)]
    note: String,
    /// `{"type": "acknowledge" | "dispatch" | "complete" | …, …}`.
    #[schema(value_type = Object)]
    action: RequestAction,
}

/// One step: acknowledge, dispatch, complete with the report, follow-up, rating, decline,
/// explain a delay, close (a repair closes only with its three records).
#[utoipa::path(post, path = "/requests/{id}/commands", tag = "requests",
    params(("id" = i64, Path, description = "Request number")), request_body = RequestCommandBody,
    responses(
        (status = 200, description = "The events it caused", body = Vec<Object>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "State does not allow it, changed meanwhile, or records missing (`missing_records`)", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    ))]
async fn command(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(b): ApiJson<RequestCommandBody>,
) -> Result<Json<Vec<RequestEvent>>, ApiError> {
    super::require_actor(&b.actor)?;
    let calendar = calendar(&s).await?;
    let mut stored = s
        .store
        .request(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("request {id}")))?;
    let now = s.clock.now();
    let cmd = RequestCommand {
        actor: b.actor,
        note: b.note,
        action: b.action,
    };
    let events = stored
        .request
        .apply(cmd, &calendar, now)
        .map_err(service_error)?;
    if !s
        .store
        .save_request(&stored.request, stored.version, now)
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "request {id} was changed meanwhile; read it again and retry"
        )));
    }
    Ok(Json(events))
}

/// The site's working-day calendar, as the incident book has it.
async fn calendar(s: &AppState) -> Result<WorkingCalendar, ApiError> {
    s.engine
        .read(|b, _| b.incidents.calendar().clone())
        .await
        .ok_or(ApiError::Unavailable)
}

fn service_error(e: ServiceError) -> ApiError {
    match e {
        ServiceError::CannotClose { missing } => ApiError::Missing {
            action: "close",
            missing,
        },
        ServiceError::Empty(field) => ApiError::invalid(field_name(field), e.to_string()),
        ServiceError::BadRating(_) => ApiError::invalid("score", e.to_string()),
        ServiceError::NotAComplaint(_) => ApiError::invalid("action", e.to_string()),
        _ => ApiError::Conflict(e.to_string()),
    }
}

fn field_name(what: &str) -> &'static str {
    match what {
        "reply" => "text",
        "completion report" => "report",
        _ => "reason",
    }
}
