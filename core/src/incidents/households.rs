//! Households an incident affects (rules.md §13.9, after the 43-household water-ingress
//! case at seed 003:425): when each was contacted, what they lost, how it was settled.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IncidentError;
use super::event::{IncidentAction, IncidentEventKind as Kind};
use super::workflow::Step;

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

/// The household steps of a command.
impl Step<'_> {
    pub(super) fn link_household(
        &mut self,
        unit: String,
        owner: Option<String>,
    ) -> Result<(), IncidentError> {
        if self.incident.household(&unit).is_some() {
            return Err(IncidentError::HouseholdAlreadyLinked(unit));
        }
        self.incident.households.push(Household::new(&unit, owner));
        self.emit(Kind::HouseholdLinked { unit });
        Ok(())
    }

    pub(super) fn household_step(&mut self, action: IncidentAction) -> Result<(), IncidentError> {
        use IncidentAction as A;
        let now = self.now;
        let unit = match &action {
            A::ContactHousehold { unit }
            | A::ListDamage { unit, .. }
            | A::RecordCompensation { unit, .. } => unit.clone(),
            _ => {
                return Err(IncidentError::InvalidTransition {
                    from: self.incident.state,
                    action: "apply",
                });
            }
        };
        let household = self
            .incident
            .households
            .iter_mut()
            .find(|h| h.unit == unit)
            .ok_or_else(|| IncidentError::UnknownHousehold(unit.clone()))?;
        let kind = match action {
            A::ContactHousehold { .. } => {
                // The first contact is the one the rule measures; later calls keep it.
                household.contacted_at.get_or_insert(now);
                Kind::HouseholdContacted { unit }
            }
            A::ListDamage { item, .. } => {
                household.damaged_items.push(item.clone());
                Kind::DamageListed { unit, item }
            }
            A::RecordCompensation { outcome, .. } => {
                household.compensation = Some(outcome.clone());
                Kind::CompensationRecorded { unit, outcome }
            }
            _ => {
                return Err(IncidentError::InvalidTransition {
                    from: self.incident.state,
                    action: "apply",
                });
            }
        };
        self.emit(kind);
        Ok(())
    }
}
