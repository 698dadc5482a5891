//! The meter register (issue 24): replaced whole by an import, read at start.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError};
use crate::register::meters::{Meter, MeterKind};

impl Store {
    /// Replaces the whole register with `meters` (in file order) in one transaction.
    pub async fn replace_meters(
        &self,
        meters: &[Meter],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("delete from meters").execute(&mut *tx).await?;
        for (seq, m) in meters.iter().enumerate() {
            sqlx::query(
                "insert into meters (meter_id, unit_id, kind, profile, gateway, unit_address, \
                 multiplier, seq, updated_by, updated_at_ms) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(m.id.clone())
            .bind(m.unit.clone())
            .bind(m.kind.as_str())
            .bind(m.profile.clone())
            .bind(m.gateway.clone())
            .bind(i64::from(m.unit_id))
            .bind(m.multiplier)
            .bind(i64::try_from(seq).unwrap_or(i64::MAX))
            .bind(actor.to_owned())
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await?;
        }
        // The register is replaced whole, so it travels whole.
        let mut central = self.outside();
        let body = serde_json::json!({"updated_by": actor, "meters": meters});
        central.push("meter_register", now, "", &body);
        self.feed_in(&mut tx, central).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The register, in the order it was imported.
    pub async fn meters(&self) -> Result<Vec<Meter>, StoreError> {
        let rows = sqlx::query(
            "select meter_id, unit_id, kind, profile, gateway, unit_address, multiplier \
             from meters order by seq",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind: String = r.try_get("kind")?;
            let unit_id: i64 = r.try_get("unit_address")?;
            out.push(Meter {
                id: r.try_get("meter_id")?,
                unit: r.try_get("unit_id")?,
                // Written by the import from a checked kind; an unknown one is water's
                // only by accident, so it is refused instead.
                kind: MeterKind::parse(&kind)
                    .ok_or_else(|| corrupt(format!("meter kind `{kind}`")))?,
                profile: r.try_get("profile")?,
                gateway: r.try_get("gateway")?,
                unit_id: u8::try_from(unit_id)
                    .map_err(|_| corrupt(format!("meter unit id {unit_id}")))?,
                multiplier: r.try_get("multiplier")?,
            });
        }
        Ok(out)
    }

    /// The building of every unit in the register, by unit id.
    pub async fn unit_buildings(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows = sqlx::query("select unit_id, building_id from units")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("unit_id")?, r.try_get("building_id")?)))
            .collect()
    }
}

/// A row the import could not have written.
fn corrupt(what: String) -> StoreError {
    StoreError::Sql(sqlx::Error::Protocol(format!("meters table holds {what}")))
}
