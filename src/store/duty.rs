//! The duty desk's records (rules.md §13.19, §13.15): the duty log (the staff's own
//! entries, numbered by the engine's hand-over book and written by the store writer as a
//! [`super::Record`] with their journal entry) and planned fire-system tests. Hand-overs and service requests are the
//! engine's books, kept as snapshots (`request:{id}`, `handover:{id}`) by the writer.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// One entry of the duty log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DutyEntry {
    /// Its number.
    pub id: i64,
    /// Who wrote it.
    pub author: String,
    /// The shift it belongs to (free text, e.g. `2026-11-24 early`).
    pub shift: String,
    /// What happened.
    pub text: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A planned fire-system test: the devices whose alarms are suppressed for its window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FireTest {
    /// Its number.
    pub id: i64,
    /// The notice that announced it.
    pub notice: i64,
    /// Fire panel device ids.
    pub devices: Vec<String>,
    /// Window start.
    pub starts_at: DateTime<Utc>,
    /// Window end.
    pub ends_at: DateTime<Utc>,
    /// Who scheduled it.
    pub created_by: String,
    /// When the suppression was put in place.
    pub applied_at: Option<DateTime<Utc>>,
}

/// Writes a duty-log entry with the number the hand-over book gave it, in the writer's
/// transaction with its journal entry; a batch written again keeps it once.
pub(super) async fn insert_duty_entry_in(
    tx: &mut sqlx::AnyConnection,
    e: &DutyEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into duty_log (duty_log_id, author, shift, text, at_ms, created_at_ms) \
         values ($1, $2, $3, $4, $5, $5) on conflict (duty_log_id) do nothing",
    )
    .bind(e.id)
    .bind(e.author.clone())
    .bind(e.shift.clone())
    .bind(e.text.clone())
    .bind(ms(e.at))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Store {
    /// The highest duty-log number kept (0 when none): the hand-over book numbers on
    /// from it after a restart.
    pub async fn last_duty_entry(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("select coalesce(max(duty_log_id), 0) as last from duty_log")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("last")?)
    }

    /// Duty-log entries written in `[from, to)`, oldest first.
    pub async fn duty_entries(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DutyEntry>, StoreError> {
        let rows = sqlx::query(
            "select duty_log_id, author, shift, text, at_ms from duty_log \
             where at_ms >= $1 and at_ms < $2 order by at_ms, duty_log_id",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DutyEntry {
                    id: r.try_get("duty_log_id")?,
                    author: r.try_get("author")?,
                    shift: r.try_get("shift")?,
                    text: r.try_get("text")?,
                    at: from_ms(r.try_get("at_ms")?),
                })
            })
            .collect()
    }

    /// Keeps a planned fire-system test; its number.
    pub async fn insert_fire_test(
        &self,
        t: &FireTest,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "insert into fire_tests (notice_id, devices, starts_at_ms, ends_at_ms, created_by, applied_at_ms, created_at_ms, updated_at_ms) \
             values ($1, $2, $3, $4, $5, null, $6, $6) returning fire_test_id",
        )
        .bind(t.notice)
        .bind(serde_json::to_string(&t.devices).unwrap_or_default())
        .bind(ms(t.starts_at))
        .bind(ms(t.ends_at))
        .bind(t.created_by.clone())
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("fire_test_id")?;
        let mut central = self.outside();
        let test = FireTest { id, ..t.clone() };
        central.push("fire_test", now, &id.to_string(), &test);
        self.feed_in(&mut tx, central).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Fire tests not yet put in place whose window has not ended at `now` (the engine's
    /// plan at start).
    pub async fn planned_fire_tests(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<FireTest>, StoreError> {
        let rows = sqlx::query(
            "select fire_test_id, notice_id, devices, starts_at_ms, ends_at_ms, created_by, applied_at_ms \
             from fire_tests where applied_at_ms is null and ends_at_ms > $1 \
             order by fire_test_id",
        )
        .bind(ms(now))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(fire_test).collect()
    }

    /// Fire tests announced by a notice.
    pub async fn notice_fire_tests(&self, notice: i64) -> Result<Vec<FireTest>, StoreError> {
        let rows = sqlx::query(
            "select fire_test_id, notice_id, devices, starts_at_ms, ends_at_ms, created_by, applied_at_ms \
             from fire_tests where notice_id = $1 order by fire_test_id",
        )
        .bind(notice)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(fire_test).collect()
    }

    /// Records that a fire test's suppression is in place.
    pub async fn mark_fire_test_applied(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "update fire_tests set applied_at_ms = $1, updated_at_ms = $1 where fire_test_id = $2",
        )
        .bind(ms(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

fn fire_test(r: &AnyRow) -> Result<FireTest, StoreError> {
    let devices: String = r.try_get("devices")?;
    Ok(FireTest {
        id: r.try_get("fire_test_id")?,
        notice: r.try_get("notice_id")?,
        devices: serde_json::from_str(&devices).unwrap_or_default(),
        starts_at: from_ms(r.try_get("starts_at_ms")?),
        ends_at: from_ms(r.try_get("ends_at_ms")?),
        created_by: r.try_get("created_by")?,
        applied_at: r.try_get::<Option<i64>, _>("applied_at_ms")?.map(from_ms),
    })
}

/// Records on `tx` that a fire test's suppression is in place.
pub(super) async fn mark_fire_test_applied_in(
    tx: &mut sqlx::AnyConnection,
    id: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update fire_tests set applied_at_ms = $1, updated_at_ms = $1 where fire_test_id = $2",
    )
    .bind(ms(at))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
