//! `/api/v1/inspections` and `/api/v1/keys`: vacant units due for inspection, submitting an
//! inspection (stored before the answer; each category of failed items opens an incident),
//! and signing key sets out and back in (rules.md §13.22–23).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{IncidentId, IncidentSource, NewIncident};
use sitewatch_core::inspections::{
    ChecklistItem, DueUnit, Inspection, InspectionAction, InspectionError, InspectionEvent,
    ItemResult, KeyError, KeyLoan, MeterReadings,
};

use chrono::{DateTime, Utc};
use sitewatch_core::inspections::DueState;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody};
use crate::engine::{Books, Output, VacantChange, category_id};

#[derive(OpenApi)]
#[openapi(paths(due, submit, sign_out, sign_in))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/inspections/due", get(due))
        .route("/inspections", post(submit))
        .route("/keys/{set}/sign-out", post(sign_out))
        .route("/keys/{set}/sign-in", post(sign_in))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DueQuery {
    /// Only units in this state (`due` or `overdue`).
    state: Option<DueState>,
    /// Only units due at or after this time.
    from: Option<DateTime<Utc>>,
    /// Only units due before this time.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// Vacant units due (or overdue) for inspection.
#[utoipa::path(get, path = "/inspections/due", tag = "inspections", params(DueQuery),
    responses(
        (status = 200, description = "One page of units due", body = Vec<DueUnit>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn due(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> Result<Paged<Vec<DueUnit>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let mut due = s
        .engine
        .read(|b, now| b.vacant.due(now))
        .await
        .ok_or(ApiError::Unavailable)?;
    due.retain(|d| q.state.is_none_or(|st| d.state == st) && window.contains(Some(d.due_at)));
    Ok(page.slice(due))
}

/// An inspection as the inspector's phone sends it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InspectionBody {
    /// Client-made id, so a resend is recognised.
    id: String,
    unit: String,
    inspector: String,
    key_set: Option<String>,
    items: Vec<ItemResult>,
    #[serde(default)]
    meters: MeterReadings,
}

/// The inspection as judged.
#[derive(Serialize, ToSchema)]
struct InspectionAnswer {
    passed: bool,
    /// Incidents opened for failed items.
    #[schema(value_type = Vec<i64>)]
    incidents: Vec<IncidentId>,
    /// Checklist as judged (meter items corrected from the readings).
    items: Vec<ItemResult>,
}

/// Submits an inspection of a vacant unit; each category of failed items opens an incident.
#[utoipa::path(post, path = "/inspections", tag = "inspections", request_body = InspectionBody,
    responses(
        (status = 201, description = "Recorded and judged", body = InspectionAnswer),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 409, description = "Unit not vacant, or the inspection is already recorded", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`items`, `key_set`, `id`, `inspector`)", body = ErrorBody),
    ))]
async fn submit(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<InspectionBody>,
) -> Result<(StatusCode, Json<InspectionAnswer>), ApiError> {
    super::require_actor(&b.inspector)?;
    super::require_client_id(&b.id, "an inspection")?;
    let missing: Vec<ChecklistItem> = ChecklistItem::ALL
        .into_iter()
        .filter(|i| !b.items.iter().any(|r| r.item == *i))
        .collect();
    if !missing.is_empty() {
        return Err(inspection_error(InspectionError::Incomplete(missing)));
    }
    let inspection = Inspection {
        id: b.id,
        unit: b.unit,
        inspector: b.inspector,
        key_set: b.key_set,
        items: b.items,
        meters: b.meters,
    };
    precheck(&s, &inspection).await?;
    if !s
        .store
        .insert_inspection(&inspection, s.clock.now())
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "inspection {} is already recorded",
            inspection.id
        )));
    }
    let answer = s
        .engine
        .act(move |b, now| judge(b, inspection, now))
        .await
        .ok_or(ApiError::Unavailable)?
        .map_err(inspection_error)?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Refuses before storing what the book would refuse: a unit not vacant, an unknown key set.
