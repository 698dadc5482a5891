//! Patrol scans and findings. A scan is inserted as received before it is judged, so a
//! crash between the two loses nothing: pending scans are judged again at start.

use chrono::{DateTime, Utc};
use sitewatch_core::patrol::{Finding, Scan, ScanRecord};
use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Keeps a scan as received. Returns false when the same scan id is already stored
    /// (a phone resending its queue).
    pub async fn insert_scan(&self, scan: &Scan) -> Result<bool, StoreError> {
        let body = serde_json::to_string(scan).unwrap_or_default();
        let done = sqlx::query(
            "insert into scans (scan_id, scanned_ms, received_ms, guard, body) values ($1, $2, $3, $4, $5) \
             on conflict (scan_id) do nothing",
        )
        .bind(scan.id.clone())
        .bind(scan.scanned_at.timestamp_millis())
        .bind(scan.received_at.timestamp_millis())
        .bind(scan.guard.clone())
        .bind(body)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the verdict on a stored scan.
    pub async fn set_scan_result(&self, record: &ScanRecord) -> Result<(), StoreError> {
        sqlx::query("update scans set result = $1, record = $2 where scan_id = $3")
            .bind(record.result.as_str())
            .bind(serde_json::to_string(record).unwrap_or_default())
            .bind(record.scan.id.clone())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records the verdict on a stored scan that has none yet (a resend of a scan whose
    /// first verdict could not be saved); a stored verdict stays.
    pub async fn set_missing_scan_result(&self, record: &ScanRecord) -> Result<(), StoreError> {
        sqlx::query(
            "update scans set result = $1, record = $2 where scan_id = $3 and result is null",
        )
        .bind(record.result.as_str())
        .bind(serde_json::to_string(record).unwrap_or_default())
        .bind(record.scan.id.clone())
        .execute(self.pool())
        .await?;
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

    /// Keeps a finding.
    pub async fn insert_finding(&self, f: &Finding) -> Result<(), StoreError> {
        sqlx::query(
            "insert into findings (finding_id, ts_ms, guard, kind, body) values ($1, $2, $3, $4, $5) \
             on conflict (finding_id) do nothing",
        )
        .bind(f.id.clone())
        .bind(f.at.timestamp_millis())
        .bind(f.guard.clone())
        .bind(serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
        .bind(serde_json::to_string(f).unwrap_or_default())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
