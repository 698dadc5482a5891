//! The insurance-claim file of an incident (rules.md §2.5, §13.6–7): the insurer call, the
//! consent to clear the scene, the emergency-repair override, the loss estimate and the
//! dossier checklist, with the guards that keep evidence until the insurer has seen it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IncidentError;
use super::attachments::AttachmentKind;
use super::calendar::WorkingCalendar;
use super::event::{IncidentAction, IncidentEventKind as Kind};
use super::incident::Incident;
use super::sla::SlaKind;
use super::workflow::Step;

/// An item of the claim dossier (rules.md §13.7, seed 004:147, 004:171).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimItem {
    /// 《出险通知书》, the claim notice.
    ClaimNotice,
    /// 《损失清单》/《受损标的清单》, the loss list.
    LossList,
    /// Technical appraisal of cause and extent.
    Appraisal,
    /// Repair and replacement quotes and invoices.
    QuotesAndInvoices,
    /// Site photos.
    Photos,
    /// Statements of the people involved (当事人口述记录).
    Statements,
    /// Asset-valuation proof.
    ValuationProof,
}

impl ClaimItem {
    /// Every item, in dossier order.
    pub const ALL: [ClaimItem; 7] = [
        ClaimItem::ClaimNotice,
        ClaimItem::LossList,
        ClaimItem::Appraisal,
        ClaimItem::QuotesAndInvoices,
        ClaimItem::Photos,
        ClaimItem::Statements,
        ClaimItem::ValuationProof,
    ];
}

/// The call to the insurer (rules.md §2.5 step 6, §13.4, seed 004:135, 004:139, 004:153):
/// when it was made and to whom, what was said, and when the incident was under control.
/// Every field is required when a call is recorded; a blank or missing one is refused
/// naming it. The fields default when read, so a call stored before they existed (with
/// `insurer_reference`) still loads, with the new ones blank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsurerCall {
    /// When the call was made (时间).
    #[serde(default)]
    pub called_at: Option<DateTime<Utc>>,
    /// When the incident was brought under control (一旦控制住, 004:135); with the insurer
    /// clock anchored at "handled" it starts the 12 h clock.
    #[serde(default)]
    pub under_control_at: Option<DateTime<Utc>>,
    /// The insurer called (承保单位, 004:153).
    #[serde(default)]
    pub insurer: String,
    /// The person spoken to (业务联系人).
    #[serde(default)]
    pub spoken_to: String,
    /// The insurer's case reference number (报案号).
    #[serde(
        default,
        alias = "insurer_reference",
        deserialize_with = "null_as_empty"
    )]
    pub reference: String,
    /// 出险标的之名称, the insured object.
    #[serde(default)]
    pub insured_object: String,
    /// 保单号码, the policy number.
    #[serde(default)]
    pub policy_number: String,
    /// 出险原因, the cause.
    #[serde(default)]
    pub cause: String,
    /// 地点, the place.
    #[serde(default)]
    pub place: String,
    /// 损失概况, an outline of the loss.
    #[serde(default)]
    pub loss_outline: String,
}

/// A text that older records may hold as `null`.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

impl InsurerCall {
    /// The first field that is blank or out of order, if any.
    pub(crate) fn check(&self) -> Result<(), IncidentError> {
        let texts = [
            ("insurer", &self.insurer),
            ("spoken_to", &self.spoken_to),
            ("reference", &self.reference),
            ("insured_object", &self.insured_object),
            ("policy_number", &self.policy_number),
            ("cause", &self.cause),
            ("place", &self.place),
            ("loss_outline", &self.loss_outline),
        ];
        if let Some((field, _)) = texts.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(IncidentError::BadCall {
                field,
                reason: "must not be empty",
            });
        }
        let (Some(called_at), Some(under_control_at)) = (self.called_at, self.under_control_at)
        else {
            let field = if self.called_at.is_none() {
                "called_at"
            } else {
                "under_control_at"
            };
            return Err(IncidentError::BadCall {
                field,
                reason: "is required",
            });
        };
        if under_control_at > called_at {
            return Err(IncidentError::BadCall {
                field: "under_control_at",
                reason: "must not be after the call",
            });
        }
        Ok(())
    }
}

/// A recorded step: when and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: String,
}

/// The claim record of one incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimFile {
    /// The insurer call, once made.
    pub insurer_call: Option<(Recorded, InsurerCall)>,
    /// The insurer's consent to clear the scene or dispose of salvage.
    pub insurer_consent: Option<Recorded>,
    /// The emergency-repair override (抢修), taken with before-repair photos.
    pub emergency_repair: Option<Recorded>,
    /// The loss estimate in fen, before repair.
    pub loss_estimate: Option<(Recorded, i64)>,
    /// When repair or replacement started.
    pub repair_started: Option<Recorded>,
    /// When the scene was cleared.
    pub scene_cleared: Option<Recorded>,
    /// Dossier items on file.
    pub items: Vec<(ClaimItem, Recorded)>,
}

