//! Customer-service requests: repairs (报修), complaints (投诉) and suggestions, with intake
//! channel, classification and deadlines (rules.md §3, §4, §13.16, §13.18, §14). The data
//! lives here, events and commands in [`super::service_event`], the state machine in
//! [`super::service_flow`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::DeskHours;
use super::incident::{ClockView, clock_views};
use super::service_event::RequestEvent;
use super::sla::{self, SlaClock, SlaKind, SlaRule};

/// A request's number, handed out by the [`super::RequestBook`].
pub type RequestId = i64;

/// How a request came in (rules.md §13.16, seed 004:31, 003:15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 电话报事.
    Phone,
    /// 亲临前台报事.
    WalkIn,
    /// The 24-hour hotline (热线电话).
    Hotline,
    /// The web form or email.
    Web,
}

/// What kind of request, with its classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestKind {
    /// A repair; emergency (急修: leak, power loss, blocked drain, lift stopped, §14) or not.
    Repair {
        /// Emergency repair.
        emergency: bool,
    },
    /// A complaint; important ones go to the manager at once (seed 000:159).
    Complaint {
        /// Important complaint.
        important: bool,
    },
    /// A suggestion (意见箱 or written).
    Suggestion,
}

impl RequestKind {
    /// The stable name of the kind (`repair`, `complaint`, `suggestion`), for the API and
    /// metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Repair { .. } => "repair",
            RequestKind::Complaint { .. } => "complaint",
            RequestKind::Suggestion => "suggestion",
        }
    }

    /// Repairs and complaints are worked, handed over, followed up and linked to
    /// incidents; suggestions are answered by the office.
    pub fn is_work(self) -> bool {
        !matches!(self, RequestKind::Suggestion)
    }
}

/// Where a request is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Taken in.
    Received,
    /// The owner was contacted or the complaint acknowledged.
    Acknowledged,
    /// Someone is working on it.
    InProgress,
    /// The work is done or the complaint resolved.
    Completed,
    /// The follow-up call (回访) is done.
    FollowedUp,
    /// Finished.
    Closed,
    /// Declined, with the reason given to the owner.
    Declined,
}

impl RequestState {
    /// The stable lower-case name used in the API, the store and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Received => "received",
            RequestState::Acknowledged => "acknowledged",
            RequestState::InProgress => "in_progress",
            RequestState::Completed => "completed",
            RequestState::FollowedUp => "followed_up",
            RequestState::Closed => "closed",
            RequestState::Declined => "declined",
        }
    }

    /// Whether the request still takes changes and its clocks still run.
    pub fn is_open(self) -> bool {
        !matches!(self, RequestState::Closed | RequestState::Declined)
    }
}

impl std::fmt::Display for RequestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Deadlines per kind of request: the `[service]` section of the site config, each list
/// shaped like an incident category's `clocks`. Defaults are rules.md §14 (Repairs,
/// Complaints) and §4.3 for suggestions; the follow-up (回访) rules are the entries
/// anchored at `resolved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Emergency repair clocks (rules.md §14 Repairs).
    pub emergency_repair: Vec<SlaRule>,
    /// Ordinary repair clocks (rules.md §14 Repairs).
    pub ordinary_repair: Vec<SlaRule>,
    /// Complaint clocks (rules.md §14 Complaints).
    pub complaint: Vec<SlaRule>,
    /// Suggestion clocks (rules.md §4.3, seed 001:837).
    pub suggestion: Vec<SlaRule>,
    /// When the desk is staffed, site time; clocks with `desk_hours = true` pause outside
    /// (rules.md §1.4: the park desk is unstaffed 22:00–08:30).
    pub desk_hours: DeskHours,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            emergency_repair: sla::emergency_repair_rules(),
            ordinary_repair: sla::ordinary_repair_rules(),
            complaint: sla::complaint_rules(),
            suggestion: sla::suggestion_rules(),
            desk_hours: DeskHours::default(),
        }
    }
}

