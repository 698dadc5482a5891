//! The store sink: keeps readings, journal entries, snapshots and outbox messages. The
//! engine hands them over without ever waiting ([`StoreSender::send`] only adds to the
//! bounded [`Backlog`], whose module says what gives way when an outage outlasts it); the
//! writer task takes batches from the backlog's front and writes each in one transaction
//! (group commit), so after an outage it catches up a thousand rows at a time.
//!
//! A failed write keeps its batch and is retried with a capped back-off, logged once a
//! minute rather than per try. The connection a failed write used is closed, never handed
//! back to the pool: a failed COMMIT or ROLLBACK leaves sqlx counting a transaction the
//! database has already ended (SQLite rolls back by itself on a full disk), and that
//! connection would refuse every later BEGIN ("attempted to call begin_with at non-zero
//! transaction depth"). At shutdown the writer keeps trying until its grace runs out,
//! then logs exactly what it could not write.
//!
//! A backlog of nothing but readings waits up to [`LINGER`] for more before it is
//! written: a transaction costs far more than a row, and at thousands of MQTT messages a
//! second writing each handful on its own was most of the daemon's work. Anything else (a
//! journal entry, an outbox message, a snapshot) is written at once with the readings.
//!
//! Outbox messages do not wait for the database: while writes fail, the MQTT publisher
//! takes the unwritten ones from here ([`EarlyOutbox`]) and sends them at once, in
//! decision order, and on the broker's PUBACK marks them sent in place; the writer later
//! writes those rows already sent, so the table does not send them again. Messages not
//! confirmed by the time their row is written are written unsent and go through the
//! table as usual (at least once). The publisher takes them only once it has read every
//! row written to the table so far, so none overtakes an older one.
//!
//! The write barrier: each [`StoreSender::send`] gets the next tag, and the writer
//! publishes through a `watch` the last tag up to which every item but readings has been
//! committed (readings are taken last and may give way, so they hold nothing up). A
//! command's caller waits on its [`Ticket`] for that mark to reach its tag, so nothing is
//! acknowledged before it is kept; the engine itself never waits. A snapshot replaced in
//! the backlog counts as kept when its replacement is; a push an entry or message of
//! which gave way is told so ([`NotKept::Lost`]) rather than left waiting.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Connection as _;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::StoreMetrics;
use super::backlog::{Backlog, Batch, Counts, Kind};
use super::health::{Health, WriteReport};
use super::outbox::insert_outbox_in;
use super::readings::{PointKeys, insert_events_in, insert_readings_in};
use super::records::{Receipts, write_records_in};
use super::state::upsert_states_in;
use super::{Backend, OutMessage, Reading, Record, Store, StoreError, Unwritten};
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
    /// A message for the outbox, with the time it was decided.
    Outbox(DateTime<Utc>, OutMessage),
    /// A decision with a table of its own (a judged scan, …).
    Record(Record),
}

/// Most rows written in one transaction.
const BATCH: usize = 1000;
/// Longest a backlog of only readings waits for more (history is read in minutes).
const LINGER: Duration = Duration::from_millis(20);
/// First pause after a failed write; it doubles with each failure up to [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_millis(100);
/// Longest pause between tries, so the writer notices a returned database within seconds.
const RETRY_MAX: Duration = Duration::from_secs(2);
/// Most tags of pushes that lost an item remembered for their waiters (a waiter asks
/// within seconds; only an outage that outlasts the backlog loses items at all).
const LOST_KEPT: usize = 65_536;

/// The backlog, the writer's batch in flight and the health they make, under one lock
/// (held for pushes and takes only, never across an await).
#[derive(Debug)]
struct Queue {
    backlog: Backlog,
    in_flight: Counts,
    in_flight_bytes: usize,
    /// The outbox messages of the batch in flight (older than the backlog's).
    in_flight_outbox: Vec<Arc<Unwritten>>,
    /// The last outbox message written to the table, by its place in decision order.
    written_seq: u64,
    /// Every outbox message before this place was taken early or confirmed, unless the
    /// publisher rewound (a lost connection gives its unconfirmed ones back).
    early_from: u64,
    health: Health,
    /// The last push's tag.
    last_tag: u64,
    /// The oldest tag in the batch in flight, readings aside.
    in_flight_tag: Option<u64>,
    /// Tags of pushes an item of which gave way (the newest [`LOST_KEPT`]).
    lost: BTreeSet<u64>,
}

