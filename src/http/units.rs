//! `/api/v1/units`: the unit register (业户档案) with owners, tenants and occupancy, its
//! CSV import (all or nothing), and occupancy changes with meter base readings, which the
//! engine learns at once (vacant units join the inspection schedule). `/api/v1/owners`
//! finds owners and tenants by name, phone or email, with the units they belong to.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::page::{ApiQuery, Page, Paged, Window};
use super::{Actor, ApiError, ApiJson, AppState, ErrorBody, Personal};
use crate::customers::{self, ImportError, vacancy};
use crate::register::{Contact, MeterBase, Occupancy, OccupancyChange, Role, Unit};
use crate::store::ImportSummary;

#[derive(OpenApi)]
#[openapi(paths(list, import, one, occupancy, cs_person, owners))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/units", get(list))
        .route("/units/import", post(import))
        .route("/units/{id}", get(one))
        .route("/units/{id}/occupancy", put(occupancy))
        .route("/units/{id}/cs-person", put(cs_person))
        .route("/owners", get(owners))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OwnerQuery {
    /// Part of a name, phone number or email address (any case).
    q: Option<String>,
    /// Only owners or only tenants.
    role: Option<Role>,
    /// Only this building.
    building: Option<String>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// An owner or tenant with the unit they belong to.
#[derive(Serialize, ToSchema)]
struct OwnerView {
    /// The unit id.
    unit: String,
    /// The unit's occupancy now.
    occupancy: Occupancy,
    #[serde(flatten)]
    contact: Contact,
}

/// Owners and tenants (业户档案), found by name, phone or email: who is calling, and
/// which unit is theirs.
#[utoipa::path(get, path = "/owners", tag = "units", params(OwnerQuery),
    responses(
        (status = 200, description = "One page of owners and tenants, by unit", body = Vec<OwnerView>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn owners(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<OwnerQuery>,
) -> Result<Paged<Vec<OwnerView>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let needle = q.q.as_deref().map(str::trim).unwrap_or("").to_lowercase();
    let units = s.store.units(q.building.as_deref(), None).await?;
    let found = units
        .into_iter()
        .flat_map(|u| {
            let (unit, occupancy) = (u.id, u.occupancy);
            u.contacts.into_iter().map(move |contact| OwnerView {
                unit: unit.clone(),
                occupancy,
                contact,
            })
        })
        .filter(|o| q.role.is_none_or(|r| o.contact.role == r))
        .filter(|o| needle.is_empty() || matches(&o.contact, &needle))
        .collect();
    Ok(page.slice(found))
}

fn matches(c: &Contact, needle: &str) -> bool {
    [Some(&c.name), c.phone.as_ref(), c.email.as_ref()]
        .into_iter()
        .flatten()
        .any(|field| field.to_lowercase().contains(needle))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only this building.
    building: Option<String>,
    /// Only units in this occupancy (their state).
    occupancy: Option<Occupancy>,
    /// Only units whose occupancy started at or after this time.
    from: Option<DateTime<Utc>>,
    /// Only units whose occupancy started before this time.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// The unit register with owners and tenants, by unit id.
#[utoipa::path(get, path = "/units", tag = "units", params(ListQuery),
    responses(
        (status = 200, description = "One page of units", body = Vec<Unit>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    personal: Personal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Paged<Vec<Unit>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let mut units = s.store.units(q.building.as_deref(), q.occupancy).await?;
    units.retain(|u| window.contains(Some(u.occupancy_since)));
    Ok(page.slice(personal.apply(units)))
}

/// A unit with its occupancy history.
#[derive(Serialize, ToSchema)]
struct UnitView {
    #[serde(flatten)]
    unit: Unit,
    history: Vec<OccupancyChange>,
}

/// One unit with its occupancy history.
#[utoipa::path(get, path = "/units/{id}", tag = "units",
    params(("id" = String, Path, description = "Unit id, `<building>-<unit>`")),
    responses(
        (status = 200, description = "The unit", body = UnitView),
        (status = 404, description = "No such unit", body = ErrorBody),
    ))]
async fn one(
    State(s): State<AppState>,
    personal: Personal,
    Path(id): Path<String>,
) -> Result<Json<UnitView>, ApiError> {
    let unit = s
        .store
        .unit(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("unit {id}")))?;
    let history = s.store.occupancy_history(&id).await?;
    Ok(Json(UnitView {
        unit: personal.apply(unit),
        history,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// Who imports, when sign-in is off.
    actor: Option<String>,
}

/// What an import changed.
#[derive(Serialize, ToSchema)]
struct ImportAnswer {
    #[serde(flatten)]
    summary: ImportSummary,
    /// Units that joined or left the vacant list.
    vacancy_changed: Vec<String>,
}

/// Body: the CSV text. Every row is checked first; one bad row and nothing is written.
#[utoipa::path(post, path = "/units/import", tag = "units", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The register as CSV"),
    responses(
        (status = 200, description = "What changed", body = ImportAnswer),
        (status = 422, description = "Rows are invalid (`invalid_rows`, with `problems`); nothing written", body = ErrorBody),
    ))]
async fn import(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    Actor(signed_in): Actor,
    body: axum::body::Bytes,
) -> Result<Json<ImportAnswer>, ApiError> {
    // Signed in: the user imports; open mode: the query's `actor`.
    let actor = signed_in.or(q.actor).unwrap_or_else(|| "import".to_owned());
    let summary = customers::import(&s.store, &body, &actor, s.clock.now())
        .await
        .map_err(|e| match e {
            ImportError::Rows(rows) => ApiError::InvalidRows(rows),
            ImportError::Store(e) => ApiError::Store(e),
        })?;
    let vacancy_changed = sync(&s).await?;
    Ok(Json(ImportAnswer {
        summary,
        vacancy_changed,
    }))
}

/// A change of occupancy with the meter bases.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OccupancyBody {
    occupancy: Occupancy,
    actor: String,
    /// Meter base readings at the move-in or move-out.
    #[serde(default)]
    meters: MeterBase,
}

/// Changes a unit's occupancy (move-in, move-out), with meter base readings.
#[utoipa::path(put, path = "/units/{id}/occupancy", tag = "units",
    params(("id" = String, Path, description = "Unit id")), request_body = OccupancyBody,
    responses(
        (status = 200, description = "The unit as it now stands", body = UnitView),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`actor`)", body = ErrorBody),
    ))]
