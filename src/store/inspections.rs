//! Vacant-unit inspections as submitted (kept before the engine judges them) and the key
//! loans of the key register (rules.md §13.22–23).

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

    /// Keeps a key set leaving the cabinet.
    pub async fn insert_key_out(&self, loan: &KeyLoan) -> Result<(), StoreError> {
        let at = loan.out_at.timestamp_millis();
        sqlx::query(
            "insert into key_loans (key_set_id, holder, purpose, out_at_ms, created_at_ms, updated_at_ms) \
             values ($1, $2, $3, $4, $4, $4)",
        )
        .bind(loan.set.clone())
        .bind(loan.holder.clone())
        .bind(loan.purpose.clone())
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Closes the open loan of a key set that came back.
    pub async fn record_key_in(&self, loan: &KeyLoan) -> Result<(), StoreError> {
        let at = loan.in_at.map(|t| t.timestamp_millis());
        sqlx::query(
            "update key_loans set in_at_ms = $1, returned_by = $2, updated_at_ms = $3 \
             where key_set_id = $4 and out_at_ms = $5 and in_at_ms is null",
        )
        .bind(at)
        .bind(loan.returned_by.clone())
        .bind(at.unwrap_or_default())
        .bind(loan.set.clone())
        .bind(loan.out_at.timestamp_millis())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