impl ServiceConfig {
    /// What is wrong with the lists, one line each: a clock a request never meets, a clock
    /// twice in one list, or a span that is not positive.
    pub fn problems(&self) -> Vec<String> {
        let lists = [
            ("emergency_repair", &self.emergency_repair),
            ("ordinary_repair", &self.ordinary_repair),
            ("complaint", &self.complaint),
            ("suggestion", &self.suggestion),
        ];
        let mut problems: Vec<String> = self.desk_hours.problem().into_iter().collect();
        for (name, rules) in lists {
            for (i, rule) in rules.iter().enumerate() {
                let sla = rule.sla.as_str();
                if !REQUEST_CLOCKS.contains(&rule.sla) {
                    problems.push(format!("{name}: a request never meets `{sla}`"));
                }
                if rules[..i].iter().any(|r| r.sla == rule.sla) {
                    problems.push(format!("{name}: `{sla}` is given twice"));
                }
                if !rule.within.is_positive() {
                    problems.push(format!("{name}: `{sla}` must run for more than zero"));
                }
                if rule.desk_hours && rule.desk_span().is_none() {
                    problems.push(format!(
                        "{name}: `{sla}` counts desk hours in minutes or hours"
                    ));
                }
            }
        }
        problems
    }

    /// The rules for `kind`.
    pub fn rules_for(&self, kind: RequestKind) -> &[SlaRule] {
        match kind {
            RequestKind::Repair { emergency: true } => &self.emergency_repair,
            RequestKind::Repair { emergency: false } => &self.ordinary_repair,
            RequestKind::Complaint { .. } => &self.complaint,
            RequestKind::Suggestion => &self.suggestion,
        }
    }
}

/// The clocks a request's steps meet; the accident clocks belong to incidents.
const REQUEST_CLOCKS: [SlaKind; 6] = [
    SlaKind::Acknowledged,
    SlaKind::OnSite,
    SlaKind::MadeSafe,
    SlaKind::Replied,
    SlaKind::Resolved,
    SlaKind::FollowUp,
];

/// What the desk takes in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequest {
    /// Kind and classification.
    pub kind: RequestKind,
    /// Intake channel.
    pub channel: Channel,
    /// The unit it concerns.
    pub unit: String,
    /// The owner or tenant, if known.
    pub owner: Option<String>,
    /// What was asked.
    pub summary: String,
    /// Who took it in.
    pub received_by: String,
    /// Who works it, when the desk names someone.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// The unit's own customer-service person (贴心管家, seed 003:751) from the unit
    /// register: who works it when the desk names no one.
    #[serde(default)]
    pub unit_cs_person: Option<String>,
}

/// The technician's report back (工完场清 and report, seed 001:851).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompletionReport {
    /// Who did the work.
    pub technician: String,
    /// What was done, site left clean.
    pub report: String,
    /// When reported.
    pub at: DateTime<Utc>,
}

/// How a follow-up was made (上门回访或电话回访, seed 003:381).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpMethod {
    /// A home visit.
    Visit,
    /// A phone call.
    Phone,
}

/// The follow-up record (回访).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowUpRecord {
    /// Who called or visited.
    pub by: String,
    /// How.
    pub method: FollowUpMethod,
    /// What the owner said.
    pub outcome: String,
    /// Whether the owner was satisfied.
    pub satisfied: bool,
    /// When.
    pub at: DateTime<Utc>,
}

/// A chaser (催办) issued when a deadline passed; the department writes the reason for the
/// delay on it (rules.md §13.18, seed 002:441 as an analogue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Chaser {
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The deadline that passed.
    pub overdue: SlaKind,
    /// The reason for delay, once given.
    pub reason_for_delay: Option<String>,
    /// Who gave the reason.
    pub explained_by: Option<String>,
}

/// A repair, complaint or suggestion and everything recorded against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceRequest {
    /// Its number.
    #[schema(value_type = i64)]
    pub id: RequestId,
    /// Kind and classification.
    pub kind: RequestKind,
    /// Intake channel.
    pub channel: Channel,
    /// The unit.
    pub unit: String,
    /// The owner or tenant.
    pub owner: Option<String>,
    /// What was asked.
    pub summary: String,
    /// Where it is.
    pub state: RequestState,
    /// When it was taken in.
    pub received_at: DateTime<Utc>,
    /// Running and finished clocks.
    pub clocks: Vec<SlaClock>,
    /// Rules that start on completion.
    #[schema(value_type = Vec<Object>)]
    pub pending_clocks: Vec<SlaRule>,
    /// The technician sent, if any.
    pub technician: Option<String>,
    /// The reply given to the owner (a plan, or the answer to a suggestion).
    pub reply: Option<String>,
    /// The technician's completion report.
    pub completion: Option<CompletionReport>,
    /// The follow-up record.
    pub follow_up: Option<FollowUpRecord>,
    /// The rating (评定打分), 1 to 5.
    pub rating: Option<u8>,
    /// Why it was declined, as told to the owner.
    pub decline_reason: Option<String>,
    /// When an important complaint went to the manager.
    pub manager_flagged_at: Option<DateTime<Utc>>,
    /// Chasers issued for overdue deadlines.
    pub chasers: Vec<Chaser>,
    /// Every change, in order.
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<RequestEvent>,
    /// The incident it came from or opened, if any (linked through the API).
    #[serde(default)]
    pub incident: Option<super::IncidentId>,
    /// The customer-service person it belongs to: the one named at intake or by a later
    /// assignment, else the unit's own (贴心管家, seed 003:751).
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// Work passed to other departments (seed 001:741), in order; at most one open.
    #[serde(default)]
    pub work_orders: Vec<super::WorkOrder>,
    /// Photos and documents attached (the owner's photo of the leak, the repair done).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<super::Attachment>,
}