impl Queue {
    /// The last tag up to which everything but readings is kept.
    fn kept_through(&self) -> u64 {
        let first = [self.backlog.first_tag(), self.in_flight_tag];
        match first.into_iter().flatten().min() {
            Some(tag) => tag - 1,
            None => self.last_tag,
        }
    }

    fn note_lost(&mut self) {
        let lost = self.backlog.take_lost();
        self.lost.extend(lost);
        while self.lost.len() > LOST_KEPT {
            self.lost.pop_first();
        }
    }
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    metrics: StoreMetrics,
    /// Wakes the MQTT publisher: outbox rows written, or unwritten ones to send early.
    publisher: Arc<Notify>,
    /// Who waits for a record to be kept.
    receipts: Receipts,
    /// The write barrier's mark: [`Queue::kept_through`] as last published.
    kept: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `items` under the next tag, which it returns.
    fn push(&self, items: Vec<StoreItem>) -> u64 {
        let now = Instant::now();
        let outbox = items.iter().any(|i| matches!(i, StoreItem::Outbox(..)));
        let (dropped, log, early, tag) = {
            let mut q = self.lock();
            q.health.added(now);
            q.last_tag += 1;
            let tag = q.last_tag;
            let dropped = q.backlog.push(items, tag);
            let log = (dropped.total() > 0)
                .then(|| q.health.gave_way(dropped, now))
                .flatten();
            q.note_lost();
            self.publish(&q);
            (dropped, log, outbox && q.health.failing, tag)
        };
        if early {
            self.publisher.notify_one();
        }
        self.metrics.dropped(dropped);
        if let Some(log) = log {
            log_drops(log);
        }
        tag
    }

    /// Moves the barrier's mark on to what `q` has kept (it never moves back).
    fn publish(&self, q: &Queue) {
        let kept = q.kept_through();
        self.kept.send_if_modified(|mark| {
            let moved = kept > *mark;
            if moved {
                *mark = kept;
            }
            moved
        });
    }

    /// The next batch; it counts as waiting until written.
    fn take(&self) -> Batch {
        let mut q = self.lock();
        let batch = q.backlog.take(BATCH);
        q.in_flight = batch.counts();
        q.in_flight_bytes = batch.bytes();
        q.in_flight_outbox.clone_from(&batch.outbox);
        q.in_flight_tag = batch.first_tag;
        batch
    }

    fn written(&self, batch: &Batch) {
        let mut q = self.lock();
        q.in_flight = Counts::default();
        q.in_flight_bytes = 0;
        q.in_flight_outbox.clear();
        q.in_flight_tag = None;
        self.publish(&q);
        if let Some(last) = batch.outbox.last() {
            q.written_seq = last.seq;
        }
        let more = !q.backlog.is_empty();
        q.health.written(Instant::now(), more);
    }

    fn failed(&self) {
        let outbox = {
            let mut q = self.lock();
            q.health.failing = true;
            !q.in_flight_outbox.is_empty() || q.backlog.counts().get(Kind::Outbox) > 0
        };
        if outbox {
            self.publisher.notify_one();
        }
    }

    /// See [`EarlyOutbox::take`].
    fn take_early(&self, covered: u64, max: usize) -> Vec<Arc<Unwritten>> {
        let mut q = self.lock();
        if !q.health.failing || covered < q.written_seq {
            return Vec::new();
        }
        let from = q.early_from;
        let taken: Vec<Arc<Unwritten>> = q
            .in_flight_outbox
            .iter()
            .filter(|m| m.seq >= from)
            // The central feed has its own forwarder, which reads the table only.
            .filter(|m| m.message.channel != super::central::CHANNEL)
            .chain(q.backlog.outbox_from(from))
            .filter(|m| m.hand())
            .take(max)
            .cloned()
            .collect();
        if let Some(last) = taken.last() {
            q.early_from = last.seq + 1;
        }
        taken
    }

    /// Rows waiting, the batch in flight included.
    fn waiting(&self) -> Counts {
        let q = self.lock();
        let mut c = q.backlog.counts();
        c.merge(q.in_flight);
        c
    }

    fn report(&self) -> WriteReport {
        let q = self.lock();
        let mut waiting = q.backlog.counts();
        waiting.merge(q.in_flight);
        let bytes = q.backlog.bytes() + q.in_flight_bytes;
        q.health.report(waiting, bytes, Instant::now())
    }

