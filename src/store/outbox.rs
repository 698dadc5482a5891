//! The outbox: messages waiting for delivery, in the order they were decided.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, placeholders, statement_chunks};

/// A message to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct OutMessage {
    /// Delivery channel (`mqtt`).
    pub channel: String,
    /// Topic (MQTT) or address.
    pub target: String,
    /// The body.
    pub payload: String,
    /// Keep as the topic's retained state (MQTT).
    pub retain: bool,
}

/// A stored message with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// Outbox id, in decision order.
    pub id: i64,
    /// The message.
    pub message: OutMessage,
}

impl Store {
    /// Queues messages in one transaction.
    pub async fn enqueue(
        &self,
        at: DateTime<Utc>,
        messages: &[OutMessage],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        enqueue_in(&mut tx, at, messages).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Undelivered messages of a channel after `after_id`, oldest first.
    pub async fn unsent(
        &self,
        channel: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Queued>, StoreError> {
        let rows = sqlx::query(
            "select outbox_id, target, payload, retain from outbox \
             where channel = $1 and sent_ms is null and outbox_id > $2 order by outbox_id limit $3",
        )
        .bind(channel.to_owned())
        .bind(after_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Queued {
                    id: r.try_get("outbox_id")?,
                    message: OutMessage {
                        channel: channel.to_owned(),
                        target: r.try_get("target")?,
                        payload: r.try_get("payload")?,
                        retain: r.try_get::<i32, _>("retain")? != 0,
                    },
                })
            })
            .collect()
    }

    /// Marks messages delivered.
    pub async fn mark_sent(&self, ids: &[i64], at: DateTime<Utc>) -> Result<(), StoreError> {
        for chunk in ids.chunks(500) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "update outbox set sent_ms = $1 where outbox_id in ({})",
                list.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(at.timestamp_millis());
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(self.pool()).await?;
        }
        Ok(())
    }

    /// How many messages of a channel wait.
    pub async fn backlog(&self, channel: &str) -> Result<i64, StoreError> {
        let row =
            sqlx::query("select count(*) as n from outbox where channel = $1 and sent_ms is null")
                .bind(channel.to_owned())
                .fetch_one(self.pool())
                .await?;
        Ok(row.try_get("n")?)
    }
}

/// Queues messages inside the caller's transaction.
pub(crate) async fn enqueue_in(
    tx: &mut sqlx::AnyConnection,
    at: DateTime<Utc>,
    messages: &[OutMessage],
) -> Result<(), StoreError> {
    let rows: Vec<(DateTime<Utc>, &OutMessage)> = messages.iter().map(|m| (at, m)).collect();
    insert_rows_in(tx, &rows).await
}

/// Queues messages inside the caller's transaction, each with the time it was decided
/// (the store writer's batches hold several engine steps, or an outage's worth).
pub(crate) async fn insert_outbox_in(
    tx: &mut sqlx::AnyConnection,
    messages: &[(DateTime<Utc>, OutMessage)],
) -> Result<(), StoreError> {
    let rows: Vec<(DateTime<Utc>, &OutMessage)> = messages.iter().map(|(at, m)| (*at, m)).collect();
    insert_rows_in(tx, &rows).await
}

async fn insert_rows_in(
    tx: &mut sqlx::AnyConnection,
    rows: &[(DateTime<Utc>, &OutMessage)],
) -> Result<(), StoreError> {
    for chunk in statement_chunks(rows) {
        let sql = format!(
            "insert into outbox (created_ms, channel, target, payload, retain) values {}",
            placeholders(tx, chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for (at, m) in chunk {
            q = q
                .bind(at.timestamp_millis())
                .bind(m.channel.as_str())
                .bind(m.target.as_str())
                .bind(m.payload.as_str())
                .bind(i32::from(m.retain));
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}