/// Read-only views of a request for the board and the close check.
impl ServiceRequest {
    /// Whether any deadline (a clock, or an open work order's) is past due at `now` (the
    /// board's overdue list).
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        let clocks = self.clocks.iter().any(|c| c.is_running() && now > c.due_at);
        let orders = (self.work_orders.iter()).any(|w| w.is_open() && now > w.due_at);
        self.state.is_open() && (clocks || orders)
    }

    /// The work order still waiting for its department's result, if any.
    pub fn open_work_order(&self) -> Option<&super::WorkOrder> {
        self.work_orders.iter().find(|w| w.is_open())
    }

    /// The clock of kind `sla`, if this request has one.
    pub fn clock(&self, sla: SlaKind) -> Option<&SlaClock> {
        self.clocks.iter().find(|c| c.sla == sla)
    }

    /// Every running clock with its time left, for the board.
    pub fn running_clocks(&self, now: DateTime<Utc>) -> Vec<ClockView> {
        clock_views(self.id, &self.clocks, now)
    }

    /// The records a close still needs (rules.md §13.16, seed 001:851, 001:853).
    pub fn missing_for_close(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        match self.kind {
            RequestKind::Repair { .. } => {
                if self.completion.is_none() {
                    missing.push("completion report");
                }
                if self.follow_up.is_none() {
                    missing.push("follow-up");
                }
                if self.rating.is_none() {
                    missing.push("rating");
                }
            }
            RequestKind::Complaint { .. } if self.follow_up.is_none() => missing.push("follow-up"),
            RequestKind::Suggestion if self.reply.is_none() => missing.push("reply"),
            _ => {}
        }
        missing
    }
}

/// Why a request command was refused. A refused command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The step is not allowed from the current state.
    #[error("cannot {action} a request that is {from}")]
    InvalidTransition {
        /// The current state.
        from: RequestState,
        /// What was asked.
        action: &'static str,
    },
    /// Closed or declined.
    #[error("request {id} is {state} and takes no more changes")]
    NotOpen {
        /// The request.
        id: RequestId,
        /// Closed or declined.
        state: RequestState,
    },
    /// A required text (reason, report, reply) was empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Closing before the closure records are in.
    #[error("cannot close yet: missing {}", missing.join(", "))]
    CannotClose {
        /// Each missing record.
        missing: Vec<&'static str>,
    },
    /// A rating outside 1 to 5.
    #[error("rating {0} is outside 1 to 5")]
    BadRating(u8),
    /// No chaser waits for a reason.
    #[error("no open chaser to explain")]
    NoOpenChaser,
    /// The step does not apply to this kind of request.
    #[error("{0} applies only to complaints")]
    NotAComplaint(&'static str),
    /// No request has this number.
    #[error("request {0} not found")]
    NotFound(RequestId),
    /// A suggestion named an incident.
    #[error("only repairs and complaints link to incidents")]
    NotLinkable,
    /// A work order is already with a department; one at a time.
    #[error("request {0} already has a work order open with {1}")]
    WorkOrderOpen(RequestId, String),
    /// A file outside the attachment limits (type, size), or with no id.
    #[error("attachment refused: {0}")]
    BadAttachment(String),
    /// No work order waits for a result.
    #[error("request {0} has no open work order")]
    NoWorkOrder(RequestId),
    /// A work order's deadline is not after the moment it is passed on.
    #[error("the work order's deadline must be in the future")]
    DueInPast,
    /// The request already names its incident; it is linked once.
    #[error("request {id} is already linked to incident {incident}")]
    AlreadyLinked {
        /// The request.
        id: RequestId,
        /// Its incident.
        incident: super::IncidentId,
    },
}
