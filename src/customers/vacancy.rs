//! The unit register's vacant units fed into the engine: the inspection book's schedule,
//! a key set per vacant unit in the key register, and the alarm engine's vacant flag
//! (any consumption in a vacant unit is an alarm, rules.md §14).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sitewatch_core::alarms::AlarmCommand;
use sitewatch_core::inspections::VacantUnit;

use crate::engine::{Books, EngineHandle, Output, VacantChange};
use crate::store::{Store, StoreError};

/// Why the engine could not be told.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The register could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine has stopped.
    #[error("engine unavailable")]
    Engine,
}

/// Reads the vacant units from the store and hands them to the engine. Returns the
/// units whose vacancy changed.
pub async fn sync(engine: &EngineHandle, store: &Store) -> Result<Vec<String>, SyncError> {
    let units = vacant_units(store).await?;
    engine
        .act(move |b, now| apply(b, units, now))
        .await
        .ok_or(SyncError::Engine)
}

/// The store's vacant units as the inspection book takes them.
pub async fn vacant_units(store: &Store) -> Result<Vec<VacantUnit>, StoreError> {
    Ok(store
        .vacant_units()
        .await?
        .into_iter()
        .map(|(unit, vacant_since)| VacantUnit { unit, vacant_since })
        .collect())
}

/// Sets the vacant list, keeps a key set for each vacant unit, and flags each unit whose
/// vacancy changed in the alarm engine.
pub fn apply(
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
        let cmd = AlarmCommand::SetUnitVacant {
            unit: unit.clone(),
            vacant,
        };
        match b.alarms.command(cmd, now) {
            Ok(events) => out.extend(events.into_iter().map(|e| Output::Alarm(Box::new(e)))),
            Err(e) => tracing::warn!(unit, error = %e, "alarm engine refused the vacancy"),
        }
        out.push(Output::vacant(VacantChange::Occupancy {
            unit: unit.clone(),
            vacant,
        }));
    }
    (changed, out)
}