    /// Logs drops not yet logged, when a line is due (or now, with `force`).
    fn log_pending_drops(&self, force: bool) {
        let log = self.lock().health.unlogged_drops(Instant::now(), force);
        if let Some(log) = log {
            log_drops(log);
        }
    }
}

fn log_drops(c: Counts) {
    let (readings, outbox, journal) = (
        c.get(Kind::Readings),
        c.get(Kind::Outbox),
        c.get(Kind::Journal),
    );
    if c.has_records() {
        tracing::error!(
            readings,
            outbox,
            journal,
            "store backlog full: journal entries or outbox messages dropped (every held \
             reading went first); the database has been failing too long"
        );
    } else {
        tracing::warn!(
            readings,
            "store backlog full: oldest history readings dropped while the database fails"
        );
    }
}

/// The engine's end: hands items to the writer without waiting.
#[derive(Debug)]
pub struct StoreSender {
    shared: Arc<Shared>,
    /// Wakes the writer; holds at most one wake-up. When every sender is gone the writer
    /// sees it closed and finishes.
    wake: mpsc::Sender<()>,
}

/// The writer's end.
#[derive(Debug)]
pub struct StoreReceiver {
    shared: Arc<Shared>,
    wake: mpsc::Receiver<()>,
    closed: bool,
}

/// One send's place behind the write barrier: [`Ticket::kept`] waits until everything it
/// held but readings is committed.
#[derive(Clone)]
pub struct Ticket {
    tag: u64,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Ticket {
    // The tag only: the shared queue is the whole backlog.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").field("tag", &self.tag).finish()
    }
}

/// Why a ticket's items are not known to be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotKept {
    /// Not committed within the wait (the database is failing); the writer keeps trying.
    #[error("not written yet; the writer keeps trying")]
    Late,
    /// A journal entry or outbox message of it gave way in a backlog full after a long
    /// outage (the book snapshots are still written).
    #[error("a journal entry or outbox message gave way while the database was away")]
    Lost,
}

impl Ticket {
    /// Its place in the order of sends.
    pub fn tag(&self) -> u64 {
        self.tag
    }

    /// Waits at most `within` for the barrier to pass this send.
    pub async fn kept(&self, within: Duration) -> Result<(), NotKept> {
        let mut mark = self.shared.kept.subscribe();
        let passed = tokio::time::timeout(within, mark.wait_for(|m| *m >= self.tag)).await;
        match passed {
            // The sender lives in `shared`, which this ticket holds: it cannot close.
            Ok(_) if self.shared.lock().lost.contains(&self.tag) => Err(NotKept::Lost),
            Ok(_) => Ok(()),
            Err(_) => Err(NotKept::Late),
        }
    }
}

/// A window on the write path for `/readyz` and `/metrics`.
#[derive(Debug, Clone)]
pub struct WriteStatus(Arc<Shared>);

/// The publisher's view of the outbox messages not yet written: it is woken when rows
/// are written or unwritten ones may be sent early, and takes those while writes fail.
#[derive(Debug, Clone)]
pub struct EarlyOutbox(Arc<Shared>);

impl EarlyOutbox {
    /// Rung when outbox rows are written, or when unwritten ones wait while writes fail.
    pub fn ready(&self) -> &Notify {
        &self.0.publisher
    }

    /// The last write failed and none has succeeded since.
    pub fn failing(&self) -> bool {
        self.0.lock().health.failing
    }

    /// The place in decision order of the last outbox message written to the table.
    pub fn written(&self) -> u64 {
        self.0.lock().written_seq
    }

    /// While writes fail, up to `max` outbox messages the database has not kept and the
    /// publisher has not taken, oldest first, each marked taken. `covered` is
    /// [`EarlyOutbox::written`] as it was before a read of the table that found every
    /// unsent row handed over: unless it reaches the last row written, rows in the table
    /// are still to go first and nothing is given (the order holds).
    pub fn take(&self, covered: u64, max: usize) -> Vec<Arc<Unwritten>> {
        self.0.take_early(covered, max)
    }

    /// Messages taken were given back ([`Unwritten::give_back`]): the next
    /// [`EarlyOutbox::take`] looks from the oldest again.
    pub fn rewind(&self) {
        self.0.lock().early_from = 0;
    }
}

