//! `/api/v1/meter-snapshots`: the monthly meter readings kept at the billing cut-off, as
//! JSON or as the CSV Finance takes (`?format=csv`).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use utoipa::{IntoParams, OpenApi};

use super::api::PageQuery;
use super::page::{ApiQuery, Page, Paged};
use super::{ApiError, AppState, ErrorBody};
use crate::billing::{Snapshot, to_csv};

#[derive(OpenApi)]
#[openapi(paths(snapshots, periods))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/meter-snapshots", get(snapshots))
        .route("/meter-snapshots/periods", get(periods))
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
    let valid = q.period.len() == 7
        && chrono::NaiveDate::parse_from_str(&format!("{}-01", q.period), "%Y-%m-%d").is_ok();
    if !valid {
        return Err(ApiError::invalid("period", "use YYYY-MM"));
    }
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
