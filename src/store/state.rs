//! Snapshots of the pure core's books (patrol, inspections, alarms…), one row per book,
//! upserted as they change and read back at start so state survives a restart.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Writes the latest snapshot of each named book (last one wins).
    pub async fn upsert_states(
        &self,
        rows: &[(String, String, DateTime<Utc>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        upsert_states_in(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The stored snapshot of a book, if any.
    pub async fn state(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("select body from core_state where name = $1")
            .bind(name.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("body")).transpose()?)
    }
}

impl Store {
    /// Every stored snapshot whose name starts with `prefix` (`incident:` …).
    pub async fn states_with_prefix(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows =
            sqlx::query("select name, body from core_state where name like $1 order by name")
                .bind(format!("{prefix}%"))
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("body")?)))
            .collect()
    }
}

/// Snapshots, inside the caller's transaction.
pub(crate) async fn upsert_states_in(
    tx: &mut sqlx::AnyConnection,
    rows: &[(String, String, DateTime<Utc>)],
) -> Result<(), StoreError> {
    for (name, body, at) in rows {
        sqlx::query(
            "insert into core_state (name, body, updated_ms) values ($1, $2, $3) \
             on conflict (name) do update set body = excluded.body, updated_ms = excluded.updated_ms",
        )
        .bind(name.clone())
        .bind(body.clone())
        .bind(at.timestamp_millis())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