/// A channel to the store writer whose backlog holds about `limit_bytes` at most.
pub fn channel(limit_bytes: usize, metrics: StoreMetrics) -> (StoreSender, StoreReceiver) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            backlog: Backlog::new(limit_bytes),
            in_flight: Counts::default(),
            in_flight_bytes: 0,
            in_flight_outbox: Vec::new(),
            written_seq: 0,
            early_from: 0,
            health: Health::default(),
            last_tag: 0,
            in_flight_tag: None,
            lost: BTreeSet::new(),
        }),
        metrics,
        publisher: Arc::default(),
        receipts: Receipts::default(),
        kept: watch::Sender::new(0),
    });
    let (tx, rx) = mpsc::channel(1);
    let rx = StoreReceiver {
        shared: shared.clone(),
        wake: rx,
        closed: false,
    };
    (StoreSender { shared, wake: tx }, rx)
}

impl StoreSender {
    /// Adds `items` to the backlog and wakes the writer; never waits. When the backlog is
    /// full, older records give way (counted and logged; see [`Backlog`]). The ticket
    /// tells when they are kept; `None` when there was nothing to keep.
    pub fn send(&self, items: Vec<StoreItem>) -> Option<Ticket> {
        if items.is_empty() {
            return None;
        }
        let tag = self.shared.push(items);
        // Full means a wake-up is already pending.
        let _ = self.wake.try_send(());
        Some(Ticket {
            tag,
            shared: self.shared.clone(),
        })
    }

    /// The write path's health.
    pub fn status(&self) -> WriteStatus {
        WriteStatus(self.shared.clone())
    }
}

impl WriteStatus {
    /// What the write path is doing now.
    pub fn report(&self) -> WriteReport {
        self.0.report()
    }

    /// Sets the store gauges from the report (called before `/metrics` renders).
    pub fn show(&self) {
        self.0.metrics.show(&self.0.report());
    }

    /// The MQTT publisher's way in.
    pub fn early_outbox(&self) -> EarlyOutbox {
        EarlyOutbox(self.0.clone())
    }

    /// Hears when the next record of scan `id` is written: true when the scan was new to
    /// the table. Ask before sending the scan to the engine. The receiver closes without
    /// an answer when the writer gives up at shutdown.
    pub fn scan_kept(&self, id: &str) -> tokio::sync::oneshot::Receiver<bool> {
        self.0.receipts.scan(id)
    }
}

impl StoreReceiver {
    /// Waits until rows are worth writing: anything but readings at once, readings when a
    /// batch is full or [`LINGER`] has passed. `false` once every sender is gone and
    /// nothing is left.
    async fn gather(&mut self) -> bool {
        while self.shared.lock().backlog.is_empty() {
            if self.closed {
                return false;
            }
            self.closed = self.wake.recv().await.is_none();
        }
        let deadline = Instant::now() + LINGER;
        while !self.closed && self.shared.lock().backlog.only_readings_under(BATCH) {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                more = self.wake.recv() => self.closed = more.is_none(),
            }
        }
        true
    }
}

/// Shutdown as the writer sees it: once the token fires it has `grace` to write the rest.
#[derive(Debug)]
struct Stop {
    token: CancellationToken,
    grace: Duration,
    deadline: Option<Instant>,
}

impl Stop {
    /// Notes the deadline if the token has fired.
    fn note(&mut self) {
        if self.deadline.is_none() && self.token.is_cancelled() {
            self.deadline = Some(Instant::now() + self.grace);
        }
    }

    /// Resolves when the grace after the token is over.
    async fn out_of_time(&mut self) {
        if self.deadline.is_none() {
            self.token.cancelled().await;
            self.note();
        }
        if let Some(d) = self.deadline {
            tokio::time::sleep_until(d).await;
        }
    }

    fn passed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Back-off and log throttle while writes fail.
#[derive(Debug, Default)]
struct Trouble {
    since: Option<Instant>,
    tries: u32,
    pause: Duration,
    logged: Option<Instant>,
}

impl Trouble {
    /// A failed try; how long to pause before the next.
    fn failed(&mut self, error: &StoreError, waiting: Counts) -> Duration {
        let now = Instant::now();
        self.since.get_or_insert(now);
        self.tries += 1;
        self.pause = (self.pause * 2).clamp(RETRY_MIN, RETRY_MAX);
        let due = self
            .logged
            .is_none_or(|t| now.saturating_duration_since(t) >= super::health::LOG_EVERY);
        if due {
            self.logged = Some(now);
            let failing_s = now
                .saturating_duration_since(self.since.unwrap_or(now))
                .as_secs();
            tracing::warn!(
                tries = self.tries,
                failing_s,
                waiting = waiting.total(),
                error = %error,
                "store writes failing; rows held in memory and retried (logged once a minute)"
            );
        }
        self.pause
    }

