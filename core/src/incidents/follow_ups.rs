//! Follow-up calls (回访) waiting to be made: repairs and complaints completed and not yet
//! followed up, and incidents resolved and not yet followed up. One rule for both: the
//! call is due when the item's own follow-up clock says, else one working day after the
//! work was done (rules.md §14).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::book::IncidentBook;
use super::calendar::WorkingCalendar;
use super::event::IncidentEventKind;
use super::incident::{Incident, IncidentState};
use super::requests::RequestBook;
use super::service::ServiceRequest;
use super::sla::{SlaClock, SlaKind};

/// A follow-up call waiting to be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FollowUpDue {
    /// `request:<id>` or `incident:<id>`.
    pub reference: String,
    /// `repair`, `complaint` or the incident category.
    pub kind: String,
    /// Unit or location.
    pub location: String,
    /// One line.
    pub summary: String,
    /// When the work was completed or the incident resolved.
    pub completed_at: DateTime<Utc>,
    /// When the call is due.
    pub due_at: DateTime<Utc>,
    /// Past due.
    pub overdue: bool,
}

/// Every follow-up call waiting at `now`, soonest due first.
pub fn follow_ups_due(
    incidents: &IncidentBook,
    requests: &RequestBook,
    now: DateTime<Utc>,
) -> Vec<FollowUpDue> {
    let cal = incidents.calendar();
    let mut list: Vec<FollowUpDue> = incidents
        .open_incidents()
        .into_iter()
        .filter_map(|i| incident_due(i, cal, now))
        .chain(requests.all().filter_map(|r| request_due(r, cal, now)))
        .collect();
    list.sort_by_key(|f| f.due_at);
    list
}

/// When a call is due: the item's own follow-up clock, else one working day after the
/// work was done (§14, for categories and kinds that set no clock of their own).
fn follow_up_due_at(
    clock: Option<&SlaClock>,
    done_at: DateTime<Utc>,
    cal: &WorkingCalendar,
) -> DateTime<Utc> {
    clock.map_or_else(|| cal.add_working_days(done_at, 1), |c| c.due_at)
}

fn request_due(
    r: &ServiceRequest,
    cal: &WorkingCalendar,
    now: DateTime<Utc>,
) -> Option<FollowUpDue> {
    if !r.awaits_follow_up() {
        return None;
    }
    let completed_at = r.completion.as_ref()?.at;
    let due_at = follow_up_due_at(r.clock(SlaKind::FollowUp), completed_at, cal);
    Some(FollowUpDue {
        reference: format!("request:{}", r.id),
        kind: r.kind.as_str().to_owned(),
        location: r.unit.clone(),
        summary: r.summary.clone(),
        completed_at,
        due_at,
        overdue: now > due_at,
    })
}

fn incident_due(i: &Incident, cal: &WorkingCalendar, now: DateTime<Utc>) -> Option<FollowUpDue> {
    if i.state != IncidentState::Resolved {
        return None;
    }
    let completed_at = i.timeline.iter().rev().find_map(|e| match &e.kind {
        IncidentEventKind::StateChanged {
            to: IncidentState::Resolved,
            ..
        } => Some(e.at),
        _ => None,
    })?;
    let due_at = follow_up_due_at(i.clock(SlaKind::FollowUp), completed_at, cal);
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
