//! `/api/v1/meter-snapshots`: the monthly meter readings kept at the billing cut-off, as
//! JSON or as the CSV Finance takes (`?format=csv`).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::billing::to_csv;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/meter-snapshots", get(snapshots))
        .route("/meter-snapshots/periods", get(periods))
}

#[derive(Deserialize)]
struct SnapshotQuery {
    /// `YYYY-MM`.
    period: String,
    /// `csv` for the spreadsheet; JSON otherwise.
    format: Option<String>,
}

async fn snapshots(
    State(s): State<AppState>,
    Query(q): Query<SnapshotQuery>,
) -> Result<Response, ApiError> {
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
        _ => Json(rows).into_response(),
    })
}

async fn periods(State(s): State<AppState>) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(s.store.snapshot_periods().await?))
}
