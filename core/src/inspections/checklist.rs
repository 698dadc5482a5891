//! The vacant-unit checklist (rules.md §14 product default; candidate items from the
//! takeover acceptance standard, §6) and what a failed item leads to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::patrol::IncidentCategory;

/// One item of the checklist.
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
pub enum ChecklistItem {
    /// Doors and windows locked.
    DoorsWindowsLocked,
    /// Water main off.
    WaterMainOff,
    /// Power off except required circuits.
    PowerOff,
    /// Gas off.
    GasOff,
    /// No leak, damp or mould on ceilings, walls, floors.
    NoLeakDampMould,
    /// Floor drains sealed, no smell.
    FloorDrainsSealed,
    /// No pests.
    NoPests,
    /// No damage or sign of entry.
    NoDamageOrEntry,
    /// Water meter read and unchanged since the last inspection.
    WaterMeterUnchanged,
    /// Power meter read and unchanged since the last inspection.
    PowerMeterUnchanged,
    /// Keys returned.
    KeysReturned,
}

impl ChecklistItem {
    /// Every item, in the order the inspector walks them.
    pub const ALL: [ChecklistItem; 11] = [
        ChecklistItem::DoorsWindowsLocked,
        ChecklistItem::WaterMainOff,
        ChecklistItem::PowerOff,
        ChecklistItem::GasOff,
        ChecklistItem::NoLeakDampMould,
        ChecklistItem::FloorDrainsSealed,
        ChecklistItem::NoPests,
        ChecklistItem::NoDamageOrEntry,
        ChecklistItem::WaterMeterUnchanged,
        ChecklistItem::PowerMeterUnchanged,
        ChecklistItem::KeysReturned,
    ];

    /// The incident category a failure opens. Product choice where the manuals are
    /// silent: a leak or damp is water ingress (水浸) and a sign of entry is theft (盗窃),
    /// the accidents of rules.md §13.1; every other failed item (gas or power left on,
    /// keys missing, a meter that moved) is a routine fault, a work order to Engineering.
    pub fn default_category(self) -> IncidentCategory {
        use ChecklistItem::*;
        match self {
            NoLeakDampMould => IncidentCategory::WaterIngress,
            NoDamageOrEntry => IncidentCategory::TheftRobbery,
            WaterMainOff | FloorDrainsSealed | WaterMeterUnchanged | GasOff | PowerOff
            | PowerMeterUnchanged | KeysReturned | DoorsWindowsLocked | NoPests => {
                IncidentCategory::Fault
            }
        }
    }

    /// The category after the site's overrides.
    pub fn category(
        self,
        overrides: &BTreeMap<ChecklistItem, IncidentCategory>,
    ) -> IncidentCategory {
        overrides
            .get(&self)
            .copied()
            .unwrap_or_else(|| self.default_category())
    }
}

/// The inspector's answer for one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemResult {
    /// The item.
    pub item: ChecklistItem,
    /// Whether it passed.
    pub pass: bool,
    /// What the inspector noted.
    pub note: Option<String>,
    /// Photo id.
    pub photo: Option<String>,
}

impl ItemResult {
    /// A passed item without note or photo.
    pub fn pass(item: ChecklistItem) -> Self {
        Self {
            item,
            pass: true,
            note: None,
            photo: None,
        }
    }

    /// A failed item with a note.
    pub fn fail(item: ChecklistItem, note: &str) -> Self {
        Self {
            item,
            pass: false,
            note: Some(note.to_owned()),
            photo: None,
        }
    }
}

/// Meter readings taken at an inspection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeterReadings {
    /// Water meter, m³.
    pub water: Option<f64>,
    /// Power meter, kWh.
    pub power: Option<f64>,
}

/// How a meter reading compares with the last inspection's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MeterCheck {
    /// Read and unchanged, or the first reading.
    Unchanged,
    /// Not read.
    NotRead,
    /// Moved since the last reading: something used water or power in an empty unit.
    Moved {
        /// Last inspection's reading.
        from: f64,
        /// This reading.
        to: f64,
    },
}

/// Compares a reading with the previous one; a move beyond `tolerance` either way fails
/// (backwards is a meter fault, still not "unchanged").
pub fn check_meter(previous: Option<f64>, now: Option<f64>, tolerance: f64) -> MeterCheck {
    match (previous, now) {
        (_, None) => MeterCheck::NotRead,
        (Some(from), Some(to)) if (to - from).abs() > tolerance => MeterCheck::Moved { from, to },
        _ => MeterCheck::Unchanged,
    }
}
