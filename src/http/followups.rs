//! `/api/v1/followups/due`: follow-up calls (回访) that are due: repairs and complaints
//! completed and not yet followed up (from the store), incidents resolved and not yet
//! followed up (from the engine's incident book), with their due times (rules.md §14:
//! one working day after a repair, two after a complaint).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sitewatch_core::incidents::{
    Incident, IncidentEventKind, IncidentState, RequestState, ServiceRequest, SlaKind,
    WorkingCalendar,
};

use super::{ApiError, AppState};
use crate::customers::chase::awaits_follow_up;
use crate::store::kind_name;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/followups/due", get(due))
}

/// A follow-up call waiting to be made.
#[derive(Debug, Serialize)]
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

async fn due(State(s): State<AppState>) -> Result<Json<Vec<FollowUpDue>>, ApiError> {
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
    list.sort_by_key(|f| f.due_at);
    Ok(Json(list))
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
