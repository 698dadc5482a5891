//! What a service request says happened, and what callers ask it to do.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::attachments::{AttachmentKind, NewAttachment};
use super::service::{Channel, FollowUpMethod, RequestId, RequestKind, RequestState};
use super::sla::SlaKind;

/// One entry in a request's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEvent {
    /// The request.
    pub request: RequestId,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`system` for ticks).
    pub actor: String,
    /// Free text.
    pub note: String,
    /// What happened.
    pub kind: RequestEventKind,
}

/// What happened to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestEventKind {
    /// Taken in.
    Received {
        /// Kind.
        kind: RequestKind,
        /// Channel.
        channel: Channel,
    },
    /// Moved between states.
    StateChanged {
        /// Before.
        from: RequestState,
        /// After.
        to: RequestState,
    },
    /// An important complaint went to the manager.
    ManagerFlagged,
    /// A clock started.
    SlaStarted {
        /// Which.
        sla: SlaKind,
        /// Due.
        due_at: DateTime<Utc>,
    },
    /// A clock's step was recorded.
    SlaMet {
        /// Which.
        sla: SlaKind,
        /// After the due time.
        late: bool,
    },
    /// A clock passed its due time unmet; once per clock.
    SlaBreached {
        /// Which.
        sla: SlaKind,
        /// Due.
        due_at: DateTime<Utc>,
    },
    /// A milestone without a state change (on site, made safe, replied, rated, visit agreed).
    Milestone {
        /// Which step, e.g. `on_site`, `replied`, `rated`.
        step: String,
    },
    /// A chaser was issued.
    ChaserIssued {
        /// The deadline that passed.
        overdue: SlaKind,
    },
    /// The reason for a delay was written on the open chaser.
    DelayExplained {
        /// The reason.
        reason: String,
    },
    /// Passed to another department as a work order (seed 001:741).
    PassedOn {
        /// The department.
        department: String,
        /// When it must be done by.
        due_at: DateTime<Utc>,
    },
    /// The department's result written on the work order.
    WorkOrderDone {
        /// The department.
        department: String,
        /// The result.
        result: String,
    },
    /// The work order will miss its deadline: the owner is told why through the notice
    /// channels (the caller issues the notice to the request's unit).
    OwnerToldOfDelay {
        /// The department.
        department: String,
        /// Why, as the owner is told.
        reason: String,
    },
    /// The work order's deadline passed with no result; once.
    WorkOrderOverdue {
        /// The department.
        department: String,
        /// Its deadline.
        due_at: DateTime<Utc>,
    },
    /// Given to a customer-service person: the unit's own at intake, or another later.
    Assigned {
        /// Who.
        to: String,
    },
    /// A file was attached.
    Attached {
        /// The store's id.
        attachment_id: String,
        /// What it shows.
        kind: AttachmentKind,
    },
    /// Linked to the incident it came from or opened (rules.md §2, §3, §4).
    IncidentLinked {
        /// The incident.
        incident: super::IncidentId,
    },
}

/// A request to change a service request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCommand {
    /// Who asks.
    pub actor: String,
    /// Free text kept on the timeline.
    pub note: String,
    /// What to do.
    pub action: RequestAction,
}

impl RequestCommand {
    /// `action` by `actor` with no note.
    pub fn new(actor: &str, action: RequestAction) -> Self {
        Self {
            actor: actor.to_owned(),
            note: String::new(),
            action,
        }
    }
}

/// What a request command does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestAction {
    /// Owner contacted / complaint acknowledged: received → acknowledged.
    Acknowledge,
    /// Send a technician or pass to a department: → in progress.
    Dispatch {
        /// Who.
        technician: String,
    },
    /// The technician arrived. Meets `on_site`.
    ArriveOnSite,
    /// An emergency repair made safe. Meets `made_safe`.
    MakeSafe,
    /// A reply to the owner (a complaint's plan, a suggestion's answer). Meets `replied`.
    Reply {
        /// The reply.
        text: String,
    },
    /// A visit time agreed with the owner; it replaces the on-site due time.
    AgreeVisit {
        /// The agreed time.
        at: DateTime<Utc>,
    },
    /// The work is done: the technician's report (required for a repair).
    Complete {
        /// The report.
        report: String,
    },
    /// The follow-up call or visit.
    FollowUp {
        /// How.
        method: FollowUpMethod,
        /// What the owner said.
        outcome: String,
        /// Whether satisfied.
        satisfied: bool,
    },
    /// The rating, 1 to 5.
    Rate {
        /// Score.
        score: u8,
    },
    /// Finish; a repair needs report, follow-up and rating first.
    Close,
    /// Decline, keeping the reason given to the owner.
    Decline {
        /// The reason.
        reason: String,
    },
    /// Write the reason for delay on the open chaser.
    ExplainDelay {
        /// The reason.
        reason: String,
    },
    /// Mark a complaint important and send it to the manager.
    FlagImportant,
    /// Pass the request to another department as a work order with a deadline:
    /// received or acknowledged → in progress.
    PassOn {
        /// The department.
        department: String,
        /// What it is asked to do.
        task: String,
        /// When it must be done by.
        due_at: DateTime<Utc>,
    },
    /// Write the department's result on the open work order.
    WorkOrderResult {
        /// The result.
        text: String,
    },
    /// The open work order will miss its deadline: tell the owner why.
    WarnOwnerOfDelay {
        /// Why, in words for the owner.
        reason: String,
    },
    /// Give the request to another customer-service person.
    Assign {
        /// Who.
        to: String,
    },
    /// Attach a photo or document already kept by the store (`/api/v1/files`).
    Attach(NewAttachment),
}
