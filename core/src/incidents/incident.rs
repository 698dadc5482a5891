//! The incident record: its state, clocks, timeline, attachments, claim file and affected
//! households. Changes go through [`super::workflow`]; this file holds the data and the
//! read-only views the board and the API use.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::attachments::{Attachment, AttachmentKind};
use super::category::Department;
use super::claims::{ClaimFile, Recorded};
use super::event::IncidentEvent;
use super::households::Household;
use super::sla::{SlaClock, SlaKind, SlaRule, SlaStatus};

/// An incident's number. The [`super::IncidentBook`] hands them out in order.
pub type IncidentId = i64;

/// Where an incident is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Raised, nobody sent yet.
    Reported,
    /// Someone is on the way.
    Dispatched,
    /// Someone is there.
    OnSite,
    /// Dealt with.
    Resolved,
    /// The follow-up call (回访) is done.
    FollowedUp,
    /// Finished; takes no more changes.
    Closed,
    /// Withdrawn with a reason; takes no more changes.
    Cancelled,
}

impl IncidentState {
    /// The stable lower-case name used in the API, the store and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Reported => "reported",
            IncidentState::Dispatched => "dispatched",
            IncidentState::OnSite => "on_site",
            IncidentState::Resolved => "resolved",
            IncidentState::FollowedUp => "followed_up",
            IncidentState::Closed => "closed",
            IncidentState::Cancelled => "cancelled",
        }
    }

    /// Whether the incident still takes changes and its clocks still run.
    pub fn is_open(self) -> bool {
        !matches!(self, IncidentState::Closed | IncidentState::Cancelled)
    }
}

impl fmt::Display for IncidentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What raised an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentSource {
    /// Opened by hand (a phone call, a walk-in, the duty desk).
    Manual,
    /// Opened by the alarm policy for this alarm id.
    Alarm(String),
    /// A patrol finding, by its id.
    PatrolFinding(String),
    /// An inspection finding, by its id.
    InspectionFinding(String),
    /// A customer-service request, by its id.
    ServiceRequest(i64),
}

/// What the caller knows when opening an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewIncident {
    /// A category key from the catalogue.
    pub category: String,
    /// A one-line summary.
    pub title: String,
    /// Where: building, floor, unit or plant room.
    pub location: String,
    /// Who reported it (a user, `system` for the alarm policy).
    pub reported_by: String,
    /// When it happened, if earlier than the report; defaults to the report time.
    pub occurred_at: Option<DateTime<Utc>>,
    /// What raised it.
    pub source: IncidentSource,
}

/// One tripping of an alarm attached to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlarmTrip {
    /// The alarm's id.
    pub alarm_id: String,
    /// When this trip was raised; identifies the trip.
    pub raised_at: DateTime<Utc>,
}

/// An incident and everything recorded against it. Nothing is ever removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Incident {
    /// Its number.
    #[schema(value_type = i64)]
    pub id: IncidentId,
    /// Category key.
    pub category: String,
    /// The answering department, copied from the category at opening.
    pub department: Department,
    /// Whether the claim workflow applies, copied from the category at opening.
    pub accident: bool,
    /// A one-line summary.
    pub title: String,
    /// Where.
    pub location: String,
    /// What raised it.
    pub source: IncidentSource,
    /// Where it is in its life.
    pub state: IncidentState,
    /// When it was reported.
    pub reported_at: DateTime<Utc>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Running and finished clocks.
    pub clocks: Vec<SlaClock>,
    /// Rules whose anchor has not come yet (they start on resolution).
    #[schema(value_type = Vec<Object>)]
    pub pending_clocks: Vec<SlaRule>,
    /// Every change, in order.
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<IncidentEvent>,
    /// Files the store keeps, referenced by id.
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<Attachment>,
    /// The insurance-claim record.
    #[schema(value_type = Object)]
    pub claim: ClaimFile,
    /// Households the incident affects.
    #[schema(value_type = Vec<Object>)]
    pub households: Vec<Household>,
    /// Alarm trips attached to it.
    pub alarm_trips: Vec<AlarmTrip>,
    /// Why it was cancelled, if it was.
    pub cancel_reason: Option<String>,
    /// The manager's waiver of open evidence steps, if any: who, when and why.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub evidence_waiver: Option<(Recorded, String)>,
}

/// A clock as the board shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClockView {
    /// The incident (or request) it belongs to.
    pub owner_id: i64,
    /// Which deadline.
    pub sla: SlaKind,
    /// When it falls due.
    pub due_at: DateTime<Utc>,
    /// Seconds left; negative when overdue.
    pub remaining_secs: i64,
    /// Traffic light.
    pub status: SlaStatus,
    /// When a desk-hours clock paused now (the desk closed) counts again; absent while it
    /// counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumes_at: Option<DateTime<Utc>>,
}

impl Incident {
    /// The clock of kind `sla`, if this incident has one.
    pub fn clock(&self, sla: SlaKind) -> Option<&SlaClock> {
        self.clocks.iter().find(|c| c.sla == sla)
    }

    /// How many attachments of `kind` are on file.
    pub fn attachment_count(&self, kind: AttachmentKind) -> usize {
        self.attachments.iter().filter(|a| a.kind == kind).count()
    }

    /// The household for `unit`, if linked.
    pub fn household(&self, unit: &str) -> Option<&Household> {
        self.households.iter().find(|h| h.unit == unit)
    }

    /// The alarm ids attached to this incident.
    pub fn alarm_ids(&self) -> impl Iterator<Item = &str> {
        self.alarm_trips.iter().map(|t| t.alarm_id.as_str())
    }

    /// Every running clock with its time left, for the board.
    pub fn running_clocks(&self, now: DateTime<Utc>) -> Vec<ClockView> {
        let clocks: Vec<SlaClock> = match self.state {
            IncidentState::Cancelled => Vec::new(),
            // A closed accident's unmet evidence clocks still count (rules.md §13.3–5).
            IncidentState::Closed => self
                .clocks
                .iter()
                .filter(|c| super::claims::EVIDENCE.contains(&c.sla))
                .cloned()
                .collect(),
            _ => self.clocks.clone(),
        };
        clock_views(self.id, &clocks, now)
    }
}

/// Board views of the running clocks in `clocks`.
pub(crate) fn clock_views(
    owner_id: i64,
    clocks: &[SlaClock],
    now: DateTime<Utc>,
) -> Vec<ClockView> {
    clocks
        .iter()
        .filter_map(|c| {
            c.remaining(now).map(|left| ClockView {
                owner_id,
                sla: c.sla,
                due_at: c.due_at,
                remaining_secs: left.num_seconds(),
                status: c.status(now),
                resumes_at: c.resumes_at(now),
            })
        })
        .collect()
}
