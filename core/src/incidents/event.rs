//! What the incident workflow says happened, and what callers ask it to do. Events are the
//! timeline (kept on the incident) and the output the engine hands to sinks and metrics.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::attachments::{AttachmentKind, NewAttachment};
use super::claims::{ClaimItem, InsurerCall};
use super::incident::{IncidentId, IncidentSource, IncidentState};
use super::sla::SlaKind;

/// The actor named on events the daemon produces by itself (ticks, the alarm policy).
pub const SYSTEM_ACTOR: &str = "system";

/// One entry in an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentEvent {
    /// The incident.
    pub incident: IncidentId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it ([`SYSTEM_ACTOR`] for the daemon).
    pub actor: String,
    /// Free text the actor gave.
    pub note: String,
    /// What happened.
    pub kind: IncidentEventKind,
}

/// What happened to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IncidentEventKind {
    /// Opened.
    Opened {
        /// Category key.
        category: String,
        /// What raised it.
        source: IncidentSource,
    },
    /// Moved from one state to another (cancellation included).
    StateChanged {
        /// Before.
        from: IncidentState,
        /// After.
        to: IncidentState,
    },
    /// A note without a change.
    NoteAdded,
    /// A clock started.
    SlaStarted {
        /// Which.
        sla: SlaKind,
        /// When it falls due.
        due_at: DateTime<Utc>,
    },
    /// A clock's step was recorded.
    SlaMet {
        /// Which.
        sla: SlaKind,
        /// Whether it was recorded after the due time.
        late: bool,
    },
    /// A clock passed its due time unmet; sent exactly once per clock.
    SlaBreached {
        /// Which.
        sla: SlaKind,
        /// When it fell due.
        due_at: DateTime<Utc>,
    },
    /// A file was attached.
    Attached {
        /// The store's id.
        attachment_id: String,
        /// What it shows.
        kind: AttachmentKind,
    },
    /// An alarm tripped (again) onto this incident.
    AlarmAttached {
        /// The alarm.
        alarm_id: String,
        /// When that trip was raised.
        raised_at: DateTime<Utc>,
    },
    /// Who was sent, by a dispatch that named the person.
    Dispatched {
        /// The person's log-in name.
        to: String,
    },
    /// An emergency repair was made safe.
    MadeSafe,
    /// The incident report went to the general office.
    IncidentReportFiled,
    /// The insurer was told.
    InsurerNotified {
        /// What was said on the call.
        call: InsurerCall,
    },
    /// The insurer consented to clearing the scene.
    InsurerConsented,
    /// The emergency-repair override was declared.
    EmergencyRepairDeclared,
    /// The loss was estimated before repair.
    LossEstimated {
        /// Estimate in fen (1/100 yuan).
        amount_fen: i64,
    },
    /// Repair or replacement started.
    RepairStarted,
    /// The scene was cleared or salvage disposed of.
    SceneCleared,
    /// An item of the claim dossier is on file.
    ClaimItemFiled {
        /// Which item.
        item: ClaimItem,
    },
    /// The police were told.
    PoliceReported,
    /// A manager let the incident resolve and close with evidence steps still open
    /// (rules.md §13.3–7); the reason is kept here and on the incident.
    EvidenceWaived {
        /// Why the steps may stay open.
        reason: String,
        /// The steps open when it was waived.
        open: Vec<SlaKind>,
    },
    /// A routine fault was raised to an insured accident (issue 22 item 2).
    RaisedToAccident {
        /// The fault's category.
        from: String,
        /// The accident category.
        to: String,
    },
    /// A household was linked.
    HouseholdLinked {
        /// Unit.
        unit: String,
    },
    /// A household was contacted.
    HouseholdContacted {
        /// Unit.
        unit: String,
    },
    /// A household's damaged item was listed.
    DamageListed {
        /// Unit.
        unit: String,
        /// The item.
        item: String,
    },
    /// A household's compensation was settled.
    CompensationRecorded {
        /// Unit.
        unit: String,
        /// The outcome.
        outcome: String,
    },
}

/// A request to change an incident: who, why, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentCommand {
    /// Who asks.
    pub actor: String,
    /// Free text kept on the timeline.
    pub note: String,
    /// What to do.
    pub action: IncidentAction,
}

impl IncidentCommand {
    /// `action` by `actor` with no note.
    pub fn new(actor: &str, action: IncidentAction) -> Self {
        Self {
            actor: actor.to_owned(),
            note: String::new(),
            action,
        }
    }

    /// The same command with `note`.
    pub fn with_note(mut self, note: &str) -> Self {
        self.note = note.to_owned();
        self
    }
}

/// What a command does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IncidentAction {
    /// Send someone: reported → dispatched; `to` names the person (the staff list's log-in
    /// name), kept on the timeline.
    Dispatch {
        /// Who was sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// Someone arrived: reported or dispatched → on site. Meets `on_site`.
    ArriveOnSite,
    /// The emergency is made safe. Meets `made_safe`.
    MakeSafe,
    /// Dealt with: dispatched or on site → resolved. Starts resolution-anchored clocks. An
    /// insured accident needs its incident report and insurer call first (rules.md §13.3–4).
    Resolve,
    /// Follow-up call made: resolved → followed up. Meets `follow_up`.
    FollowUp,
    /// Finish: followed up → closed. An insured accident needs every evidence step first
    /// (report, insurer call, claim notice, police for theft; rules.md §13.3–7).
    Close,
    /// A manager lets an accident resolve and close with evidence steps open; the reason
    /// is required and kept. The HTTP access table lets only the manager (admin) send it.
    WaiveEvidence {
        /// Why.
        reason: String,
    },
    /// Withdraw from any open state; the reason is required.
    Cancel {
        /// Why.
        reason: String,
    },
    /// A routine fault became an accident: it takes the accident category, its department
    /// and its clocks (the on-site clock counting from now, the others from occurrence).
    RaiseToAccident {
        /// An accident category's key.
        category: String,
    },
    /// A note only.
    AddNote,
    /// Attach a file the store already holds.
    Attach(NewAttachment),
    /// The incident report went to the general office. Meets `incident_report`.
    FileIncidentReport,
    /// The insurer was called. Meets `insurer_notified`.
    NotifyInsurer(InsurerCall),
    /// The insurer consented to clearing the scene.
    RecordInsurerConsent,
    /// Repair before the surveyor comes; needs a before-repair photo.
    DeclareEmergencyRepair,
    /// The loss estimate, before repair starts.
    EstimateLoss {
        /// Estimate in fen (1/100 yuan).
        amount_fen: i64,
    },
    /// Repair or replacement starts; needs a loss estimate or the emergency override.
    StartRepair,
    /// Clear the scene or dispose of salvage; guarded by the evidence rules.
    ClearScene,
    /// An item of the claim dossier is on file (出险通知书 meets `claim_notice`).
    FileClaimItem {
        /// Which item.
        item: ClaimItem,
    },
    /// The police were told. Meets `police_report`.
    ReportToPolice,
    /// Link an affected unit and its owner.
    LinkHousehold {
        /// Unit.
        unit: String,
        /// Owner or tenant name, if known.
        owner: Option<String>,
    },
    /// The household was contacted.
    ContactHousehold {
        /// Unit.
        unit: String,
    },
    /// List a damaged item of a household.
    ListDamage {
        /// Unit.
        unit: String,
        /// The item.
        item: String,
    },
    /// Record the compensation outcome for a household.
    RecordCompensation {
        /// Unit.
        unit: String,
        /// The outcome, e.g. "replacement issued" or "offset 800 yuan against fees".
        outcome: String,
    },
}
