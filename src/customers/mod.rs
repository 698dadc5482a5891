//! Customer-service work around the pure core (issue 5): the unit register's CSV import
//! (its records are `register`'s types) and the vacancy feed into the inspection book.

pub mod compliance;
pub mod import;
pub mod keys;
pub mod maintenance;
pub mod meters;
pub mod sheet;
pub mod vacancy;

use chrono::{DateTime, Utc};

pub use import::{RowProblem, parse_units};

/// The example register of the demo estate, loaded by `demo` into an empty database.
pub const DEMO_UNITS_CSV: &str = include_str!("../../examples/demo/units.csv");

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Rows are invalid; each with its line and reason.
    #[error("{} invalid rows", .0.len())]
    Rows(Vec<RowProblem>),
    /// The database failed; the transaction was rolled back.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Checks a whole CSV file (UTF-8 text), then writes it in one transaction.
pub async fn import(
    store: &crate::store::Store,
    file: impl AsRef<[u8]>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<crate::store::ImportSummary, ImportError> {
    let text = import::text_of(file.as_ref()).map_err(|p| ImportError::Rows(vec![p]))?;
    let units = parse_units(text, now).map_err(ImportError::Rows)?;
    Ok(store.import_units(&units, actor, now).await?)
}

/// Checks a whole meter register (UTF-8 CSV) against `known`, then replaces the stored
/// register with it in one transaction; the meters in file order.
pub async fn import_meters(
    store: &crate::store::Store,
    file: impl AsRef<[u8]>,
    known: &meters::Known,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<crate::register::meters::Meter>, ImportError> {
    let text = import::text_of(file.as_ref()).map_err(|p| ImportError::Rows(vec![p]))?;
    let meters = meters::parse_meters(text, known).map_err(ImportError::Rows)?;
    store.replace_meters(&meters, actor, now).await?;
    Ok(meters)
}

/// Loads the demo estate's register into an empty database (for `demo`).
pub async fn seed_demo(url: &str) -> anyhow::Result<()> {
    let store = crate::store::Store::connect(url).await?;
    if store.unit_count().await? == 0 {
        let summary = import(&store, DEMO_UNITS_CSV, "demo", Utc::now())
            .await
            .map_err(|e| anyhow::anyhow!("demo units: {e}"))?;
        tracing::info!(units = summary.created, "demo unit register loaded");
    }
    store.close().await;
    Ok(())
}
