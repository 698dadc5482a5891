//! Incident workflow and SLA clocks (issue 5), pure: functions take `now` and return the
//! events they produced. The [`IncidentBook`] owns the incidents of a site: it opens them
//! by hand or from alarms by policy, moves them reported → dispatched → on site → resolved
//! → followed up → closed (or cancelled), keeps the claim evidence rules of the park manual
//! (rules.md §13.6–7), and breaches each SLA clock exactly once. Customer-service requests
//! (报修 / 投诉 / suggestions) run their own small state machine in [`ServiceRequest`].
//!
//! Every default cites rules.md (and through it the seed manuals); where the manuals are
//! silent the value is a product default from rules.md §14 and says so.

mod attachments;
mod book;
mod calendar;
mod category;
mod claims;
mod event;
mod follow_ups;
mod handover;
mod handover_book;
mod households;
mod incident;
mod kpi;
mod policy;
mod requests;
mod service;
mod service_event;
mod service_flow;
mod sla;
mod work_orders;
mod workflow;

#[cfg(test)]
mod tests;

pub use attachments::{Attachment, AttachmentKind, AttachmentLimits, NewAttachment};
pub use book::{IncidentBook, IncidentConfigError, IncidentFigures, IncidentsConfig};
pub use calendar::{CalendarConfig, CalendarError, Desk, DeskHours, Pause, WorkingCalendar};
pub use category::{CategoryConfig, CategorySpec, Department, builtin};
pub use claims::{ClaimFile, ClaimItem, InsurerCall, Recorded};
pub use event::{IncidentAction, IncidentCommand, IncidentEvent, IncidentEventKind, SYSTEM_ACTOR};
pub use follow_ups::{FollowUpDue, follow_ups_due};
pub use handover::{Handover, HandoverEntry, HandoverError, HandoverItem, alarm_items};
pub use handover_book::{
    HandoverAction, HandoverBook, HandoverEvent, HandoverEventKind, HandoverId,
};
pub use households::Household;
pub use incident::{
    AlarmTrip, ClockView, Incident, IncidentId, IncidentSource, IncidentState, NewIncident,
};
pub use kpi::{Kpi, KpiTargets, service_kpis};
pub use policy::{AlarmDecision, AlarmPolicyConfig, AlarmPriority, AlarmSignal};
pub use requests::{CHASE_EVERY, FOLLOW_UP_RATE_WINDOW, RequestBook, ServiceFigures};
pub use service::{
    Channel, Chaser, CompletionReport, FollowUpMethod, FollowUpRecord, NewRequest, RequestId,
    RequestKind, RequestState, ServiceConfig, ServiceError, ServiceRequest,
};
pub use service_event::{RequestAction, RequestCommand, RequestEvent, RequestEventKind};
pub use service_flow::Clocks;
pub use sla::{
    SlaAnchor, SlaClock, SlaKind, SlaRule, SlaStatus, Span, accident_rules, complaint_rules,
    emergency_repair_rules, ordinary_repair_rules, suggestion_rules,
};
pub use work_orders::{WorkOrder, WorkResult};

/// Why the incident workflow refused a command. A refused command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    /// No incident has this id.
    #[error("incident {0} not found")]
    NotFound(IncidentId),
    /// The category is not in the catalogue.
    #[error("unknown incident category `{0}`")]
    UnknownCategory(String),
    /// Raising a fault to a category that is not an insured accident.
    #[error("`{0}` is not an accident category")]
    NotAnAccident(String),
    /// The step is not allowed from the current state.
    #[error("cannot {action} an incident that is {from}")]
    InvalidTransition {
        /// The current state.
        from: IncidentState,
        /// What was asked.
        action: &'static str,
    },
    /// The incident is closed or cancelled.
    #[error("incident {id} is {state} and takes no more changes")]
    NotOpen {
        /// The incident.
        id: IncidentId,
        /// Closed or cancelled.
        state: IncidentState,
    },
    /// A cancellation without a reason.
    #[error("a cancellation needs a reason")]
    MissingReason,
    /// Clearing the scene before it was photographed (rules.md §13.6).
    #[error("the scene cannot be cleared before a scene photo is attached")]
    NoScenePhoto,
    /// Clearing the scene without the insurer's consent or an emergency override (§13.6).
    #[error(
        "the scene cannot be cleared without the insurer's consent or an emergency-repair override"
    )]
    NoConsentOrOverride,
    /// An emergency-repair override without before-repair photos (§13.6, seed 004:121).
    #[error("an emergency-repair override needs a before-repair photo")]
    NoBeforeRepairPhoto,
    /// Repair before the loss was estimated (§13.7, seed 004:127).
    #[error("repair cannot start before the loss is estimated")]
    NoLossEstimate,
    /// A loss estimate after repair started.
    #[error("the loss must be estimated before repair starts, and repair has started")]
    RepairAlreadyStarted,
    /// A negative amount.
    #[error("amount {0} fen is negative")]
    NegativeAmount(i64),
    /// The unit is already linked.
    #[error("unit `{0}` is already linked to this incident")]
    HouseholdAlreadyLinked(String),
    /// The unit is not linked.
    #[error("unit `{0}` is not linked to this incident")]
    UnknownHousehold(String),
    /// Resolving or closing an insured accident with evidence steps open (rules.md
    /// §13.3–7) and no manager's waiver.
    #[error(
        "cannot {action} an accident while these evidence steps are open: {}; a manager may waive them with a reason",
        sla_names(.open)
    )]
    EvidenceOpen {
        /// What was asked.
        action: &'static str,
        /// The open steps.
        open: Vec<SlaKind>,
    },
    /// An insurer call with a blank or inconsistent field (rules.md §13.4).
    #[error("insurer call: `{field}` {reason}")]
    BadCall {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The file breaks the size or type limits.
    #[error("attachment refused: {0}")]
    AttachmentRefused(String),
}

fn sla_names(kinds: &[SlaKind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    names.join(", ")
}
