//! Households an incident affects (rules.md §13.9, after the 43-household water-ingress
//! case at seed 003:425): when each was contacted, what they lost, how it was settled.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One affected unit and its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    /// The unit, e.g. `B2-1203`. The caller expands a floor, riser or building into units.
    pub unit: String,
    /// Owner or tenant name, if known.
    pub owner: Option<String>,
    /// When the household was first contacted (第一时间联系业主).
    pub contacted_at: Option<DateTime<Utc>>,
    /// Damaged items inventoried with them (盘点受损物品).
    pub damaged_items: Vec<String>,
    /// The compensation outcome (发放置换物品及折抵补偿金), once settled.
    pub compensation: Option<String>,
}

impl Household {
    /// A newly linked household, not yet contacted.
    pub fn new(unit: &str, owner: Option<String>) -> Self {
        Self {
            unit: unit.to_owned(),
            owner,
            contacted_at: None,
            damaged_items: Vec::new(),
            compensation: None,
        }
    }
}
