//! `/api/v1/followups/due`: follow-up calls (回访) that are due: repairs and complaints
//! completed and not yet followed up, incidents resolved and not yet followed up, with
//! their due times (rules.md §14: one working day after a repair, two after a complaint).
//! The rule is the core's (`follow_ups_due`), asked of the engine's books.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sitewatch_core::incidents::FollowUpDue;

use utoipa::{IntoParams, OpenApi};

use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, AppState, ErrorBody};

#[derive(OpenApi)]
#[openapi(paths(due))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/followups/due", get(due))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DueQuery {
    /// Only calls past due (`true`) or not yet due (`false`).
    overdue: Option<bool>,
    /// Only calls due at or after this time.
    from: Option<DateTime<Utc>>,
    /// Only calls due before this time.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// Follow-up calls waiting to be made, soonest due first.
#[utoipa::path(get, path = "/followups/due", tag = "requests", params(DueQuery),
    responses(
        (status = 200, description = "One page of calls due", body = Vec<FollowUpDue>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn due(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> Result<Paged<Vec<FollowUpDue>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let mut list = s
        .engine
        .follow_ups_due()
        .await
        .ok_or(ApiError::Unavailable)?;
    list.retain(|f| q.overdue.is_none_or(|o| f.overdue == o) && window.contains(Some(f.due_at)));
    Ok(page.slice(list))
}