async fn occupancy(
    State(s): State<AppState>,
    personal: Personal,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OccupancyBody>,
) -> Result<Json<UnitView>, ApiError> {
    super::require_actor(&b.actor)?;
    if s.store.unit(&id).await?.is_none() {
        return Err(ApiError::NotFound(format!("unit {id}")));
    }
    let change = OccupancyChange {
        unit: id.clone(),
        occupancy: b.occupancy,
        at: s.clock.now(),
        actor: b.actor,
        meters: b.meters,
    };
    if s.store.set_occupancy(&change).await? {
        sync(&s).await?;
    }
    one(State(s), personal, Path(id)).await
}

/// A unit's own customer-service person (贴心管家, seed 003:751).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CsPersonBody {
    /// The staff member; `null` leaves the unit with no one of its own.
    cs_person: Option<String>,
    actor: String,
}

/// Names (or clears) the unit's own customer-service person: requests from the unit go
/// to them unless the desk names someone else.
#[utoipa::path(put, path = "/units/{id}/cs-person", tag = "units",
    params(("id" = String, Path, description = "Unit id")), request_body = CsPersonBody,
    responses(
        (status = 200, description = "The unit as it now stands", body = UnitView),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
        (status = 422, description = "`actor` missing, or `cs_person` blank", body = ErrorBody),
    ))]
async fn cs_person(
    State(s): State<AppState>,
    personal: Personal,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CsPersonBody>,
) -> Result<Json<UnitView>, ApiError> {
    super::require_actor(&b.actor)?;
    let person = b.cs_person.as_deref().map(str::trim);
    if person.is_some_and(str::is_empty) {
        return Err(ApiError::invalid(
            "cs_person",
            "name the person, or send null",
        ));
    }
    if !s.store.set_cs_person(&id, person, s.clock.now()).await? {
        return Err(ApiError::NotFound(format!("unit {id}")));
    }
    one(State(s), personal, Path(id)).await
}

/// Tells the engine the vacant list as the store now has it.
async fn sync(s: &AppState) -> Result<Vec<String>, ApiError> {
    vacancy::sync(&s.engine, &s.store)
        .await
        .map_err(|e| match e {
            vacancy::SyncError::Store(e) => ApiError::Store(e),
            vacancy::SyncError::Engine(e) => ApiError::from(e),
        })
}
