//! Patrol scans and findings. A scan and its verdict, and a finding, are written by the
//! store writer (`records`); scans an older version stored before judging them are judged at
//! start.

use chrono::{DateTime, Utc};
use sitewatch_core::patrol::{Finding, Scan, ScanRecord};
use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Records the verdict on a stored scan (one stored unjudged by an older version).
    pub async fn set_scan_result(&self, record: &ScanRecord) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("update scans set result = $1, record = $2 where scan_id = $3")
            .bind(record.result.as_str())
            .bind(serde_json::to_string(record).unwrap_or_default())
            .bind(record.scan.id.clone())
            .execute(&mut *tx)
            .await?;
        // Stored unjudged by an older version, so it never travelled: it does now.
        let mut central = self.outside();
        central.push("scan", record.scan.scanned_at, &record.scan.id, record);
        self.feed_in(&mut tx, central).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Scans stored but never judged (the daemon stopped in between), oldest first.
    pub async fn pending_scans(&self) -> Result<Vec<Scan>, StoreError> {
        let rows = sqlx::query("select body from scans where result is null order by received_ms")
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>("body").ok())
            .filter_map(|b| serde_json::from_str(&b).ok())
            .collect())
    }

    /// Judged scans received in `[from, to)`, oldest first; scans received together (a
    /// phone sending its offline queue) in the order they were scanned.
    pub async fn scans(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<ScanRecord>, StoreError> {
        let rows = sqlx::query(
            "select record from scans where record is not null and received_ms >= $1 and received_ms < $2 \
             order by received_ms, scanned_ms, scan_id limit $3 offset $4",
        )
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>("record").ok())
            .filter_map(|b| serde_json::from_str(&b).ok())
            .collect())
    }
}

/// Keeps a finding (the engine's record, written by the store writer); a resend of one
/// already kept changes nothing.
pub(super) async fn insert_finding_in(
    tx: &mut sqlx::AnyConnection,
    f: &Finding,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into findings (finding_id, ts_ms, guard, kind, body) values ($1, $2, $3, $4, $5) \
         on conflict (finding_id) do nothing",
    )
    .bind(f.id.clone())
    .bind(f.at.timestamp_millis())
    .bind(f.guard.clone())
    .bind(
        serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    )
    .bind(serde_json::to_string(f).unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    Ok(())
}
