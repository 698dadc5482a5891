//! The unit register's vacancy, fed to the books it concerns: the inspection schedule, a
//! key set per vacant unit in the key register, and the alarm engine's vacant flag (any
//! consumption in a vacant unit is an alarm, rules.md §14).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::alarms::AlarmCommand;
use sitewatch_core::inspections::VacantUnit;

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle, Output, VacantChange, flow};

/// A change to the vacant list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VacancyCmd {
    /// The register's vacant units as they stand now (the whole list).
    Set(Vec<VacantUnit>),
}

pub(super) fn command(books: &mut Books, cmd: VacancyCmd, now: DateTime<Utc>) -> Handled {
    let VacancyCmd::Set(units) = cmd;
    let (changed, out) = set_vacant(books, units, now);
    Ok((Answer::Vacancy(changed), out))
}

/// Sets the vacant list, keeps a key set for each vacant unit, and flags each unit whose
/// vacancy changed in the alarm engine. The units whose vacancy changed, and the outputs.
pub(crate) fn set_vacant(
    b: &mut Books,
    units: Vec<VacantUnit>,
    now: DateTime<Utc>,
) -> (Vec<String>, Vec<Output>) {
    let before: BTreeSet<String> = b.vacant.snapshot().units.into_keys().collect();
    let after: BTreeSet<String> = units.iter().map(|u| u.unit.clone()).collect();
    for unit in &after {
        if b.vacant.keys().get(unit).is_none() {
            let label = format!("空置房钥匙 {unit}");
            b.vacant.keys_mut().add_set(unit, &label, Some(unit));
        }
    }
    b.vacant.set_vacant(units);
    let changed: Vec<String> = before.symmetric_difference(&after).cloned().collect();
    let mut out = Vec::new();
    for unit in &changed {
        let vacant = after.contains(unit);
        // A register meter's rule starts from its last read, as a plant meter's does.
        if vacant {
            for (point, value) in b.estate.latest_of(unit) {
                out.extend(flow::meter_sample(b, point, value, now));
            }
        }
        let cmd = AlarmCommand::SetUnitVacant {
            unit: unit.clone(),
            vacant,
        };
        match b.alarms.command(cmd, now) {
            Ok(events) => out.extend(flow::alarms(b, events, now)),
            Err(e) => tracing::warn!(unit, error = %e, "alarm engine refused the vacancy"),
        }
        out.push(Output::vacant(VacantChange::Occupancy {
            unit: unit.clone(),
            vacant,
        }));
    }
    b.estate.set_vacant(after);
    (changed, out)
}

impl EngineHandle {
    /// Hands the register's vacant units to the engine; the units whose vacancy changed.
    pub async fn set_vacant(&self, units: Vec<VacantUnit>) -> Result<Vec<String>, CommandError> {
        match self
            .command(EngineCommand::Vacancy(VacancyCmd::Set(units)))
            .await?
        {
            Answer::Vacancy(changed) => Ok(changed),
            _ => Err(CommandError::Mismatch),
        }
    }
}