    /// A write succeeded.
    fn recovered(&mut self, waiting: Counts) {
        if let Some(since) = self.since {
            tracing::info!(
                tries = self.tries,
                failing_s = since.elapsed().as_secs(),
                waiting = waiting.total(),
                "store writes recovered; catching up"
            );
        }
        *self = Trouble::default();
    }
}

/// The writer task.
#[derive(Debug)]
pub struct Writer {
    /// Where rows go.
    pub store: Store,
    /// What to write.
    pub rx: StoreReceiver,
    /// Rows written.
    pub metrics: StoreMetrics,
    /// The points' history keys as far as known ([`PointKeys::for_hub`]); the writer adds
    /// the rest.
    pub keys: PointKeys,
    /// The central feed when `[central]` is set: each batch's records also get outbox
    /// rows for the centre, in the same transaction.
    pub central: Option<super::central::Feed>,
}

impl Writer {
    /// Writes until every sender is gone and the backlog is empty; once `stop` fires it
    /// keeps trying for `grace`, then logs what it could not write and returns.
    pub async fn run(mut self, stop: CancellationToken, grace: Duration) {
        let mut stop = Stop {
            token: stop,
            grace,
            deadline: None,
        };
        let mut batch = Batch::default();
        let mut trouble = Trouble::default();
        loop {
            stop.note();
            if batch.is_empty() {
                if !self.rx.gather().await {
                    self.rx.shared.log_pending_drops(true);
                    return;
                }
                batch = self.rx.shared.take();
            }
            let result = tokio::select! {
                r = batch.write(&self.store, &mut self.keys, self.central.as_ref()) => Some(r),
                () = stop.out_of_time() => None,
            };
            match result {
                Some(Ok(kept)) => {
                    self.written(&batch);
                    self.rx.shared.receipts.kept(&kept);
                    batch = Batch::default();
                    trouble.recovered(self.rx.shared.waiting());
                }
                Some(Err(e)) => {
                    self.metrics.error("batch");
                    for _ in batch
                        .records
                        .iter()
                        .filter(|r| matches!(r, Record::Scan(_)))
                    {
                        self.metrics.scan_retry();
                    }
                    self.rx.shared.failed();
                    let pause = trouble.failed(&e, self.rx.shared.waiting());
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = stop.out_of_time() => {}
                    }
                }
                None => {}
            }
            self.rx.shared.log_pending_drops(false);
            if stop.passed() {
                self.give_up();
                return;
            }
        }
    }

    fn written(&self, batch: &Batch) {
        self.rx.shared.written(batch);
        let c = batch.counts();
        self.metrics.stored("events", batch.events.len());
        self.metrics.stored("outbox", batch.outbox.len());
        self.metrics.stored("core_state", batch.states.len());
        self.metrics.stored("readings", batch.readings.len());
        self.metrics.stored("records", batch.records.len());
        if c.get(Kind::Outbox) > 0 {
            self.rx.shared.publisher.notify_one();
        }
    }

    /// The grace is over: says exactly what was not written.
    fn give_up(&self) {
        self.rx.shared.receipts.abandon();
        self.rx.shared.log_pending_drops(true);
        let left = self.rx.shared.waiting();
        tracing::error!(
            readings = left.get(Kind::Readings),
            journal = left.get(Kind::Journal),
            outbox = left.get(Kind::Outbox),
            snapshots = left.get(Kind::Snapshots),
            records = left.get(Kind::Records),
            "store unreachable at shutdown; rows not written"
        );
    }
}

impl Batch {
    /// Writes the batch in one transaction on a connection of its own, which is closed,
    /// not returned to the pool, when anything fails (see the module doc). For each scan,
    /// in order, whether it was new to the table.
    async fn write(
        &self,
        store: &Store,
        keys: &mut PointKeys,
        central: Option<&super::central::Feed>,
    ) -> Result<Vec<(String, bool)>, StoreError> {
        // Before the transaction: a point new to the database gets its key on its own.
        let keys = keys.of(store, &self.readings, &self.slots).await?;
        let mut conn = store.pool().acquire().await?;
        let result = self
            .write_on(store.backend(), &mut conn, &keys, central)
            .await;
        if result.is_err() {
            conn.close_on_drop();
        }
        result
    }

