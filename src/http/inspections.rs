//! `/api/v1/inspections` and `/api/v1/keys`: vacant units due for inspection, submitting an
//! inspection (judged by the engine, stored by the writer before the answer; each category
//! of failed items opens an incident),
//! and signing key sets out and back in (rules.md §13.22–23).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sitewatch_core::inspections::{DueUnit, Inspection, ItemResult, KeyLoan, MeterReadings};

use chrono::{DateTime, Utc};
use sitewatch_core::inspections::DueState;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody};
use crate::engine::{InspectionCmd, InspectionVerdict};

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
        .inspections_due()
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

/// Submits an inspection of a vacant unit; each category of failed items opens an incident.
#[utoipa::path(post, path = "/inspections", tag = "inspections", request_body = InspectionBody,
    responses(
        (status = 201, description = "Recorded and judged", body = InspectionVerdict),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 409, description = "Unit not vacant, or the inspection is already recorded", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`items`, `key_set`, `id`, `inspector`)", body = ErrorBody),
    ))]
async fn submit(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<InspectionBody>,
) -> Result<(StatusCode, Json<InspectionVerdict>), ApiError> {
    super::require_actor(&b.inspector)?;
    super::require_client_id(&b.id, "an inspection")?;
    let inspection = Inspection {
        id: b.id,
        unit: b.unit,
        inspector: b.inspector,
        key_set: b.key_set,
        items: b.items,
        meters: b.meters,
    };
    let verdict = s.engine.inspect(inspection).await?;
    Ok((StatusCode::CREATED, Json(verdict)))
}

/// Who takes the key set, and why.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignOutBody {
    holder: String,
    #[serde(default)]
    purpose: String,
    /// When it is due back; without it, `[inspections] key_out_alert_hours` after now.
    #[serde(default)]
    expected_back: Option<DateTime<Utc>>,
}

/// Signs a key set out.
#[utoipa::path(post, path = "/keys/{set}/sign-out", tag = "inspections",
    params(("set" = String, Path, description = "Key set id")), request_body = SignOutBody,
    responses(
        (status = 200, description = "The loan", body = KeyLoan),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such key set", body = ErrorBody),
        (status = 409, description = "Already out, or missing since the last inventory", body = ErrorBody),
        (status = 422, description = "`holder` missing, or `expected_back` not after now", body = ErrorBody),
    ))]
async fn sign_out(
    State(s): State<AppState>,
    ApiPath(set): ApiPath<String>,
    ApiJson(b): ApiJson<SignOutBody>,
) -> Result<Json<KeyLoan>, ApiError> {
    super::require_actor(&b.holder)?;
    let cmd = InspectionCmd::SignOut {
        set,
        holder: b.holder,
        purpose: b.purpose,
        expected_back: b.expected_back,
    };
    Ok(Json(s.engine.key_step(cmd).await?))
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
    let cmd = InspectionCmd::SignIn { set, by: b.by };
    Ok(Json(s.engine.key_step(cmd).await?))
}
