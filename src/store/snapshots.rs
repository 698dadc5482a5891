//! Monthly meter snapshots (抄表).

use chrono::DateTime;
use sqlx::Row;

use super::{Store, StoreError};
use crate::billing::Snapshot;

impl Store {
    /// Periods with snapshots, oldest first.
    pub async fn snapshot_periods(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("select distinct period from meter_snapshots order by period")
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get("period").ok())
            .collect())
    }

    /// One period's snapshots, by unit then point.
    pub async fn snapshots(&self, period: &str) -> Result<Vec<Snapshot>, StoreError> {
        let rows = sqlx::query(
            "select period, point_id, device_id, unit_id, value, unit, quality, read_ms, taken_ms \
             from meter_snapshots where period = $1 order by unit_id, point_id",
        )
        .bind(period.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let read: Option<i64> = r.try_get("read_ms")?;
                let unit: Option<String> = r.try_get("unit_id")?;
                let value: Option<f64> = r.try_get("value")?;
                Ok(Snapshot {
                    period: r.try_get("period")?,
                    point: r.try_get("point_id")?,
                    device: r.try_get("device_id")?,
                    no_reading: Snapshot::unit_meter_unread(unit.as_deref(), value),
                    unit,
                    value,
                    measure: r.try_get("unit")?,
                    quality: r.try_get("quality")?,
                    read_at: read.and_then(DateTime::from_timestamp_millis),
                    taken_at: DateTime::from_timestamp_millis(r.try_get("taken_ms")?)
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// Keeps a period's snapshots on `tx`; a period already stored keeps its first rows.
pub(super) async fn insert_snapshots_in(
    tx: &mut sqlx::AnyConnection,
    rows: &[Snapshot],
) -> Result<(), StoreError> {
    for r in rows {
        sqlx::query(
            "insert into meter_snapshots (period, point_id, device_id, unit_id, value, unit, quality, read_ms, taken_ms) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (period, point_id) do nothing",
        )
        .bind(r.period.clone())
        .bind(r.point.clone())
        .bind(r.device.clone())
        .bind(r.unit.clone())
        .bind(r.value)
        .bind(r.measure.clone())
        .bind(r.quality.clone())
        .bind(r.read_at.map(|t| t.timestamp_millis()))
        .bind(r.taken_at.timestamp_millis())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
