//! `/api/v1/units`: the unit register (业户档案) with owners, tenants and occupancy, its
//! CSV import (all or nothing), and occupancy changes with meter base readings, which the
//! engine learns at once (vacant units join the inspection schedule).

use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{Actor, ApiError, ApiJson, AppState};
use crate::customers::{self, ImportError, MeterBase, Occupancy, OccupancyChange, Unit, vacancy};
use crate::store::ImportSummary;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/units", get(list))
        .route("/units/import", post(import))
        .route("/units/{id}", get(one))
        .route("/units/{id}/occupancy", put(occupancy))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    building: Option<String>,
    occupancy: Option<Occupancy>,
}

async fn list(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Unit>>, ApiError> {
    Ok(Json(
        s.store.units(q.building.as_deref(), q.occupancy).await?,
    ))
}

#[derive(Serialize)]
struct UnitView {
    #[serde(flatten)]
    unit: Unit,
    history: Vec<OccupancyChange>,
}

async fn one(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<UnitView>, ApiError> {
    let unit = s
        .store
        .unit(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("unit {id}")))?;
    let history = s.store.occupancy_history(&id).await?;
    Ok(Json(UnitView { unit, history }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    actor: Option<String>,
}

#[derive(Serialize)]
struct ImportAnswer {
    #[serde(flatten)]
    summary: ImportSummary,
    /// Units that joined or left the vacant list.
    vacancy_changed: Vec<String>,
}

/// Body: the CSV text. Every row is checked first; one bad row and nothing is written.
async fn import(
    State(s): State<AppState>,
    Query(q): Query<ImportQuery>,
    Actor(signed_in): Actor,
    body: String,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OccupancyBody {
    occupancy: Occupancy,
    actor: String,
    /// Meter base readings at the move-in or move-out.
    #[serde(default)]
    meters: MeterBase,
}

async fn occupancy(
    State(s): State<AppState>,
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
    one(State(s), Path(id)).await
}

/// Tells the engine the vacant list as the store now has it.
async fn sync(s: &AppState) -> Result<Vec<String>, ApiError> {
    vacancy::sync(&s.engine, &s.store)
        .await
        .map_err(|e| match e {
            vacancy::SyncError::Store(e) => ApiError::Store(e),
            vacancy::SyncError::Engine => ApiError::Unavailable,
        })
}
