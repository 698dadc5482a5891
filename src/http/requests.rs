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
    Channel, ClockView, NewRequest, RequestAction, RequestEvent, RequestEventKind, RequestId,
    RequestKind, RequestState, ServiceRequest,
};

use chrono::{DateTime, Utc};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody, Personal};
use crate::engine::RequestCmd;
use crate::register::notices::{Notice, NoticeLevel, NoticeTarget, NoticeTemplate};

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
    /// Who works it; the unit's own customer-service person (贴心管家) when absent.
    #[serde(default)]
    assigned_to: Option<String>,
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
    let Some(unit) = s.store.unit(&b.unit).await? else {
        return Err(ApiError::invalid(
            "unit",
            format!("unit `{}` is not in the register", b.unit),
        ));
    };
    let new = NewRequest {
        kind: b.kind,
        channel: b.channel,
        unit: b.unit,
        owner: b.owner,
        summary: b.summary,
        received_by: b.received_by,
        assigned_to: b.assigned_to,
        unit_cs_person: unit.cs_person,
    };
    let cmd = RequestCmd::TakeIn {
        new,
        incident: b.incident,
    };
    let request = s.engine.request(cmd).await?.request;
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
    /// Only the requests given to this customer-service person.
    assigned_to: Option<String>,
    /// Only open requests (not closed or declined): with `assigned_to`, a person's open
    /// work as one list.
    #[serde(default)]
    open: bool,
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
    let (all, now) = s.engine.requests().await.ok_or(ApiError::Unavailable)?;
    let views: Vec<RequestView> = all
        .into_iter()
        .filter(|r| q.state.is_none_or(|st| r.state == st))
        .filter(|r| q.kind.as_deref().is_none_or(|k| r.kind.as_str() == k))
        .filter(|r| window.contains(Some(r.received_at)))
        .filter(|r| q.unit.as_ref().is_none_or(|u| *u == r.unit))
        .filter(|r| (q.assigned_to.as_ref()).is_none_or(|p| r.assigned_to.as_ref() == Some(p)))
        .filter(|r| !q.open || r.state.is_open())
        .map(|r| RequestView::of(r, now))
        .filter(|v| !q.overdue || v.overdue)
        .collect();
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
    let (request, now) = s
        .engine
        .request_by_id(id)
        .await
        .ok_or(ApiError::Unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("request {id}")))?;
    Ok(Json(personal.apply(RequestView::of(request, now))))
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
/// explain a delay, close (a repair closes only with its three records); or attach a photo
/// or document uploaded to `/api/v1/files` (`{"type": "attach", "id", "kind":
/// "scene_photo", "content_type", "size_bytes", "caption"}`), listed in the request's
/// `attachments`.
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
    // An attachment names a file `/api/v1/files` kept (its type signature and size
    // checked there); the request's book checks the limits again.
    if let RequestAction::Attach(file) = &b.action
        && !s.store.file_exists(&file.id).await?
    {
        let message = format!("no file `{}`: upload it to /api/v1/files first", file.id);
        return Err(ApiError::invalid("file", message));
    }
    let step = sitewatch_core::incidents::RequestCommand {
        actor: b.actor,
        note: b.note,
        action: b.action,
    };
    let answer = s.engine.request(RequestCmd::Step { id, step }).await?;
    tell_owner_of_delays(&s, &answer.request, &answer.events).await?;
    Ok(Json(answer.events))
}

/// How long a delay notice stays posted.
const DELAY_NOTICE_DAYS: i64 = 7;

/// The engine decided the owner is told of a work order's delay (seed 001:741): the notice
/// goes to the request's unit through the notice channels (each owner's and tenant's own).
async fn tell_owner_of_delays(
    s: &AppState,
    request: &ServiceRequest,
    events: &[RequestEvent],
) -> Result<(), ApiError> {
    for ev in events {
        let RequestEventKind::OwnerToldOfDelay { department, reason } = &ev.kind else {
            continue;
        };
        let level = NoticeLevel::Notice;
        let notice = Notice {
            id: 0,
            level,
            color: level.color().to_owned(),
            template: NoticeTemplate::General,
            title: format!("【{}】#{} 处理延误 / delay", level.heading(), request.id),
            body: format!("{}（{department}）：{reason}", request.summary),
            starts_at: None,
            ends_at: None,
            expires_at: ev.at + chrono::Duration::days(DELAY_NOTICE_DAYS),
            target: NoticeTarget::Units {
                units: vec![request.unit.clone()],
            },
            created_by: ev.actor.clone(),
            created_at: ev.at,
            deliveries: Vec::new(),
            recipients: Vec::new(),
        };
        super::notices::send(s, &notice, std::slice::from_ref(&request.unit)).await?;
    }
    Ok(())
}