    async fn write_on(
        &self,
        backend: Backend,
        conn: &mut sqlx::AnyConnection,
        keys: &[i64],
        central: Option<&super::central::Feed>,
    ) -> Result<Vec<(String, bool)>, StoreError> {
        let mut tx = match backend {
            // Takes the write lock up front, as `Store::write_tx` does.
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => conn.begin().await?,
        };
        insert_events_in(&mut tx, &self.events).await?;
        insert_outbox_in(&mut tx, &self.outbox).await?;
        upsert_states_in(&mut tx, &self.states).await?;
        let kept = write_records_in(&mut tx, &self.records).await?;
        insert_readings_in(&mut tx, &self.readings, keys).await?;
        if let Some(feed) = central {
            let parts = super::central::Parts {
                events: &self.events,
                states: &self.states,
                records: &self.records,
                scans: &kept,
                readings: &self.readings,
            };
            super::central::insert_central_in(&mut tx, feed, &parts).await?;
        }
        tx.commit().await?;
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u32) -> StoreItem {
        let m = OutMessage {
            channel: "mqtt".into(),
            target: format!("t/{n}"),
            payload: "{}".into(),
            retain: false,
        };
        StoreItem::Outbox(Utc::now(), m)
    }

    fn targets(ms: &[Arc<Unwritten>]) -> Vec<&str> {
        ms.iter().map(|m| m.message.target.as_str()).collect()
    }

    #[test]
    fn unwritten_messages_go_early_only_while_writes_fail_each_once_in_order() {
        let (tx, _rx) = channel(
            usize::MAX,
            StoreMetrics::register(&crate::metrics::Registry::new()),
        );
        let early = tx.status().early_outbox();
        tx.send(vec![message(1), message(2)]);
        assert!(early.take(0, 10).is_empty(), "not while writes work");
        // The writer takes a batch and fails it; a third message arrives meanwhile.
        let batch = tx.shared.take();
        tx.shared.failed();
        tx.send(vec![message(3)]);
        let first = early.take(0, 2);
        assert_eq!(targets(&first), ["t/1", "t/2"], "the failed batch's first");
        assert_eq!(targets(&early.take(0, 10)), ["t/3"], "each once");
        // A reconnect before the broker confirmed them: they go again, still first.
        first[1].confirmed(Utc::now());
        first[0].give_back();
        first[1].give_back();
        early.rewind();
        assert_eq!(
            targets(&early.take(0, 10)),
            ["t/1"],
            "a confirmed one not again"
        );
        assert_eq!(batch.outbox[1].sent_ms().map(|ms| ms > 0), Some(true));
        assert_eq!(
            batch.outbox[0].sent_ms(),
            None,
            "written unsent unless confirmed"
        );
    }

    #[test]
    fn nothing_goes_early_ahead_of_a_written_row_the_publisher_has_not_read() {
        let (tx, _rx) = channel(
            usize::MAX,
            StoreMetrics::register(&crate::metrics::Registry::new()),
        );
        let early = tx.status().early_outbox();
        tx.send(vec![message(1)]);
        let batch = tx.shared.take();
        tx.shared.written(&batch);
        assert_eq!(early.written(), 1);
        tx.send(vec![message(2)]);
        tx.shared.failed();
        assert!(early.failing());
        assert!(
            early.take(0, 10).is_empty(),
            "row 1 is in the table, not yet handed over: it goes first"
        );
        assert_eq!(targets(&early.take(1, 10)), ["t/2"]);
    }
}

#[cfg(test)]
mod barrier_tests {
    use super::*;

    /// Long enough for a waiter to see a mark already published; nothing waits on time.
    const QUICK: Duration = Duration::from_millis(20);

    fn metrics() -> StoreMetrics {
        StoreMetrics::register(&crate::metrics::Registry::new())
    }

    fn entry(body_len: usize) -> StoreItem {
        let body = "x".repeat(body_len);
        StoreItem::Event(Utc::now(), "request".into(), "7".into(), body)
    }

