//! Point history and the event journal.

use chrono::{DateTime, Utc};
use sitewatch_core::points::PointId;
use sqlx::Row;

use super::{Store, StoreError, placeholders, statement_chunks};

/// One kept value of a point.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Reading {
    /// Point id (shared with the points hub: a stored reading copies a pointer, not the id).
    #[schema(value_type = String)]
    pub point: PointId,
    /// When it was read.
    pub at: DateTime<Utc>,
    /// The value.
    pub value: f64,
}

/// One journal entry (quality change, device up/down, and later alarms and incidents).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct EventRow {
    /// Sequence number; increases with every entry.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What kind of event (`point_quality`, `device`, …).
    pub kind: String,
    /// What it is about (a point or device id).
    pub subject: String,
    /// The event as JSON.
    pub body: serde_json::Value,
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

// Both readers walk the key (point_id, ts_ms, value): `value` orders readings of the
// same millisecond, so pages and the recent end are the same on every backend.
const PAGE_SQL: &str = "select point_id, ts_ms, value from readings where point_id = $1 \
     and ts_ms >= $2 and ts_ms < $3 order by ts_ms, value limit $4 offset $5";
const RECENT_SQL: &str = "select point_id, ts_ms, value from readings where point_id = $1 \
     and ts_ms >= $2 order by ts_ms desc, value desc limit $3";

/// A journal entry to write: time, kind, subject, JSON body.
pub type JournalRow = (DateTime<Utc>, String, String, String);

/// Readings, inside the caller's transaction. A reading already stored (same point,
/// millisecond and value; the table's key, see migration 0010) is skipped: it carries
/// nothing the stored one does not.
pub(crate) async fn insert_readings_in(
    tx: &mut sqlx::AnyConnection,
    rows: &[Reading],
) -> Result<(), StoreError> {
    for chunk in statement_chunks(rows) {
        let sql = format!(
            "insert into readings (point_id, ts_ms, value) values {} on conflict do nothing",
            placeholders(tx, chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q.bind(&*r.point).bind(ms(r.at)).bind(r.value);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Journal entries, inside the caller's transaction (ids are assigned by the database).
pub(crate) async fn insert_events_in(
    tx: &mut sqlx::AnyConnection,
    rows: &[JournalRow],
) -> Result<(), StoreError> {
    for chunk in statement_chunks(rows) {
        let sql = format!(
            "insert into events (ts_ms, kind, subject, body) values {}",
            placeholders(tx, chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for (at, kind, subject, body) in chunk {
            q = q
                .bind(ms(*at))
                .bind(kind.as_str())
                .bind(subject.as_str())
                .bind(body.as_str());
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

impl Store {
    /// Writes readings in one transaction.
    pub async fn insert_readings(&self, rows: &[Reading]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        insert_readings_in(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes journal entries in one transaction.
    pub async fn insert_events(&self, rows: &[JournalRow]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        insert_events_in(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A point's history since `since`, oldest first, at most `limit` rows.
    pub async fn readings(
        &self,
        point: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Reading>, StoreError> {
        self.readings_page(point, (ms(since), i64::MAX), 0, limit)
            .await
    }

    /// A page of a point's readings with `between.0 <= ts_ms < between.1`, oldest first.
    pub async fn readings_page(
        &self,
        point: &str,
        between: (i64, i64),
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Reading>, StoreError> {
        let rows = sqlx::query(PAGE_SQL)
            .bind(point.to_owned())
            .bind(between.0)
            .bind(between.1)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(reading_row).collect()
    }

    /// A point's newest `limit` readings since `since`, oldest first: the recent end of
    /// the history, for a sparkline, even when the window holds more rows than `limit`.
    pub async fn recent_readings(
        &self,
        point: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Reading>, StoreError> {
        let rows = sqlx::query(RECENT_SQL)
            .bind(point.to_owned())
            .bind(ms(since))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut out = rows
            .iter()
            .map(reading_row)
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.reverse();
        Ok(out)
    }

    /// The newest `n` journal entries of a kind, newest first.
    pub async fn latest_events(&self, kind: &str, n: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "select event_id, ts_ms, kind, subject, body from events where kind = $1 order by event_id desc limit $2",
        )
        .bind(kind.to_owned())
        .bind(n)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_row).collect()
    }

    /// Journal entries after `after_id`, oldest first, optionally of one kind.
    pub async fn events(
        &self,
        after_id: i64,
        kind: Option<&str>,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        self.events_page(after_id, kind, (i64::MIN, i64::MAX), 0, limit)
            .await
    }

    /// A page of journal entries after `after_id` with `between.0 <= ts_ms < between.1`,
    /// oldest first, optionally of one kind.
    pub async fn events_page(
        &self,
        after_id: i64,
        kind: Option<&str>,
        between: (i64, i64),
        offset: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "select event_id, ts_ms, kind, subject, body from events where event_id > $1 \
             and ($2 = '' or kind = $2) and ts_ms >= $3 and ts_ms < $4 \
             order by event_id limit $5 offset $6",
        )
        .bind(after_id)
        .bind(kind.unwrap_or("").to_owned())
        .bind(between.0)
        .bind(between.1)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event_row).collect()
    }
}

fn reading_row(r: &sqlx::any::AnyRow) -> Result<Reading, StoreError> {
    Ok(Reading {
        point: r.try_get::<String, _>("point_id")?.into(),
        at: from_ms(r.try_get("ts_ms")?),
        value: r.try_get("value")?,
    })
}

fn event_row(r: &sqlx::any::AnyRow) -> Result<EventRow, StoreError> {
    let body: String = r.try_get("body")?;
    Ok(EventRow {
        id: r.try_get("event_id")?,
        at: from_ms(r.try_get("ts_ms")?),
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both readers search the primary key, in its order: no scan, no sort.
    #[tokio::test]
    async fn readers_search_the_primary_key_on_sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let store = Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        for sql in [PAGE_SQL, RECENT_SQL] {
            let plan: Vec<String> = sqlx::query(&format!("explain query plan {sql}"))
                .fetch_all(store.pool())
                .await
                .expect("plan")
                .iter()
                .map(|r| r.try_get("detail").expect("detail"))
                .collect();
            assert_eq!(plan.len(), 1, "{sql}: {plan:?}");
            assert!(
                plan[0].starts_with("SEARCH readings USING PRIMARY KEY (point_id=? AND ts_ms>?"),
                "{sql}: {plan:?}"
            );
        }
    }
}
