//! The store sink: writes readings, journal entries, snapshots and outbox messages with
//! group commit (what arrived while the last write ran goes in the next transaction). A
//! failed write keeps the batch and retries, so a database blip loses nothing; when the
//! channel closes at shutdown, whatever is left is flushed before the task ends.

use std::time::Duration;

use chrono::{DateTime, Utc};
use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::{OutMessage, Reading, Store};
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

    /// Writes what it holds; on failure keeps it for the next try.
    async fn flush(&mut self, store: &Store, metrics: &Metrics) -> bool {
        let mut ok = true;
        if !self.events.is_empty() {
            match store.insert_events(&self.events).await {
                Ok(()) => {
                    metrics.stored("events", self.events.len());
                    self.events.clear();
                }
                Err(e) => ok = failed(metrics, "events", &e),
            }
        }
        if !self.outbox.is_empty() {
            match store.enqueue(Utc::now(), &self.outbox).await {
                Ok(()) => {
                    metrics.stored("outbox", self.outbox.len());
                    self.outbox.clear();
                }
                Err(e) => ok = failed(metrics, "outbox", &e),
            }
        }
        if !self.states.is_empty() {
            let rows: Vec<_> = self
                .states
                .iter()
                .map(|(n, (b, at))| (n.clone(), b.clone(), *at))
                .collect();
            match store.upsert_states(&rows).await {
                Ok(()) => {
                    metrics.stored("core_state", rows.len());
                    self.states.clear();
                }
                Err(e) => ok = failed(metrics, "core_state", &e),
            }
        }
        if !self.readings.is_empty() {
            match store.insert_readings(&self.readings).await {
                Ok(()) => {
                    metrics.stored("readings", self.readings.len());
                    self.readings.clear();
                }
                Err(e) => ok = failed(metrics, "readings", &e),
            }
        }
        ok
    }
}

fn failed(metrics: &Metrics, table: &str, e: &super::StoreError) -> bool {
    metrics.store_error(table);
    tracing::warn!(table, error = %e, "store write failed; keeping the batch to retry");
    false
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
