//! The unit register's vacant units fed into the engine (what they change there is the
//! engine's `Vacancy` command: the inspection schedule, the key register, the alarm
//! engine's vacant flag).

use sitewatch_core::inspections::VacantUnit;

use crate::engine::{CommandError, EngineHandle};
use crate::store::{Store, StoreError};

/// Why the engine could not be told.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The register could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine has stopped, or has not kept the change in time.
    #[error(transparent)]
    Engine(#[from] CommandError),
}

/// Reads the vacant units from the store and hands them to the engine. Returns the
/// units whose vacancy changed.
pub async fn sync(engine: &EngineHandle, store: &Store) -> Result<Vec<String>, SyncError> {
    let units = vacant_units(store).await?;
    Ok(engine.set_vacant(units).await?)
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
