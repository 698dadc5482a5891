//! The store sink: writes readings, journal entries, snapshots and outbox messages with
//! group commit (what arrived while the last write ran goes in the next transaction). A
//! failed write keeps the batch and retries, so a database blip loses nothing; when the
//! channel closes at shutdown, whatever is left is flushed before the task ends.

use std::time::Duration;

use chrono::{DateTime, Utc};
use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::outbox::enqueue_in;
use super::readings::{insert_events_in, insert_readings_in};
use super::state::upsert_states_in;
use super::{OutMessage, Reading, Store, StoreError};
use crate::metrics::Metrics;

/// Something to keep.
#[derive(Debug, Clone)]
pub enum StoreItem {
    /// A point value for history.
    Reading(Reading),
    /// A journal entry: time, kind, subject, JSON body.
    Event(DateTime<Utc>, String, String, String),
    /// The latest snapshot of a core book: name, JSON body, time.
    State(String, String, DateTime<Utc>),
    /// A message for the outbox.
    Outbox(DateTime<Utc>, OutMessage),
}

/// Most items written in one transaction.
const BATCH: usize = 1000;
/// Retry interval for a batch whose write failed.
const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// Final flush attempts at shutdown before giving up (and saying so).
const FINAL_TRIES: u32 = 5;

#[derive(Debug, Default)]
struct Batch {
    readings: Vec<Reading>,
    events: Vec<(DateTime<Utc>, String, String, String)>,
    /// Latest snapshot per book; older ones in the same batch are superseded.
    states: std::collections::BTreeMap<String, (String, DateTime<Utc>)>,
    outbox: Vec<OutMessage>,
}

impl Batch {
    fn len(&self) -> usize {
        self.readings.len() + self.events.len() + self.states.len() + self.outbox.len()
    }

    fn push(&mut self, item: StoreItem) {
        match item {
            StoreItem::Reading(r) => self.readings.push(r),
            StoreItem::Event(at, k, s, b) => self.events.push((at, k, s, b)),
            StoreItem::State(name, body, at) => {
                self.states.insert(name, (body, at));
            }
            StoreItem::Outbox(_, m) => self.outbox.push(m),
        }
    }

    /// Writes what it holds in one transaction (one commit, one sync); on failure keeps
    /// it all for the next try.
    async fn flush(&mut self, store: &Store, metrics: &Metrics) -> bool {
        if self.len() == 0 {
            return true;
        }
        match self.write(store).await {
            Ok(()) => {
                metrics.stored("events", self.events.len());
                metrics.stored("outbox", self.outbox.len());
                metrics.stored("core_state", self.states.len());
                metrics.stored("readings", self.readings.len());
                *self = Batch::default();
                true
            }
            Err(e) => {
                metrics.store_error("batch");
                tracing::warn!(rows = self.len(), error = %e, "store write failed; keeping the batch to retry");
                false
            }
        }
    }

    async fn write(&self, store: &Store) -> Result<(), StoreError> {
        let mut tx = store.write_tx().await?;
        insert_events_in(&mut tx, &self.events).await?;
        enqueue_in(&mut tx, Utc::now(), &self.outbox).await?;
        let states: Vec<_> = self
            .states
            .iter()
            .map(|(n, (b, at))| (n.clone(), b.clone(), *at))
            .collect();
        upsert_states_in(&mut tx, &states).await?;
        insert_readings_in(&mut tx, &self.readings).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Runs until `rx` closes, then flushes the rest.
pub async fn run(
    store: Store,
    mut rx: mpsc::Receiver<StoreItem>,
    metrics: Metrics,
    outbox_ready: Arc<Notify>,
) {
    let mut batch = Batch::default();
    let mut retry = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => {
                    batch.push(item);
                    // Group commit: whatever else already waits goes in the same
                    // transaction; a lone item is written at once (an alarm's MQTT event
                    // should not wait for a timer).
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(item) => batch.push(item),
                            Err(_) => break,
                        }
                    }
                    let outbox = !batch.outbox.is_empty();
                    if batch.flush(&store, &metrics).await && outbox {
                        outbox_ready.notify_one();
                    }
                }
                None => break,
            },
            _ = retry.tick(), if batch.len() > 0 => {
                batch.flush(&store, &metrics).await;
            }
        }
    }
    for attempt in 1..=FINAL_TRIES {
        if batch.flush(&store, &metrics).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
    }
    tracing::error!(
        rows = batch.len(),
        "store unreachable at shutdown; rows not written"
    );
}
