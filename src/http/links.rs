//! The link between a service request and an incident (rules.md §2, §3, §4): a repair or
//! complaint names the incident it came from, or opens one from the request; the request's
//! JSON carries `incident`, and `/api/v1/incidents/{id}/requests` lists an incident's
//! requests. The link is a change through the API, so the audit layer records it.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sitewatch_core::incidents::{IncidentId, RequestId, ServiceRequest};

use utoipa::{OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams};
use super::{ApiError, ApiJson, ApiPath, AppState, ErrorBody, Personal};
use crate::engine::{LinkTo, RequestCmd};

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
        (status = 409, description = "Already linked", body = ErrorBody),
        (status = 422, description = "Neither or both of `incident` and `open`, an unknown incident or category", body = ErrorBody),
    ))]
async fn link(
    State(s): State<AppState>,
    personal: Personal,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(b): ApiJson<LinkBody>,
) -> Result<Json<ServiceRequest>, ApiError> {
    super::require_actor(&b.actor)?;
    let to = match (b.incident, b.open) {
        (Some(incident), None) => LinkTo::Incident(incident),
        (None, Some(open)) if open.title.trim().is_empty() => {
            return Err(ApiError::invalid("title", "an incident needs a title"));
        }
        (None, Some(OpenBody { category, title })) => LinkTo::Open { category, title },
        _ => {
            return Err(ApiError::invalid(
                "incident",
                "give either `incident` (its number) or `open` (category and title)",
            ));
        }
    };
    let cmd = RequestCmd::Link {
        id,
        actor: b.actor,
        to,
    };
    let answer = s.engine.request(cmd).await?;
    Ok(Json(personal.apply(answer.request)))
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
    let requests = s
        .engine
        .incident_requests(id)
        .await
        .ok_or(ApiError::Unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("incident {id}")))?;
    Ok(Json(personal.apply(requests)))
}
