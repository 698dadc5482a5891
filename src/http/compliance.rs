//! `/api/v1/compliance`: the compliance register (rules.md §13.24, §13.15): lifts, fire
//! systems, pressure vessels, water tanks, lightning protection and the annual fire drill,
//! each with its last inspection, next due date, certificate file and contractor. Added or
//! imported by CSV (all or nothing); recording an inspection moves the date on by the
//! item's interval. `/compliance/due` is the duty board's list (due within 30 days or
//! overdue); an overdue item raises its kind's alarm from the engine tick. Every change is
//! decided by the engine's compliance book and kept by the store writer with its journal
//! entry before the answer.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sitewatch_core::compliance::{ComplianceItem, ComplianceState, site_day};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams};
use super::{Actor, ApiError, ApiJson, ApiPath, AppState, ErrorBody};
use crate::customers::compliance::parse;
use crate::customers::import::text_of;
use crate::engine::ComplianceCmd;

#[derive(OpenApi)]
#[openapi(paths(list, put, import, done, due))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/compliance", get(list).post(put))
        .route("/compliance/import", post(import))
        .route("/compliance/due", get(due))
        .route("/compliance/{id}/done", post(done))
}

/// An item with where it stands today (site time).
#[derive(Serialize, ToSchema)]
struct ItemView {
    #[serde(flatten)]
    item: ComplianceItem,
    state: ComplianceState,
}

async fn views(s: &AppState) -> Result<Vec<ItemView>, ApiError> {
    let today = site_day(s.clock.now(), s.site.tz());
    Ok((s.store.compliance_items().await?.into_iter())
        .map(|item| ItemView {
            state: item.state(today),
            item,
        })
        .collect())
}

/// Every item of the register with its state today.
#[utoipa::path(get, path = "/compliance", tag = "compliance",
    responses(
        (status = 200, description = "The register", body = Vec<ItemView>),
        (status = 422, description = "A query parameter (this list takes none)", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<ItemView>>, ApiError> {
    Ok(Json(views(&s).await?))
}

/// Items due within 30 days or overdue, soonest first (the duty board's list).
#[utoipa::path(get, path = "/compliance/due", tag = "compliance",
    responses(
        (status = 200, description = "Due soon or overdue", body = Vec<ItemView>),
        (status = 422, description = "A query parameter (this list takes none)", body = ErrorBody),
    ))]
async fn due(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<ItemView>>, ApiError> {
    let mut due: Vec<ItemView> = (views(&s).await?.into_iter())
        .filter(|v| v.state != ComplianceState::Ok)
        .collect();
    due.sort_by_key(|v| v.item.next_due);
    Ok(Json(due))
}

/// An item added or changed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PutBody {
    #[serde(flatten)]
    item: ComplianceItem,
    actor: String,
}

/// Adds or replaces an item.
#[utoipa::path(post, path = "/compliance", tag = "compliance", request_body = PutBody,
    responses(
        (status = 200, description = "The item as stored", body = ItemView),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "A field is invalid (`id`, `interval_days`, `certificate`, `actor`)", body = ErrorBody),
    ))]
async fn put(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<PutBody>,
) -> Result<Json<ItemView>, ApiError> {
    check(&s, &b.item, &b.actor).await?;
    store(&s, vec![b.item.clone()], &b.actor).await?;
    let today = site_day(s.clock.now(), s.site.tz());
    Ok(Json(ItemView {
        state: b.item.state(today),
        item: b.item,
    }))
}

async fn check(s: &AppState, item: &ComplianceItem, actor: &str) -> Result<(), ApiError> {
    if item.id.trim().is_empty() {
        return Err(ApiError::invalid("id", "name the item"));
    }
    if item.interval_days == 0 {
        return Err(ApiError::invalid(
            "interval_days",
            "give the days between inspections",
        ));
    }
    if actor.trim().is_empty() {
        return Err(ApiError::invalid("actor", "say who changes the register"));
    }
    certificate(s, item.certificate).await
}

/// A certificate must be a file the upload API holds.
async fn certificate(s: &AppState, file: Option<i64>) -> Result<(), ApiError> {
    match file {
        Some(f) if !s.store.file_exists(&f.to_string()).await? => Err(ApiError::invalid(
            "certificate",
            format!("file {f} is not uploaded"),
        )),
        _ => Ok(()),
    }
}

/// Puts items through the engine's book; kept before the answer.
async fn store(s: &AppState, items: Vec<ComplianceItem>, by: &str) -> Result<(), ApiError> {
    let by = by.to_owned();
    s.engine
        .compliance(ComplianceCmd::Put { items, by })
        .await?;
    Ok(())
}

/// Who imports, when sign-in is off.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    actor: Option<String>,
}

/// What an import stored.
#[derive(Serialize, ToSchema)]
struct ComplianceImported {
    imported: usize,
}

/// Imports the register from CSV, all or nothing: columns `id, kind, name, interval_days,
/// contractor` and `last_inspected, next_due, certificate_file`.
#[utoipa::path(post, path = "/compliance/import", tag = "compliance", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The register as CSV"),
    responses(
        (status = 200, description = "Every row stored", body = ComplianceImported),
        (status = 422, description = "Bad rows, each with its line (nothing stored)", body = ErrorBody),
    ))]
async fn import(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    Actor(signed_in): Actor,
    body: axum::body::Bytes,
) -> Result<Json<ComplianceImported>, ApiError> {
    let actor = signed_in.or(q.actor).unwrap_or_else(|| "import".to_owned());
    let text = text_of(&body).map_err(|p| ApiError::InvalidRows(vec![p]))?;
    let items = parse(text).map_err(ApiError::InvalidRows)?;
    for item in &items {
        certificate(&s, item.certificate).await?;
    }
    let imported = items.len();
    store(&s, items, &actor).await?;
    Ok(Json(ComplianceImported { imported }))
}

/// An inspection done.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DoneBody {
    /// The site-local day it was done.
    on: NaiveDate,
    /// The new certificate file, if one came.
    #[serde(default)]
    certificate: Option<i64>,
    actor: String,
}

/// Records an inspection done: the next is due one interval later.
#[utoipa::path(post, path = "/compliance/{id}/done", tag = "compliance",
    params(("id" = String, Path, description = "Item id")), request_body = DoneBody,
    responses(
        (status = 200, description = "The item as it now stands", body = ItemView),
        (status = 404, description = "No such item", body = ErrorBody),
        (status = 422, description = "A field is invalid (`on`, `certificate`, `actor`)", body = ErrorBody),
    ))]
async fn done(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<DoneBody>,
) -> Result<Json<ItemView>, ApiError> {
    if b.actor.trim().is_empty() {
        return Err(ApiError::invalid("actor", "say who records the inspection"));
    }
    certificate(&s, b.certificate).await?;
    let cmd = ComplianceCmd::Done {
        id,
        on: b.on,
        certificate: b.certificate,
        by: b.actor,
    };
    let item = (s.engine.compliance(cmd).await?.pop()).ok_or(ApiError::Unavailable)?;
    let today = site_day(s.clock.now(), s.site.tz());
    Ok(Json(ItemView {
        state: item.state(today),
        item,
    }))
}
