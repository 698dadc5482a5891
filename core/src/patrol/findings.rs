//! Findings a guard records at a checkpoint (rules.md §5.5, §13.21), and the follow-up
//! each type leads to: open an incident, notify security at once, or only log it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Incident categories that patrols and inspections open. Names follow the manuals'
/// categories (rules.md §2.2, §13.1); the incidents module maps them onto its own list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentCategory {
    /// Water ingress or flooding (水浸).
    WaterIngress,
    /// Fire or a fire hazard (火灾).
    Fire,
    /// Machine or equipment damage (机器设备损坏).
    EquipmentDamage,
    /// Loss of or damage to an owner's property (客户财产).
    CustomerProperty,
    /// Theft or robbery (盗窃/抢劫).
    TheftRobbery,
    /// Car-park facility or vehicle damage.
    VehicleDamage,
    /// Public property or third-party liability.
    PublicProperty,
    /// Violations: illegal structure, object thrown from height, common-area occupation,
    /// illegal renovation (违章/违规事件).
    Violation,
    /// A routine fault (故障): a work order to Engineering with the repair deadlines of
    /// rules.md §14, not an insured accident; an engineer raises it to one if it becomes one.
    Fault,
}

/// What a guard found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingType {
    /// A unit or door left unlocked (001:843).
    UnlockedDoor,
    /// A suspicious person (000:251).
    SuspiciousPerson,
    /// Illegal structure (乱搭建, 004:35).
    IllegalStructure,
    /// Object thrown from height (高空抛物, 004:35).
    ThrownObject,
    /// Occupation of common parts (占用公用部位, 004:35).
    CommonAreaOccupation,
    /// Cleaning or greening problem (000:223).
    CleaningGreening,
    /// Vehicle problem: scrape, lights or door left, blocking (003:543).
    Vehicle,
    /// Renovation works breaking the rules (000:115).
    RenovationBreach,
    /// Equipment fault seen on the round.
    EquipmentFault,
}

/// The follow-up a finding leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum FindingAction {
    /// Open an incident of this category.
    OpenIncident {
        /// The incident category.
        category: IncidentCategory,
    },
    /// Tell security at once (000:251: report to security immediately).
    NotifySecurity,
    /// Only the management log (000:231) and the daily report.
    LogOnly,
}

impl FindingType {
    /// The default follow-up: the manuals' word where they give one (§5.5), else the
    /// product's choice.
    pub fn default_action(self) -> FindingAction {
        use FindingType::*;
        let open = |category| FindingAction::OpenIncident { category };
        match self {
            SuspiciousPerson => FindingAction::NotifySecurity,
            // Violations are "handled" (004:35): an incident tracks that to the end.
            IllegalStructure | ThrownObject | CommonAreaOccupation | RenovationBreach => {
                open(IncidentCategory::Violation)
            }
            // A fault seen on the round is a work order, not an accident (issue 22 item 2).
            EquipmentFault => open(IncidentCategory::Fault),
            // Remind the tenant (001:843) or owner (003:543), report cleaning to the CS
            // officer (000:223): a log entry the report carries, not an incident.
            UnlockedDoor | Vehicle | CleaningGreening => FindingAction::LogOnly,
        }
    }

    /// The follow-up after the site's overrides.
    pub fn action(self, overrides: &BTreeMap<FindingType, FindingAction>) -> FindingAction {
        overrides
            .get(&self)
            .copied()
            .unwrap_or_else(|| self.default_action())
    }
}

/// A finding as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id, given by the caller.
    pub id: String,
    /// What was found.
    pub kind: FindingType,
    /// The guard's description.
    pub text: String,
    /// Attached photo, if any.
    pub photo: Option<String>,
    /// Guard who recorded it.
    pub guard: String,
    /// Checkpoint where it was found, if at one.
    pub checkpoint: Option<String>,
    /// Tour during which it was found, if any.
    pub tour: Option<String>,
    /// When it was found.
    pub at: DateTime<Utc>,
}
