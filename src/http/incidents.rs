//! `/api/v1/incidents`: open incidents, one incident with its timeline, the SLA board,
//! opening one by hand (repair request, complaint, emergency report) and every workflow
//! step (dispatch, on site, resolve, follow-up, close, cancel, claim steps, households).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{
    ClockView, Incident, IncidentCommand, IncidentError, IncidentEvent, IncidentId, NewIncident,
};

use super::{ApiError, ApiJson, AppState};
use crate::engine::Output;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list).post(open))
        .route("/incidents/board", get(board))
        .route("/incidents/{id}", get(one))
        .route("/incidents/{id}/commands", post(command))
}

#[derive(Deserialize)]
struct ListQuery {
    category: Option<String>,
}

async fn list(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Incident>>, ApiError> {
    let list = s
        .engine
        .read(move |b, _| {
            b.incidents
                .open_incidents()
                .into_iter()
                .filter(|i| q.category.as_ref().is_none_or(|c| &i.category == c))
                .cloned()
                .collect()
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(list))
}

/// One incident as its page shows it: the record (timeline, attachments, households,
/// alarm trips) and its running clocks as the board shows them, so the page's traffic
/// lights match the board's.
#[derive(Serialize)]
struct IncidentView {
    #[serde(flatten)]
    incident: Incident,
    board: Vec<ClockView>,
}

async fn one(
    State(s): State<AppState>,
    Path(id): Path<IncidentId>,
) -> Result<Json<IncidentView>, ApiError> {
    s.engine
        .read(move |b, now| {
            b.incidents.get(id).map(|i| IncidentView {
                board: i.running_clocks(now),
                incident: i.clone(),
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

async fn board(State(s): State<AppState>) -> Result<Json<Vec<ClockView>>, ApiError> {
    let clocks = s
        .engine
        .read(|b, now| b.incidents.board(now))
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(clocks))
}

async fn open(
    State(s): State<AppState>,
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
    Ok((StatusCode::CREATED, Json(incident)))
}

async fn command(
    State(s): State<AppState>,
    Path(id): Path<IncidentId>,
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
    events.into_iter().map(Output::Incident).collect()
}

fn incident_error(e: IncidentError) -> ApiError {
    match e {
        IncidentError::NotFound(_) => ApiError::NotFound(e.to_string()),
        IncidentError::UnknownCategory(_) => ApiError::invalid("category", e.to_string()),
        IncidentError::MissingReason => ApiError::invalid("reason", e.to_string()),
        _ => ApiError::Conflict(e.to_string()),
    }
}