async fn precheck(s: &AppState, i: &Inspection) -> Result<(), ApiError> {
    let (unit, set) = (i.unit.clone(), i.key_set.clone());
    let problem = s
        .engine
        .read(move |b, _| {
            if b.vacant.due_dates(&unit).is_none() {
                return Some(InspectionError::NotVacant(unit));
            }
            set.filter(|k| b.vacant.keys().get(k).is_none())
                .map(InspectionError::UnknownKeySet)
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    problem.map_or(Ok(()), |e| Err(inspection_error(e)))
}

type Judged = Result<InspectionAnswer, InspectionError>;

/// Submits to the book and opens an incident per category of failed items.
fn judge(
    b: &mut Books,
    inspection: Inspection,
    now: chrono::DateTime<chrono::Utc>,
) -> (Judged, Vec<Output>) {
    let (id, inspector) = (inspection.id.clone(), inspection.inspector.clone());
    let outcome = match b.vacant.submit(inspection, now) {
        Ok(o) => o,
        Err(e) => return (Err(e), Vec::new()),
    };
    let (mut passed, mut items) = (true, Vec::new());
    for ev in &outcome.events {
        if let InspectionEvent::InspectionRecorded {
            inspection,
            passed: p,
        } = ev
        {
            (passed, items) = (*p, inspection.items.clone());
        }
    }
    let mut out: Vec<Output> = outcome.events.into_iter().map(Output::Inspection).collect();
    let mut incidents = Vec::new();
    for InspectionAction::OpenIncident {
        category,
        unit,
        items,
        notes,
    } in outcome.actions
    {
        let names: Vec<String> = items.iter().map(|i| item_name(*i)).collect();
        let new = NewIncident {
            category: category_id(category).into(),
            title: format!(
                "空置房巡查不合格 {unit}: {} {}",
                names.join(", "),
                notes.join("; ")
            ),
            location: unit,
            reported_by: inspector.clone(),
            occurred_at: Some(now),
            source: IncidentSource::InspectionFinding(id.clone()),
        };
        match b.incidents.open(new, now) {
            Ok((iid, events)) => {
                incidents.push(iid);
                out.extend(events.into_iter().map(Output::incident));
            }
            Err(e) => tracing::warn!(error = %e, "inspection incident not opened"),
        }
    }
    (
        Ok(InspectionAnswer {
            passed,
            incidents,
            items,
        }),
        out,
    )
}

fn item_name(i: ChecklistItem) -> String {
    serde_json::to_value(i)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn inspection_error(e: InspectionError) -> ApiError {
    match e {
        InspectionError::NotVacant(_) => ApiError::Conflict(e.to_string()),
        InspectionError::Incomplete(_) => ApiError::invalid("items", e.to_string()),
        InspectionError::UnknownKeySet(_) => ApiError::invalid("key_set", e.to_string()),
        InspectionError::Config(_) => ApiError::Conflict(e.to_string()),
    }
}

/// Who takes the key set, and why.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignOutBody {
    holder: String,
    #[serde(default)]
    purpose: String,
}

/// Signs a key set out.
#[utoipa::path(post, path = "/keys/{set}/sign-out", tag = "inspections",
    params(("set" = String, Path, description = "Key set id")), request_body = SignOutBody,
    responses(
        (status = 200, description = "The loan", body = KeyLoan),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such key set", body = ErrorBody),
        (status = 409, description = "Already out", body = ErrorBody),
        (status = 422, description = "`holder` missing", body = ErrorBody),
    ))]
async fn sign_out(
    State(s): State<AppState>,
    ApiPath(set): ApiPath<String>,
    ApiJson(b): ApiJson<SignOutBody>,
) -> Result<Json<KeyLoan>, ApiError> {
    super::require_actor(&b.holder)?;
    let loan = key_step(&s, move |b2, now| {
        b2.vacant
            .keys_mut()
            .sign_out(&set, &b.holder, &b.purpose, now)
    })
    .await?;
    s.store.insert_key_out(&loan).await?;
    Ok(Json(loan))
}

/// Who takes the key set back.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    by: String,
}

/// Signs a key set back in.
#[utoipa::path(post, path = "/keys/{set}/sign-in", tag = "inspections",
    params(("set" = String, Path, description = "Key set id")), request_body = SignInBody,
    responses(
        (status = 200, description = "The completed loan", body = KeyLoan),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such key set", body = ErrorBody),
        (status = 409, description = "Not out", body = ErrorBody),
        (status = 422, description = "`by` missing", body = ErrorBody),
    ))]
async fn sign_in(
    State(s): State<AppState>,
    ApiPath(set): ApiPath<String>,
    ApiJson(b): ApiJson<SignInBody>,
) -> Result<Json<KeyLoan>, ApiError> {
    super::require_actor(&b.by)?;
    let loan = key_step(&s, move |b2, now| {
        b2.vacant.keys_mut().sign_in(&set, &b.by, now)
    })
    .await?;
    s.store.record_key_in(&loan).await?;
    Ok(Json(loan))
}

/// Runs a key-register step in the engine; the loan, or why not.
async fn key_step<F>(s: &AppState, f: F) -> Result<KeyLoan, ApiError>
where
    F: FnOnce(&mut Books, chrono::DateTime<chrono::Utc>) -> Result<KeyLoan, KeyError>
        + Send
        + 'static,
{
    let result = s
        .engine
        .act(move |b, now| match f(b, now) {
            Ok(loan) => {
                let out = vec![Output::vacant(VacantChange::Key { loan: loan.clone() })];
                (Ok(loan), out)
            }
            Err(e) => (Err(e), Vec::new()),
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    result.map_err(|e| match e {
        KeyError::UnknownSet(_) => ApiError::NotFound(e.to_string()),
        _ => ApiError::Conflict(e.to_string()),
    })
}
