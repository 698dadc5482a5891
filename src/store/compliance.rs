//! The compliance register (rules.md §13.24, §13.15): its items and every inspection
//! recorded, kept for good. The engine's book decides (`engine::due::Compliance`); the
//! store writer writes its records here in the journal's transaction; the items are read
//! back at start.

use chrono::{DateTime, NaiveDate, Utc};
use sitewatch_core::compliance::{ComplianceItem, ComplianceKind};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};

const COLUMNS: &str =
    "item_id, kind, name, last_inspected, interval_days, next_due, certificate_file, contractor";

impl Store {
    /// Every item, by id.
    pub async fn compliance_items(&self) -> Result<Vec<ComplianceItem>, StoreError> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} from compliance_items order by item_id"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().filter_map(item).collect())
    }

    /// One item.
    pub async fn compliance_item(&self, id: &str) -> Result<Option<ComplianceItem>, StoreError> {
        let row = sqlx::query(&format!(
            "select {COLUMNS} from compliance_items where item_id = $1"
        ))
        .bind(id.to_owned())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().and_then(item))
    }
}

/// Records an inspection done and the item as it now stands (the engine's record,
/// written by the store writer with its journal entry).
pub(super) async fn record_done_in(
    tx: &mut sqlx::AnyConnection,
    item: &ComplianceItem,
    on: NaiveDate,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    put(tx, item, by, now).await?;
    sqlx::query(
        "insert into compliance_inspections (item_id, done_on, certificate_file, recorded_by, recorded_at_ms) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(item.id.clone())
    .bind(on.to_string())
    .bind(item.certificate)
    .bind(by.to_owned())
    .bind(now.timestamp_millis())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Adds or replaces an item (the engine's record, written by the store writer).
pub(super) async fn put(
    tx: &mut sqlx::AnyConnection,
    item: &ComplianceItem,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into compliance_items (item_id, kind, name, last_inspected, interval_days, next_due, certificate_file, contractor, updated_by, updated_at_ms) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         on conflict (item_id) do update set kind = excluded.kind, name = excluded.name, \
         last_inspected = excluded.last_inspected, interval_days = excluded.interval_days, \
         next_due = excluded.next_due, certificate_file = excluded.certificate_file, \
         contractor = excluded.contractor, updated_by = excluded.updated_by, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(item.id.clone())
    .bind(item.kind.as_str())
    .bind(item.name.clone())
    .bind(item.last_inspected.map(|d| d.to_string()))
    .bind(i64::from(item.interval_days))
    .bind(item.next_due.to_string())
    .bind(item.certificate)
    .bind(item.contractor.clone())
    .bind(by.to_owned())
    .bind(now.timestamp_millis())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A stored row; one written by another build that this one cannot read is skipped.
fn item(r: &AnyRow) -> Option<ComplianceItem> {
    let day = |s: String| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok();
    Some(ComplianceItem {
        id: r.try_get("item_id").ok()?,
        kind: ComplianceKind::parse(&r.try_get::<String, _>("kind").ok()?)?,
        name: r.try_get("name").ok()?,
        last_inspected: r
            .try_get::<Option<String>, _>("last_inspected")
            .ok()?
            .and_then(day),
        interval_days: u32::try_from(r.try_get::<i64, _>("interval_days").ok()?).ok()?,
        next_due: day(r.try_get("next_due").ok()?)?,
        certificate: r.try_get("certificate_file").ok()?,
        contractor: r.try_get("contractor").ok()?,
    })
}
