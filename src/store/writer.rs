//! The store sink: writes readings, journal entries, snapshots and outbox messages with
//! group commit (what arrived while the last write ran goes in the next transaction). A
//! failed write keeps the batch and retries, so a database blip loses nothing; when the
//! channel closes at shutdown, whatever is left is flushed before the task ends.
//!
//! A batch of nothing but readings waits up to [`LINGER`] for more before it is written:
//! a transaction costs far more than a row (several hops to SQLite's thread and a WAL
//! commit), and at thousands of MQTT messages a second writing each handful on its own was
//! most of the daemon's work. Anything else (a journal entry, an outbox message, a
//! snapshot) is written at once and takes the waiting readings with it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use std::sync::Arc;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};

use super::outbox::enqueue_in;
use super::readings::{PointKeys, insert_events_in, insert_readings_in};
use super::state::upsert_states_in;
use super::{OutMessage, Reading, Store, StoreError};
use crate::metrics::Metrics;
use sitewatch_core::points::HubSlot;

/// Something to keep.
#[derive(Debug, Clone)]
pub enum StoreItem {
    /// A point value for history, with its point's slot in the hub when a hub made it
    /// (the writer keeps points' integer keys by slot).
    Reading(Reading, Option<HubSlot>),
    /// A journal entry: time, kind, subject, JSON body.
    Event(DateTime<Utc>, String, String, String),
    /// The latest snapshot of a core book: name, JSON body, time.
    State(String, String, DateTime<Utc>),
    /// A message for the outbox.
    Outbox(DateTime<Utc>, OutMessage),
}

/// Most items written in one transaction.
const BATCH: usize = 1000;
/// Longest a batch of only readings waits for more (history is read in minutes).
const LINGER: Duration = Duration::from_millis(20);
/// Batches the channel holds (each is what one engine step decided).
const CHANNEL: usize = 1024;
/// Most items in the channel. It bounds messages, not items, and one engine step may send
/// thousands: at start-up the first polls of 1,000 devices (20,000 readings, 20,000 quality
/// journal entries) were all queued at once, some 9 MB (`sitewatch bench rss`). Room is
/// freed when the writer takes a message into its batch, not when the batch is written:
/// while the store fails, the batch keeps growing as before instead of holding the engine.
/// A failing write can take the pool's 5 s acquire timeout; 16,000 items are 8 s of a
/// large site's 2,000 readings/s, so a database blip does not stall the engine (and with
/// it alarms and the live view) while the writer waits.
const QUEUED_ITEMS: usize = 16 * BATCH;

/// Items and the room they take in the channel, given back when the writer takes them.
type Queued = (Vec<StoreItem>, OwnedSemaphorePermit);

/// The engine's end of the store channel.
#[derive(Debug, Clone)]
pub struct StoreSender {
    tx: mpsc::Sender<Queued>,
    urgent: Arc<Notify>,
    room: Arc<Semaphore>,
}

/// The writer's end of the store channel.
#[derive(Debug)]
pub struct StoreReceiver {
    rx: mpsc::Receiver<Queued>,
    urgent: Arc<Notify>,
}

/// A channel to the store writer.
pub fn channel() -> (StoreSender, StoreReceiver) {
    let (tx, rx) = mpsc::channel(CHANNEL);
    let urgent = Arc::new(Notify::new());
    let rx = StoreReceiver {
        rx,
        urgent: urgent.clone(),
    };
    let room = Arc::new(Semaphore::new(QUEUED_ITEMS));
    (StoreSender { tx, urgent, room }, rx)
}

impl StoreSender {
    /// Queues `items` as one message; waits while the writer is behind (backpressure, not
    /// loss). Anything but readings wakes a lingering writer at once.
    pub async fn send(&self, items: Vec<StoreItem>) {
        if items.is_empty() {
            return;
        }
        let urgent = items.iter().any(|i| !matches!(i, StoreItem::Reading(..)));
        // More than the whole room waits for all of it.
        let n = u32::try_from(items.len().min(QUEUED_ITEMS)).unwrap_or(u32::MAX);
        let Ok(room) = self.room.clone().acquire_many_owned(n).await else {
            return;
        };
        let _ = self.tx.send((items, room)).await;
        if urgent {
            self.urgent.notify_one();
        }
    }
}
/// Retry interval for a batch whose write failed.
const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// Final flush attempts at shutdown before giving up (and saying so).
const FINAL_TRIES: u32 = 5;

