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
    Channel, ClockView, NewRequest, RequestAction, RequestEvent, RequestId, RequestKind,
    RequestState, ServiceError, ServiceRequest,
};

use chrono::{DateTime, Utc};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody, Personal};
use crate::engine::{RequestAnswer, RequestCommand, RequestRefusal};

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
        (status = 422, description = "A field is missing or invalid (`summary`, `unit`, `received_by`, `incident`)", body = ErrorBody),
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
    let new = NewRequest {
        kind: b.kind,
        channel: b.channel,
        unit: b.unit,
        owner: b.owner,
        summary: b.summary,
        received_by: b.received_by,
    };
    let cmd = RequestCommand::TakeIn {
        new,
        incident: b.incident,
    };
    let request = send(&s, cmd).await?.request;
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

impl super::personal::Redact for RequestView {
    fn redact(&mut self) {
        self.request.redact();
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
    let views = s
        .engine
        .read(move |b, now| {
            b.requests
                .all()
                .filter(|r| q.state.is_none_or(|st| r.state == st))
                .filter(|r| q.kind.as_deref().is_none_or(|k| r.kind.as_str() == k))
                .filter(|r| window.contains(Some(r.received_at)))
                .map(|r| RequestView::of(r.clone(), now))
                .filter(|v| !q.overdue || v.overdue)
                .collect::<Vec<_>>()
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(page.slice(personal.apply(views)))
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
    let view = s
        .engine
        .read(move |b, now| b.requests.get(id).map(|r| RequestView::of(r.clone(), now)))
        .await
        .ok_or(ApiError::Unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("request {id}")))?;
    Ok(Json(personal.apply(view)))
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
        (status = 409, description = "State does not allow it, or records missing (`missing_records`)", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    ))]
async fn command(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(b): ApiJson<RequestCommandBody>,
) -> Result<Json<Vec<RequestEvent>>, ApiError> {
    super::require_actor(&b.actor)?;
    let step = sitewatch_core::incidents::RequestCommand {
        actor: b.actor,
        note: b.note,
        action: b.action,
    };
    let answer = send(&s, RequestCommand::Step { id, step }).await?;
    Ok(Json(answer.events))
}

/// Sends a request command to the engine and maps a refusal to its error.
pub(super) async fn send(s: &AppState, cmd: RequestCommand) -> Result<RequestAnswer, ApiError> {
    s.engine
        .request(cmd)
        .await
        .ok_or(ApiError::Unavailable)?
        .map_err(refusal)
}

fn refusal(e: RequestRefusal) -> ApiError {
    match e {
        RequestRefusal::Service(e) => service_error(e),
        RequestRefusal::UnknownIncident(_) => ApiError::invalid("incident", e.to_string()),
        RequestRefusal::Incident(e) => ApiError::invalid("category", e.to_string()),
    }
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
        ServiceError::NotFound(id) => ApiError::NotFound(format!("request {id}")),
        ServiceError::NotLinkable => ApiError::invalid("incident", e.to_string()),
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
