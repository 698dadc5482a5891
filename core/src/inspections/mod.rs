//! Vacant-unit inspections (空置房, issue 6; rules.md §6, §13.22–23, §14): which vacant units
//! are due or overdue, the checklist with its meter check, the incidents a failed item
//! opens, and the key register. Pure: every function takes `now` and returns its decisions.

mod checklist;
mod keys;
mod units;

pub use checklist::{ChecklistItem, ItemResult, MeterCheck, MeterReadings, check_meter};
pub use keys::{KeyError, KeyInventory, KeyKind, KeyLoan, KeyRegister, KeySet, KeySetEntry};
pub use units::{
    DueState, DueUnit, Inspection, InspectionAction, InspectionEvent, InspectionOutcome,
    LastInspection, VacantBook, VacantState, VacantUnit,
};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::patrol::IncidentCategory;

/// The inspections section of the site config. The manuals give no interval or checklist
/// (§6: not in seeds); these are the product defaults of §14.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InspectionConfig {
    /// Days between inspections of a vacant unit (§14: 7).
    pub interval_days: u32,
    /// Days after the last inspection at which one is overdue (§14: 8).
    pub overdue_after_days: u32,
    /// A meter that moved by more than this since the last inspection fails (same units as
    /// the reading; 0 means any movement).
    pub meter_tolerance: f64,
    /// A key set signed out with no expected return is due back this long after it left
    /// (product choice: 8 h, a shift); past its return it is on the duty board.
    pub key_out_alert_hours: u32,
    /// A key set still out this long past its return raises the `keys` alarm (product
    /// choice: 2 h, time for the desk to chase it first).
    pub key_alarm_after_hours: u32,
    /// Overrides of the incident category each failed item opens.
    pub item_categories: BTreeMap<ChecklistItem, IncidentCategory>,
}

impl Default for InspectionConfig {
    fn default() -> Self {
        Self {
            interval_days: 7,
            overdue_after_days: 8,
            meter_tolerance: 0.0,
            key_out_alert_hours: 8,
            key_alarm_after_hours: 2,
            item_categories: BTreeMap::new(),
        }
    }
}

/// Why an inspection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectionError {
    /// The unit is not on the vacant list.
    #[error("unit `{0}` is not vacant")]
    NotVacant(String),
    /// Checklist items were not answered.
    #[error("checklist items not answered: {0:?}")]
    Incomplete(Vec<ChecklistItem>),
    /// The key set named is not in the register.
    #[error("unknown key set `{0}`")]
    UnknownKeySet(String),
    /// An inspection of this id is recorded already (a resend).
    #[error("inspection {0} is already recorded")]
    AlreadyRecorded(String),
    /// The config cannot be used.
    #[error("inspection config: {0}")]
    Config(String),
}

#[cfg(test)]
mod tests;