impl ClaimFile {
    /// The dossier checklist: each item and whether it is on file.
    pub fn checklist(&self) -> Vec<(ClaimItem, bool)> {
        ClaimItem::ALL
            .iter()
            .map(|item| (*item, self.items.iter().any(|(i, _)| i == item)))
            .collect()
    }

    /// Whether every dossier item is on file.
    pub fn is_complete(&self) -> bool {
        self.checklist().iter().all(|(_, done)| *done)
    }
}

/// The evidence steps an insured accident must have on file before it is called dealt
/// with: the incident report and the insurer call, both due 12 h after occurrence
/// (rules.md §13.3–4, seed 004:157). An insurer call anchored at "handled" has no clock
/// until resolution, so it does not hold resolution back.
pub(crate) const BEFORE_RESOLVE: &[SlaKind] = &[SlaKind::IncidentReport, SlaKind::InsurerNotified];

/// The evidence steps an insured accident must have on file before it closes: the above,
/// the claim notice (§13.3, 004:157) and, for theft and robbery, the police report (§13.5,
/// 004:123). A closed incident's unmet evidence clocks keep counting and still breach.
pub(crate) const EVIDENCE: &[SlaKind] = &[
    SlaKind::IncidentReport,
    SlaKind::InsurerNotified,
    SlaKind::ClaimNotice,
    SlaKind::PoliceReport,
];

/// The evidence of an insured accident: which steps are still open, and the guard.
impl Incident {
    /// The steps of `steps` whose clocks still run; none for an incident that is not an
    /// insured accident.
    pub fn open_evidence(&self, steps: &[SlaKind]) -> Vec<SlaKind> {
        if !self.accident {
            return Vec::new();
        }
        self.clocks
            .iter()
            .filter(|c| steps.contains(&c.sla) && c.is_running())
            .map(|c| c.sla)
            .collect()
    }

    /// Refuses `action` while any of `steps` is open, unless a manager waived them.
    pub(crate) fn check_evidence(
        &self,
        steps: &[SlaKind],
        action: &'static str,
    ) -> Result<(), IncidentError> {
        let open = self.open_evidence(steps);
        if open.is_empty() || self.evidence_waiver.is_some() {
            return Ok(());
        }
        Err(IncidentError::EvidenceOpen { action, open })
    }
}

/// Whether `action` may still be recorded on a closed incident: the late evidence steps
/// whose clocks keep running after a waived close, and notes and files to go with them.
pub(crate) fn allowed_after_close(action: &IncidentAction) -> bool {
    use IncidentAction as A;
    matches!(
        action,
        A::FileIncidentReport
            | A::NotifyInsurer(_)
            | A::FileClaimItem { .. }
            | A::ReportToPolice
            | A::AddNote
            | A::Attach(_)
    )
}

/// The guards of the claim workflow, checked before the incident changes.
impl Incident {
    /// An emergency repair may go ahead of the surveyor only once the scene is photographed
    /// before repair (rules.md §13.6, seed 004:121).
    pub(crate) fn check_emergency_repair(&self) -> Result<(), IncidentError> {
        if self.attachment_count(AttachmentKind::BeforeRepairPhoto) == 0 {
            return Err(IncidentError::NoBeforeRepairPhoto);
        }
        Ok(())
    }

    /// The scene stays until it is photographed and the insurer consents, or an emergency
    /// repair (with its before-repair photos) overrides (rules.md §13.6, seed 004:119–121).
    pub(crate) fn check_clear_scene(&self) -> Result<(), IncidentError> {
        if self.attachment_count(AttachmentKind::ScenePhoto) == 0 {
            return Err(IncidentError::NoScenePhoto);
        }
        if self.claim.insurer_consent.is_some() {
            return Ok(());
        }
        if self.claim.emergency_repair.is_some() {
            // Re-checked here so a restored record without photos cannot slip through.
            return self.check_emergency_repair();
        }
        Err(IncidentError::NoConsentOrOverride)
    }

    /// Repair starts only after the loss is estimated (rules.md §13.7, seed 004:127), unless
    /// it is the emergency repair the manual lets go first (004:121).
    pub(crate) fn check_start_repair(&self) -> Result<(), IncidentError> {
        if self.claim.loss_estimate.is_some() || self.claim.emergency_repair.is_some() {
            return Ok(());
        }
        Err(IncidentError::NoLossEstimate)
    }
}

