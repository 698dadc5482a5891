//! The link between a service request and an incident (rules.md §2, §3, §4): a repair or
//! complaint names the incident it came from, or opens one from the request; the request's
//! JSON carries `incident`, and `/api/v1/incidents/{id}/requests` lists an incident's
//! requests. The link is a change through the API, so the audit layer records it.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sitewatch_core::incidents::{
    IncidentId, IncidentSource, NewIncident, RequestId, RequestKind, ServiceRequest,
};

use utoipa::{OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams};
use super::{ApiError, ApiJson, ApiPath, AppState, ErrorBody, Personal};
use crate::engine::Output;

#[derive(OpenApi)]
#[openapi(paths(link, requests))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/requests/{id}/incident", post(link))
        .route("/incidents/{id}/requests", get(requests))
}

/// Name an existing incident, or open one (category and title) from the request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    actor: String,
    incident: Option<IncidentId>,
    open: Option<OpenBody>,
}

/// An incident to open from the request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    category: String,
    title: String,
}

/// Links a request to the incident it came from, or opens one from it.
#[utoipa::path(post, path = "/requests/{id}/incident", tag = "requests", request_body = LinkBody,
    params(("id" = i64, Path, description = "Request number")),
    responses(
        (status = 200, description = "The request with its incident", body = ServiceRequest),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "Already linked, or changed meanwhile", body = ErrorBody),
        (status = 422, description = "Neither or both of `incident` and `open`, an unknown incident or category", body = ErrorBody),
    ))]
async fn link(
    State(s): State<AppState>,
    personal: Personal,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(b): ApiJson<LinkBody>,
) -> Result<Json<ServiceRequest>, ApiError> {
    super::require_actor(&b.actor)?;
    let mut stored = s
        .store
        .request(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("request {id}")))?;
    let request = &stored.request;
    if matches!(request.kind, RequestKind::Suggestion) {
        return Err(ApiError::invalid(
            "incident",
            "only repairs and complaints link to incidents",
        ));
    }
    if let Some(current) = request.incident {
        return Err(ApiError::Conflict(format!(
            "request {id} is already linked to incident {current}"
        )));
    }
    let incident = match (b.incident, b.open) {
        (Some(incident), None) => named(&s, incident).await?,
        (None, Some(open)) => open_from(&s, request, open, &b.actor).await?,
        _ => {
            return Err(ApiError::invalid(
                "incident",
                "give either `incident` (its number) or `open` (category and title)",
            ));
        }
    };
    stored.request.incident = Some(incident);
    let now = s.clock.now();
    if !s
        .store
        .save_request(&stored.request, stored.version, now)
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "request {id} was changed meanwhile; read it again and retry"
        )));
    }
    Ok(Json(personal.apply(stored.request)))
}

async fn existing(s: &AppState, incident: IncidentId) -> Result<IncidentId, ApiError> {
    s.engine
        .read(move |b, _| b.incidents.get(incident).map(|i| i.id))
        .await
        .ok_or(ApiError::Unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("incident {incident}")))
}

/// Opens an incident sourced from the request, at the request's unit.
async fn open_from(
    s: &AppState,
    request: &ServiceRequest,
    open: OpenBody,
    actor: &str,
) -> Result<IncidentId, ApiError> {
    if open.title.trim().is_empty() {
        return Err(ApiError::invalid("title", "an incident needs a title"));
    }
    let new = NewIncident {
        category: open.category,
        title: open.title,
        location: request.unit.clone(),
        reported_by: actor.to_owned(),
        occurred_at: None,
        source: IncidentSource::ServiceRequest(request.id),
    };
    s.engine
        .act(move |b, now| match b.incidents.open(new, now) {
            Ok((id, events)) => (Ok(id), events.into_iter().map(Output::incident).collect()),
            Err(e) => (Err(e), Vec::new()),
        })
        .await
        .ok_or(ApiError::Unavailable)?
        .map_err(|e| ApiError::invalid("category", e.to_string()))
}

/// The requests linked to an incident.
#[utoipa::path(get, path = "/incidents/{id}/requests", tag = "incidents",
    params(("id" = i64, Path, description = "Incident number")),
    responses(
        (status = 200, description = "The incident's requests", body = Vec<ServiceRequest>),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 422, description = "A query parameter (this list takes none)", body = ErrorBody),
    ))]
async fn requests(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
    personal: Personal,
    ApiPath(id): ApiPath<IncidentId>,
) -> Result<Json<Vec<ServiceRequest>>, ApiError> {
    existing(&s, id).await?;
    let rows = s.store.incident_requests(id).await?;
    let requests = rows.into_iter().map(|r| r.request).collect();
    Ok(Json(personal.apply::<Vec<_>>(requests)))
}

/// A request taken in with an incident: only a repair or complaint, of an incident that
/// exists.
pub(super) async fn check_intake(
    s: &AppState,
    kind: RequestKind,
    incident: Option<IncidentId>,
) -> Result<(), ApiError> {
    let Some(incident) = incident else {
        return Ok(());
    };
    if matches!(kind, RequestKind::Suggestion) {
        return Err(ApiError::invalid(
            "incident",
            "only repairs and complaints link to incidents",
        ));
    }
    named(s, incident).await.map(|_| ())
}

/// An incident named in a body: one that does not exist is a bad field, not a missing page.
async fn named(s: &AppState, incident: IncidentId) -> Result<IncidentId, ApiError> {
    existing(s, incident).await.map_err(|e| match e {
        ApiError::NotFound(what) => ApiError::invalid("incident", format!("{what} not found")),
        other => other,
    })
}
