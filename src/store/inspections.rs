//! Vacant-unit inspections as recorded and the key loans of the key register (rules.md
//! §13.22–23): the engine's records, written by the store writer.

use chrono::{DateTime, Utc};
use sitewatch_core::inspections::{Inspection, KeyInventory, KeyLoan};
use sitewatch_core::maintenance::TaskDone;

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// The ids of the inspections kept: the vacant book refuses them if sent again.
    pub async fn inspection_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("select inspection_id from inspections")
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>("inspection_id").ok())
            .collect())
    }
}

/// Keeps an inspection as the vacant book recorded it (meter items judged), written by the
/// store writer with the journal entry and the incidents it opened.
pub(super) async fn insert_inspection_in(
    tx: &mut sqlx::AnyConnection,
    i: &Inspection,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into inspections (inspection_id, unit_id, inspector, body, created_at_ms) \
         values ($1, $2, $3, $4, $5) on conflict (inspection_id) do nothing",
    )
    .bind(i.id.clone())
    .bind(i.unit.clone())
    .bind(i.inspector.clone())
    .bind(serde_json::to_string(i).unwrap_or_default())
    .bind(at.timestamp_millis())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Keeps a loan as it stands (the engine's record, written by the store writer): a key
/// set leaving the cabinet is a new row, one coming back closes its open row.
pub(super) async fn keep_key_loan_in(
    tx: &mut sqlx::AnyConnection,
    loan: &KeyLoan,
) -> Result<(), StoreError> {
    let out_at = loan.out_at.timestamp_millis();
    let query = match loan.in_at {
        None => sqlx::query(
            "insert into key_loans (key_set_id, holder, purpose, out_at_ms, expected_back_ms, created_at_ms, updated_at_ms) \
             values ($1, $2, $3, $4, $5, $4, $4)",
        )
        .bind(loan.set.clone())
        .bind(loan.holder.clone())
        .bind(loan.purpose.clone())
        .bind(out_at)
        .bind(loan.expected_back.map(|t| t.timestamp_millis())),
        Some(in_at) => sqlx::query(
            "update key_loans set in_at_ms = $1, returned_by = $2, updated_at_ms = $1 \
             where key_set_id = $3 and out_at_ms = $4 and in_at_ms is null",
        )
        .bind(in_at.timestamp_millis())
        .bind(loan.returned_by.clone())
        .bind(loan.set.clone())
        .bind(out_at),
    };
    query.execute(&mut *tx).await?;
    Ok(())
}

/// Keeps an inventory of the key board as counted, with what was missing.
pub(super) async fn insert_key_inventory_in(
    tx: &mut sqlx::AnyConnection,
    inv: &KeyInventory,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into key_inventories (counted_by, missing, body, created_at_ms) \
         values ($1, $2, $3, $4)",
    )
    .bind(inv.by.clone())
    .bind(inv.missing.len() as i64)
    .bind(serde_json::to_string(inv).unwrap_or_default())
    .bind(inv.at.timestamp_millis())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Keeps a maintenance task done with its running data (rules.md §13.13).
pub(super) async fn insert_maintenance_done_in(
    tx: &mut sqlx::AnyConnection,
    done: &TaskDone,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into maintenance_done (task_id, done_on, done_by, body, created_at_ms) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(done.task.clone())
    .bind(done.on.to_string())
    .bind(done.by.clone())
    .bind(serde_json::to_string(done).unwrap_or_default())
    .bind(done.at.timestamp_millis())
    .execute(&mut *tx)
    .await?;
    Ok(())
}