/// The claim steps of a command; guards run before anything changes.
impl Step<'_> {
    pub(super) fn file_claim_item(&mut self, item: ClaimItem) {
        let recorded = self.recorded();
        self.incident.claim.items.push((item, recorded));
        self.emit(Kind::ClaimItemFiled { item });
        if item == ClaimItem::ClaimNotice {
            self.meet(SlaKind::ClaimNotice);
        }
    }

    /// The insurance steps; guards run before anything changes.
    pub(super) fn claim_step(
        &mut self,
        action: IncidentAction,
        calendar: &WorkingCalendar,
    ) -> Result<(), IncidentError> {
        use IncidentAction as A;
        let recorded = self.recorded();
        let claim = &mut self.incident.claim;
        match action {
            A::FileIncidentReport => {
                self.emit(Kind::IncidentReportFiled);
                self.meet(SlaKind::IncidentReport);
            }
            A::NotifyInsurer(call) => {
                call.check()?;
                claim.insurer_call = Some((recorded, call.clone()));
                let under_control_at = call.under_control_at.unwrap_or(self.now);
                self.emit(Kind::InsurerNotified { call });
                self.start_from_under_control(under_control_at, calendar);
                self.meet(SlaKind::InsurerNotified);
            }
            A::ReportToPolice => {
                self.emit(Kind::PoliceReported);
                self.meet(SlaKind::PoliceReport);
            }
            A::RecordInsurerConsent => {
                claim.insurer_consent = Some(recorded);
                self.emit(Kind::InsurerConsented);
            }
            other => return self.guarded_claim_step(other),
        }
        Ok(())
    }

    /// With the insurer clock anchored at "handled" (rules.md §13.4, seed 004:171) and not
    /// started yet, the under-control time the call records starts it.
    fn start_from_under_control(
        &mut self,
        under_control_at: DateTime<Utc>,
        calendar: &WorkingCalendar,
    ) {
        let pending = &mut self.incident.pending_clocks;
        let Some(i) = pending
            .iter()
            .position(|r| r.sla == SlaKind::InsurerNotified)
        else {
            return;
        };
        let rule = pending.remove(i);
        self.start_clock(&rule, under_control_at, calendar);
    }

    /// A manager's reason to let an accident resolve and close with evidence open.
    pub(super) fn waive_evidence(&mut self, reason: String) -> Result<(), IncidentError> {
        if reason.trim().is_empty() {
            return Err(IncidentError::MissingReason);
        }
        if !self.incident.accident {
            return Err(IncidentError::InvalidTransition {
                from: self.incident.state,
                action: "waive the evidence of",
            });
        }
        let open = self.incident.open_evidence(EVIDENCE);
        self.incident.evidence_waiver = Some((self.recorded(), reason.clone()));
        // The reason goes on the timeline even when the caller gave no separate note.
        if self.note.is_empty() {
            self.note = reason.clone();
        }
        self.emit(Kind::EvidenceWaived { reason, open });
        Ok(())
    }

    fn guarded_claim_step(&mut self, action: IncidentAction) -> Result<(), IncidentError> {
        use IncidentAction as A;
        let recorded = self.recorded();
        match action {
            A::DeclareEmergencyRepair => {
                self.incident.check_emergency_repair()?;
                self.incident.claim.emergency_repair = Some(recorded);
                self.emit(Kind::EmergencyRepairDeclared);
            }
            A::EstimateLoss { amount_fen } => self.estimate_loss(amount_fen)?,
            A::StartRepair => {
                self.incident.check_start_repair()?;
                self.incident.claim.repair_started = Some(recorded);
                self.emit(Kind::RepairStarted);
            }
            A::ClearScene => {
                self.incident.check_clear_scene()?;
                self.incident.claim.scene_cleared = Some(recorded);
                self.emit(Kind::SceneCleared);
            }
            // Every other action is routed before this point.
            _ => {
                return Err(IncidentError::InvalidTransition {
                    from: self.incident.state,
                    action: "apply",
                });
            }
        }
        Ok(())
    }

    fn estimate_loss(&mut self, amount_fen: i64) -> Result<(), IncidentError> {
        if amount_fen < 0 {
            return Err(IncidentError::NegativeAmount(amount_fen));
        }
        if self.incident.claim.repair_started.is_some() {
            // The estimate is what the insurer approves repair against (004:127); one made
            // after the repair started is not that estimate.
            return Err(IncidentError::RepairAlreadyStarted);
        }
        self.incident.claim.loss_estimate = Some((self.recorded(), amount_fen));
        self.emit(Kind::LossEstimated { amount_fen });
        Ok(())
    }
}
