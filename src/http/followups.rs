//! `/api/v1/followups/due`: follow-up calls (回访) that are due: repairs and complaints
//! completed and not yet followed up (from the store), incidents resolved and not yet
//! followed up (from the engine's incident book), with their due times (rules.md §14:
//! one working day after a repair, two after a complaint).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{
    Incident, IncidentEventKind, IncidentState, RequestState, ServiceRequest, SlaKind,
    WorkingCalendar,
};

use utoipa::{IntoParams, OpenApi, ToSchema};

use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, AppState, ErrorBody};
use crate::customers::chase::awaits_follow_up;
use crate::store::kind_name;

#[derive(OpenApi)]
#[openapi(paths(due))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/followups/due", get(due))
}

/// A follow-up call waiting to be made.
#[derive(Debug, Serialize, ToSchema)]
struct FollowUpDue {
    /// `request:<id>` or `incident:<id>`.
    reference: String,
    /// `repair`, `complaint` or the incident category.
    kind: String,
    /// Unit or location.
    location: String,
    /// One line.
    summary: String,
    /// When the work was completed or the incident resolved.
    completed_at: DateTime<Utc>,
    /// When the call is due.
    due_at: DateTime<Utc>,
    /// Past due.
    overdue: bool,
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
    let (mut list, calendar) = s
        .engine
        .read(|b, now| {
            let cal = b.incidents.calendar().clone();
            let list: Vec<FollowUpDue> = b
                .incidents
                .open_incidents()
                .into_iter()
                .filter(|i| i.state == IncidentState::Resolved)
                .filter_map(|i| incident_due(i, &cal, now))
                .collect();
            (list, cal)
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    let now = s.clock.now();
    for stored in s
        .store
        .requests(Some(RequestState::Completed), None)
        .await?
    {
        list.extend(request_due(&stored.request, &calendar, now));
    }
    list.retain(|f| q.overdue.is_none_or(|o| f.overdue == o) && window.contains(Some(f.due_at)));
    list.sort_by_key(|f| f.due_at);
    Ok(page.slice(list))
}

fn request_due(
    r: &ServiceRequest,
    cal: &WorkingCalendar,
    now: DateTime<Utc>,
) -> Option<FollowUpDue> {
    let completed_at = r.completion.as_ref()?.at;
    if !awaits_follow_up(r) {
        return None;
    }
    let due_at = r
        .clock(SlaKind::FollowUp)
        .map_or_else(|| cal.add_working_days(completed_at, 1), |c| c.due_at);
    Some(FollowUpDue {
        reference: format!("request:{}", r.id),
        kind: kind_name(r.kind).to_owned(),
        location: r.unit.clone(),
        summary: r.summary.clone(),
        completed_at,
        due_at,
        overdue: now > due_at,
    })
}

fn incident_due(i: &Incident, cal: &WorkingCalendar, now: DateTime<Utc>) -> Option<FollowUpDue> {
    let completed_at = i.timeline.iter().rev().find_map(|e| match &e.kind {
        IncidentEventKind::StateChanged {
            to: IncidentState::Resolved,
            ..
        } => Some(e.at),
        _ => None,
    })?;
    // §14: a follow-up within one working day when the category sets no clock of its own.
    let due_at = i
        .clock(SlaKind::FollowUp)
        .map_or_else(|| cal.add_working_days(completed_at, 1), |c| c.due_at);
    Some(FollowUpDue {
        reference: format!("incident:{}", i.id),
        kind: i.category.clone(),
        location: i.location.clone(),
        summary: i.title.clone(),
        completed_at,
        due_at,
        overdue: now > due_at,
    })
}
