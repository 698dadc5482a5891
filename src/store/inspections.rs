//! Vacant-unit inspections as submitted (kept before the engine judges them) and the key
//! loans of the key register (rules.md §13.22–23), written by the store writer.

use chrono::{DateTime, Utc};
use sitewatch_core::inspections::{Inspection, KeyLoan};

use super::{Store, StoreError};

impl Store {
    /// Keeps an inspection as submitted. False when its id is already stored (a resend).
    pub async fn insert_inspection(
        &self,
        i: &Inspection,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "insert into inspections (inspection_id, unit_id, inspector, body, created_at_ms) \
             values ($1, $2, $3, $4, $5) on conflict (inspection_id) do nothing",
        )
        .bind(i.id.clone())
        .bind(i.unit.clone())
        .bind(i.inspector.clone())
        .bind(serde_json::to_string(i).unwrap_or_default())
        .bind(now.timestamp_millis())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
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
            "insert into key_loans (key_set_id, holder, purpose, out_at_ms, created_at_ms, updated_at_ms) \
             values ($1, $2, $3, $4, $4, $4)",
        )
        .bind(loan.set.clone())
        .bind(loan.holder.clone())
        .bind(loan.purpose.clone())
        .bind(out_at),
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