#[derive(Debug, Default)]
struct Batch {
    readings: Vec<Reading>,
    /// Beside `readings`: each one's hub slot.
    slots: Vec<Option<HubSlot>>,
    events: Vec<(DateTime<Utc>, String, String, String)>,
    /// Latest snapshot per book; older ones in the same batch are superseded.
    states: std::collections::BTreeMap<String, (String, DateTime<Utc>)>,
    outbox: Vec<OutMessage>,
}

impl Batch {
    fn len(&self) -> usize {
        self.readings.len() + self.events.len() + self.states.len() + self.outbox.len()
    }

    /// Only readings, which may wait for company.
    fn can_linger(&self) -> bool {
        self.events.is_empty() && self.states.is_empty() && self.outbox.is_empty()
    }

    /// Takes a message's items; its room in the channel is free again.
    fn extend(&mut self, (items, _room): Queued) {
        for item in items {
            self.push(item);
        }
    }

    fn push(&mut self, item: StoreItem) {
        match item {
            StoreItem::Reading(r, slot) => {
                self.readings.push(r);
                self.slots.push(slot);
            }
            StoreItem::Event(at, k, s, b) => self.events.push((at, k, s, b)),
            StoreItem::State(name, body, at) => {
                self.states.insert(name, (body, at));
            }
            StoreItem::Outbox(_, m) => self.outbox.push(m),
        }
    }

    /// Writes what it holds in one transaction (one commit, one sync); on failure keeps
    /// it all for the next try.
    async fn flush(&mut self, store: &Store, keys: &mut PointKeys, metrics: &Metrics) -> bool {
        if self.len() == 0 {
            return true;
        }
        match self.write(store, keys).await {
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

    async fn write(&self, store: &Store, keys: &mut PointKeys) -> Result<(), StoreError> {
        // Before the transaction: a point new to the database gets its key on its own.
        let keys = keys.of(store, &self.readings, &self.slots).await?;
        let mut tx = store.write_tx().await?;
        insert_events_in(&mut tx, &self.events).await?;
        enqueue_in(&mut tx, Utc::now(), &self.outbox).await?;
        let states: Vec<_> = self
            .states
            .iter()
            .map(|(n, (b, at))| (n.clone(), b.clone(), *at))
            .collect();
        upsert_states_in(&mut tx, &states).await?;
        insert_readings_in(&mut tx, &self.readings, &keys).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Runs until the channel closes, then flushes the rest. `keys` holds the points' history
/// keys as far as they are known ([`PointKeys::for_hub`]); the writer adds the rest.
pub async fn run(
    store: Store,
    mut rx: StoreReceiver,
    metrics: Metrics,
    outbox_ready: Arc<Notify>,
    mut keys: PointKeys,
) {
    let mut batch = Batch::default();
    let mut retry = tokio::time::interval(FLUSH_EVERY);
    loop {
        tokio::select! {
            items = rx.rx.recv() => match items {
                Some(items) => {
                    batch.extend(items);
                    rx.gather(&mut batch).await;
                    let outbox = !batch.outbox.is_empty();
                    if batch.flush(&store, &mut keys, &metrics).await && outbox {
                        outbox_ready.notify_one();
                    }
                }
                None => break,
            },
            _ = retry.tick(), if batch.len() > 0 => {
                batch.flush(&store, &mut keys, &metrics).await;
            }
        }
    }
    for attempt in 1..=FINAL_TRIES {
        if batch.flush(&store, &mut keys, &metrics).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
    }
    tracing::error!(
        rows = batch.len(),
        "store unreachable at shutdown; rows not written"
    );
}

impl StoreReceiver {
    /// Group commit: whatever already waits goes in the same transaction; readings alone
    /// wait up to [`LINGER`] for more, anything else is written at once (an alarm's MQTT
    /// event should not wait for a timer).
    async fn gather(&mut self, batch: &mut Batch) {
        let deadline = tokio::time::Instant::now() + LINGER;
        loop {
            self.drain(batch);
            if batch.len() >= BATCH || !batch.can_linger() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    self.drain(batch);
                    return;
                }
                () = self.urgent.notified() => {}
            }
        }
    }

    fn drain(&mut self, batch: &mut Batch) {
        while batch.len() < BATCH {
            match self.rx.try_recv() {
                Ok(items) => batch.extend(items),
                Err(_) => break,
            }
        }
    }
}