    fn snapshot(book: &str, v: u32) -> StoreItem {
        StoreItem::State(book.into(), format!("{{\"v\":{v}}}"), Utc::now())
    }

    fn reading() -> StoreItem {
        let r = Reading {
            point: "em_b1.voltage_l1".into(),
            at: Utc::now(),
            value: 230.0,
        };
        StoreItem::Reading(r, None)
    }

    #[tokio::test]
    async fn a_send_is_kept_once_it_and_every_send_before_it_are_committed() {
        let (tx, _rx) = channel(usize::MAX, metrics());
        let first = tx.send(vec![entry(2), snapshot("requests", 1)]);
        let first = first.expect("a ticket");
        let second = tx.send(vec![entry(2)]).expect("a ticket");
        assert!(second.tag() > first.tag(), "tags follow the order of sends");
        assert_eq!(
            first.kept(QUICK).await,
            Err(NotKept::Late),
            "nothing written"
        );
        let batch = tx.shared.take();
        tx.shared.failed();
        assert_eq!(
            first.kept(QUICK).await,
            Err(NotKept::Late),
            "a failed write"
        );
        // A waiter already waiting is released by the commit.
        let waiter = tokio::spawn({
            let first = first.clone();
            async move { first.kept(Duration::from_secs(30)).await }
        });
        let third = tx.send(vec![entry(2)]).expect("a ticket");
        tx.shared.written(&batch);
        assert_eq!(waiter.await.expect("waiter"), Ok(()));
        assert_eq!(second.kept(QUICK).await, Ok(()), "in the same batch");
        assert_eq!(
            third.kept(QUICK).await,
            Err(NotKept::Late),
            "sent after the batch was taken: still in the backlog"
        );
        let rest = tx.shared.take();
        tx.shared.written(&rest);
        assert_eq!(third.kept(QUICK).await, Ok(()));
        assert_eq!(
            tx.send(Vec::new()).map(|t| t.tag()),
            None,
            "nothing to keep"
        );
    }

    #[tokio::test]
    async fn readings_hold_nothing_up() {
        let (tx, _rx) = channel(usize::MAX, metrics());
        let history = tx.send(vec![reading(), reading()]).expect("a ticket");
        assert_eq!(history.kept(QUICK).await, Ok(()));
        let journalled = tx.send(vec![entry(2)]).expect("a ticket");
        // More readings than a batch takes: some stay in the backlog after it.
        let _ = tx.send((0..BATCH).map(|_| reading()).collect());
        let batch = tx.shared.take();
        tx.shared.written(&batch);
        assert!(tx.shared.waiting().get(Kind::Readings) > 0, "readings left");
        assert_eq!(
            journalled.kept(QUICK).await,
            Ok(()),
            "readings still queued do not hold the barrier"
        );
    }

    #[tokio::test]
    async fn a_replaced_snapshot_is_kept_when_its_replacement_is() {
        let (tx, _rx) = channel(usize::MAX, metrics());
        let old = tx.send(vec![snapshot("requests", 1)]).expect("a ticket");
        let new = tx.send(vec![snapshot("requests", 2)]).expect("a ticket");
        let batch = tx.shared.take();
        assert_eq!(batch.states.len(), 1, "coalesced");
        assert_eq!(old.kept(QUICK).await, Err(NotKept::Late), "in flight");
        tx.shared.written(&batch);
        assert_eq!(old.kept(QUICK).await, Ok(()));
        assert_eq!(new.kept(QUICK).await, Ok(()));
    }

    #[tokio::test]
    async fn a_waiter_whose_entry_gave_way_is_released_with_the_loss() {
        // Room for one entry of this size, not two.
        let (tx, _rx) = channel(300, metrics());
        let lost = tx.send(vec![entry(100)]).expect("a ticket");
        let waiter = tokio::spawn({
            let lost = lost.clone();
            async move { lost.kept(Duration::from_secs(30)).await }
        });
        tokio::task::yield_now().await;
        let kept = tx.send(vec![entry(100)]).expect("a ticket");
        assert_eq!(waiter.await.expect("waiter"), Err(NotKept::Lost));
        assert_eq!(kept.kept(QUICK).await, Err(NotKept::Late), "still waiting");
        let batch = tx.shared.take();
        tx.shared.written(&batch);
        assert_eq!(kept.kept(QUICK).await, Ok(()));
    }
}
