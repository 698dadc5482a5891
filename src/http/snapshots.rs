//! `/api/v1/meter-snapshots`: the monthly meter readings kept at the billing cut-off, as
//! JSON or as the CSV Finance takes (`?format=csv`).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use utoipa::{IntoParams, OpenApi, ToSchema};

use super::api::PageQuery;
use super::page::{ApiQuery, Page, Paged};
use super::{ApiError, AppState, ErrorBody};
use crate::billing::{Schedule, Snapshot, schedule, to_csv};

#[derive(OpenApi)]
#[openapi(paths(snapshots, periods, cutoff))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/meter-snapshots", get(snapshots))
        .route("/meter-snapshots/periods", get(periods))
        .route("/meter-snapshots/cutoff", get(cutoff))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SnapshotQuery {
    /// `YYYY-MM`.
    period: String,
    /// `csv` for the spreadsheet (always whole, not paged); JSON otherwise.
    format: Option<String>,
    /// Items per page, 1 to 10000 (default 1000); JSON only.
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0); JSON only.
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// The meter readings kept at a billing cut-off, by unit and point.
#[utoipa::path(get, path = "/meter-snapshots", tag = "billing", params(SnapshotQuery),
    responses(
        (status = 200, description = "One page of readings (JSON), or the whole period as CSV",
            content((Vec<Snapshot> = "application/json"), (String = "text/csv"))),
        (status = 422, description = "Bad `period` or paging parameter", body = ErrorBody),
    ))]
async fn snapshots(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<SnapshotQuery>,
) -> Result<Response, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    check_period(&q.period)?;
    let rows = s.store.snapshots(&q.period).await?;
    Ok(match q.format.as_deref() {
        Some("csv") => {
            let name = format!("attachment; filename=\"meter-readings-{}.csv\"", q.period);
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, name),
                ],
                to_csv(&rows),
            )
                .into_response()
        }
        _ => page.slice(rows).into_response(),
    })
}

/// The periods that have snapshots.
#[utoipa::path(get, path = "/meter-snapshots/periods", tag = "billing", params(PageQuery),
    responses(
        (status = 200, description = "One page of periods (`YYYY-MM`)", body = Vec<String>),
        (status = 422, description = "Bad paging parameter", body = ErrorBody),
    ))]
async fn periods(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Paged<Vec<String>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    Ok(page.slice(s.store.snapshot_periods().await?))
}

fn check_period(period: &str) -> Result<(), ApiError> {
    let valid = period.len() == 7
        && chrono::NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").is_ok();
    valid
        .then_some(())
        .ok_or_else(|| ApiError::invalid("period", "use YYYY-MM"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CutoffQuery {
    /// `YYYY-MM`; the current month in site time when absent.
    period: Option<String>,
}

/// A unit's meter that had no reading at the cut-off.
#[derive(Serialize, ToSchema)]
struct UnreadMeter {
    unit: Option<String>,
    device: String,
    point: String,
}

/// A period's cut-off and export deadline, and the unit meters it could not read.
#[derive(Serialize, ToSchema)]
struct CutoffView {
    period: String,
    #[serde(flatten)]
    schedule: Schedule,
    /// Whether the snapshot has been taken.
    taken: bool,
    /// Unit meters with no reading at the cut-off (flagged `no_reading` in the export).
    unread: Vec<UnreadMeter>,
}

/// The meter cut-off of a period (the end of the 20th, site time), the export window to
/// Finance (21st–23rd, rules.md §13.10), and the unit meters with no reading.
#[utoipa::path(get, path = "/meter-snapshots/cutoff", tag = "billing", params(CutoffQuery),
    responses(
        (status = 200, description = "The period's cut-off, export deadline and unread meters", body = CutoffView),
        (status = 422, description = "Bad `period`", body = ErrorBody),
    ))]
async fn cutoff(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<CutoffQuery>,
) -> Result<Json<CutoffView>, ApiError> {
    let tz = s.site.tz();
    let period = match q.period {
        Some(p) => p,
        None => s.clock.now().with_timezone(&tz).format("%Y-%m").to_string(),
    };
    check_period(&period)?;
    let b = &s.billing;
    let schedule = schedule(&period, tz, b.cutoff_day, b.export_days)
        .ok_or_else(|| ApiError::invalid("period", "use YYYY-MM"))?;
    let rows = s.store.snapshots(&period).await?;
    let unread = (rows.iter().filter(|r| r.no_reading))
        .map(|r| UnreadMeter {
            unit: r.unit.clone(),
            device: r.device.clone(),
            point: r.point.clone(),
        })
        .collect();
    Ok(Json(CutoffView {
        period,
        schedule,
        taken: !rows.is_empty(),
        unread,
    }))
}
