//! `/api/v1/keys`: the site's key register (rules.md §13.23, seed 003:555): every key set
//! (plant rooms, roof doors, fire exits, vacant units, others) with where it hangs, who
//! keeps it, and whether it is in, out, overdue or missing; lines put one at a time or
//! imported by CSV (all or nothing); the board's inventory, whose missing sets are kept;
//! `/keys/overdue` is the duty board's list of sets out past their return. Every change
//! goes through the engine's vacant book and is kept with its journal entry before the
//! answer. Signing out and in is `http::inspections`.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::inspections::{KeyInventory, KeyKind, KeyLoan, KeySetEntry};
use utoipa::{OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams};
use super::{ApiError, ApiJson, AppState, ErrorBody};
use crate::customers::import::text_of;
use crate::engine::Registers;

#[derive(OpenApi)]
#[openapi(paths(list, put, import, overdue, inventory, last_inventory))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/keys", get(list).post(put))
        .route("/keys/import", post(import))
        .route("/keys/overdue", get(overdue))
        .route("/keys/inventory", get(last_inventory).post(inventory))
}

/// Where a key set stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum KeyState {
    /// On the board.
    In,
    /// Signed out, not yet due back.
    Out,
    /// Signed out and past its return (on the duty board).
    Overdue,
    /// Not on the board at the last inventory, not found since.
    Missing,
}

/// A key set as the desk sees it.
#[derive(Serialize, ToSchema)]
struct KeyView {
    id: String,
    kind: KeyKind,
    label: String,
    location: String,
    keeper: String,
    unit: Option<String>,
    state: KeyState,
    /// The loan while out.
    loan: Option<KeyLoan>,
    /// When it is (or was) due back, while out.
    due_back: Option<DateTime<Utc>>,
    missing_since: Option<DateTime<Utc>>,
}

fn views(r: &Registers) -> Vec<KeyView> {
    (r.keys.sets())
        .map(|set| {
            let due_back = set.out.as_ref().map(|l| l.due_back(r.key_hours));
            let state = match (&set.out, due_back) {
                (Some(_), Some(due)) if r.now > due => KeyState::Overdue,
                (Some(_), _) => KeyState::Out,
                (None, _) if set.missing_since.is_some() => KeyState::Missing,
                (None, _) => KeyState::In,
            };
            KeyView {
                id: set.id.clone(),
                kind: set.kind,
                label: set.label.clone(),
                location: set.location.clone(),
                keeper: set.keeper.clone(),
                unit: set.unit.clone(),
                state,
                loan: set.out.clone(),
                due_back,
                missing_since: set.missing_since,
            }
        })
        .collect()
}

async fn registers(s: &AppState) -> Result<Box<Registers>, ApiError> {
    s.engine.registers().await.ok_or(ApiError::Unavailable)
}

/// Every key set, by id, with where it stands.
#[utoipa::path(get, path = "/keys", tag = "keys",
    responses(
        (status = 200, description = "The register", body = Vec<KeyView>),
        (status = 422, description = "A query parameter (this list takes none)", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    Ok(Json(views(&*registers(&s).await?)))
}

/// Key sets out past their return, longest overdue first, and those missing (the duty
/// board's list).
#[utoipa::path(get, path = "/keys/overdue", tag = "keys",
    responses(
        (status = 200, description = "Overdue and missing sets", body = Vec<KeyView>),
        (status = 422, description = "A query parameter (this list takes none)", body = ErrorBody),
    ))]
async fn overdue(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let mut list: Vec<KeyView> = (views(&*registers(&s).await?).into_iter())
        .filter(|v| matches!(v.state, KeyState::Overdue | KeyState::Missing))
        .collect();
    list.sort_by_key(|v| (v.state != KeyState::Overdue, v.due_back, v.missing_since));
    Ok(Json(list))
}

/// A register line added or changed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct KeySetBody {
    #[serde(flatten)]
    entry: KeySetEntry,
    actor: String,
}

/// Adds or changes a key set (a set that is out stays out).
#[utoipa::path(post, path = "/keys", tag = "keys", request_body = KeySetBody,
    responses(
        (status = 200, description = "The set's id", body = Vec<String>),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "A field is invalid (`id`, `label`, `unit`, `actor`)", body = ErrorBody),
    ))]
async fn put(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<KeySetBody>,
) -> Result<Json<Vec<String>>, ApiError> {
    let e = &b.entry;
    if e.id.trim().is_empty() {
        return Err(ApiError::invalid("id", "name the key set"));
    }
    if e.label.trim().is_empty() {
        return Err(ApiError::invalid("label", "say what the key opens"));
    }
    if e.kind == KeyKind::VacantUnit && e.unit.is_none() {
        return Err(ApiError::invalid(
            "unit",
            "a vacant unit's key names its unit",
        ));
    }
    super::require_actor(&b.actor)?;
    Ok(Json(s.engine.put_keys(vec![b.entry]).await?))
}

/// What an import stored.
#[derive(Serialize, ToSchema)]
struct KeysImported {
    imported: usize,
}

/// Imports key sets from CSV, all or nothing: columns `id, kind, label` and
/// `location, keeper, unit`.
#[utoipa::path(post, path = "/keys/import", tag = "keys",
    request_body(content = String, content_type = "text/csv", description = "The register as CSV"),
    responses(
        (status = 200, description = "Every row stored", body = KeysImported),
        (status = 422, description = "Bad rows, each with its line (nothing stored)", body = ErrorBody),
    ))]
async fn import(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
    body: axum::body::Bytes,
) -> Result<Json<KeysImported>, ApiError> {
    let text = text_of(&body).map_err(|p| ApiError::InvalidRows(vec![p]))?;
    let entries = crate::customers::keys::parse(text).map_err(ApiError::InvalidRows)?;
    let imported = s.engine.put_keys(entries).await?.len();
    Ok(Json(KeysImported { imported }))
}

/// The board as counted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InventoryBody {
    /// The ids of the sets found hanging.
    on_board: BTreeSet<String>,
    /// Who counted.
    by: String,
}

/// Records an inventory: sets neither on the board nor signed out are missing (kept on
/// the set until a later count finds them).
#[utoipa::path(post, path = "/keys/inventory", tag = "keys", request_body = InventoryBody,
    responses(
        (status = 200, description = "The inventory as kept", body = KeyInventory),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "A set id the register does not hold", body = ErrorBody),
        (status = 422, description = "`by` missing", body = ErrorBody),
    ))]
async fn inventory(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<InventoryBody>,
) -> Result<Json<KeyInventory>, ApiError> {
    super::require_actor(&b.by)?;
    Ok(Json(s.engine.key_inventory(b.on_board, b.by).await?))
}

/// The last inventory, if any.
#[utoipa::path(get, path = "/keys/inventory", tag = "keys",
    responses(
        (status = 200, description = "The last inventory, or null", body = Option<KeyInventory>),
        (status = 422, description = "A query parameter (this takes none)", body = ErrorBody),
    ))]
async fn last_inventory(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Option<KeyInventory>>, ApiError> {
    Ok(Json(registers(&s).await?.keys.last_inventory().cloned()))
}
