//! The outbox: messages waiting for delivery, in the order they were decided.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

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

/// An outbox message the database has not kept yet: it waits in the store writer's
/// backlog, and while writes fail the publisher may send it from there (see
/// `store::writer`). A message the broker confirmed that way is written already sent, so
/// the table does not send it again.
#[derive(Debug)]
pub struct Unwritten {
    /// When it was decided.
    pub at: DateTime<Utc>,
    /// The message.
    pub message: OutMessage,
    /// Its place in decision order, from 1 (the backlog counts them).
    pub seq: u64,
    /// Handed to the publisher and not given back.
    handed: AtomicBool,
    /// When the broker confirmed it (ms since the epoch); 0 while it has not.
    sent_ms: AtomicI64,
}

impl Unwritten {
    /// A message decided `at`, `seq`th in decision order.
    pub fn new(at: DateTime<Utc>, message: OutMessage, seq: u64) -> Self {
        Self {
            at,
            message,
            seq,
            handed: AtomicBool::new(false),
            sent_ms: AtomicI64::new(0),
        }
    }

    /// Takes it for the publisher; `false` when it is already taken or confirmed.
    pub fn hand(&self) -> bool {
        self.sent_ms().is_none() && !self.handed.swap(true, Ordering::AcqRel)
    }

    /// The publisher lost its connection before the broker confirmed it: it may be taken
    /// again (or written unsent, for the table to send).
    pub fn give_back(&self) {
        self.handed.store(false, Ordering::Release);
    }

    /// The broker confirmed it at `at`.
    pub fn confirmed(&self, at: DateTime<Utc>) {
        self.sent_ms
            .store(at.timestamp_millis().max(1), Ordering::Release);
    }

    /// When the broker confirmed it, if it has.
    pub fn sent_ms(&self) -> Option<i64> {
        Some(self.sent_ms.load(Ordering::Acquire)).filter(|ms| *ms != 0)
    }
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
    let rows: Vec<(DateTime<Utc>, &OutMessage, Option<i64>)> =
        messages.iter().map(|m| (at, m, None)).collect();
    insert_rows_in(tx, &rows).await
}

/// Queues messages inside the caller's transaction, each with the time it was decided
/// (the store writer's batches hold several engine steps, or an outage's worth); one the
/// broker already confirmed is written sent.
pub(crate) async fn insert_outbox_in(
    tx: &mut sqlx::AnyConnection,
    messages: &[std::sync::Arc<Unwritten>],
) -> Result<(), StoreError> {
    let rows: Vec<(DateTime<Utc>, &OutMessage, Option<i64>)> = messages
        .iter()
        .map(|m| (m.at, &m.message, m.sent_ms()))
        .collect();
    insert_rows_in(tx, &rows).await
}

/// Queues messages inside the caller's transaction, each with its own decision time.
pub(crate) async fn insert_at_in(
    tx: &mut sqlx::AnyConnection,
    messages: &[(DateTime<Utc>, OutMessage)],
) -> Result<(), StoreError> {
    let rows: Vec<(DateTime<Utc>, &OutMessage, Option<i64>)> =
        messages.iter().map(|(at, m)| (*at, m, None)).collect();
    insert_rows_in(tx, &rows).await
}

async fn insert_rows_in(
    tx: &mut sqlx::AnyConnection,
    rows: &[(DateTime<Utc>, &OutMessage, Option<i64>)],
) -> Result<(), StoreError> {
    for chunk in statement_chunks(rows) {
        let sql = format!(
            "insert into outbox (created_ms, channel, target, payload, retain, sent_ms) values {}",
            placeholders(tx, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for (at, m, sent_ms) in chunk {
            q = q
                .bind(at.timestamp_millis())
                .bind(m.channel.as_str())
                .bind(m.target.as_str())
                .bind(m.payload.as_str())
                .bind(i32::from(m.retain))
                .bind(*sent_ms);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}
