//! The central feed (issue 23): every record the writer keeps gets a row in the outbox
//! on channel `central`, in the same transaction, for the JetStream forwarder
//! (`outbox::jetstream`) to carry to the central office. The row's `target` is the
//! record's kind (`alarm`, `incident`, `scan`, `state`, `reading`…) and its payload an
//! envelope `{"at_ms", "subject", "body"}`; the row's id is the record's id at the
//! centre, so a record sent twice is applied once.
//!
//! The forward buffer is bounded ([`Gate`]): the forwarder measures it and closes the
//! gate for history first, then for records; what the gate refuses is still kept on
//! site, only not forwarded, and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use prometheus::IntCounterVec;
use serde::Serialize;

use super::{JournalRow, OutMessage, Reading, Record, StoreError, Unwritten};
use crate::metrics::Registry;

/// The outbox channel of the central feed.
pub const CHANNEL: &str = "central";

/// Which point history travels to the centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// None.
    None,
    /// What the site's own history keeps (deadband and heartbeat).
    Recorded,
    /// Every sample read.
    All,
}

/// Whether the forward buffer still takes history and records; shared by the writer
/// (and the engine's sinks, for samples history does not keep) and the forwarder that
/// measures the buffer.
#[derive(Debug)]
pub struct Gate {
    history: AtomicBool,
    records: AtomicBool,
    refused: IntCounterVec,
}

impl Gate {
    /// An open gate, its refusals counted in `r`.
    pub fn register(r: &Registry) -> Arc<Gate> {
        Arc::new(Gate {
            history: AtomicBool::new(true),
            records: AtomicBool::new(true),
            refused: r.counter(
                "sitewatch_central_refused_total",
                "Records not forwarded to the centre because the forward buffer was full \
                 (kept on site), by kind: history goes first, then records.",
                &["kind"],
            ),
        })
    }

    /// Opens or closes the gate for history and for records.
    pub fn set(&self, history: bool, records: bool) {
        self.history.store(history, Ordering::Relaxed);
        self.records.store(records, Ordering::Relaxed);
    }

    /// Takes `n` history rows: false (and counted) while the buffer refuses history.
    pub fn history(&self, n: usize) -> bool {
        let open = self.history.load(Ordering::Relaxed);
        if !open && n > 0 {
            self.refused
                .with_label_values(&["history"])
                .inc_by(n as u64);
        }
        open
    }

    /// Takes `n` records: false (and counted) while the buffer is full.
    pub fn records(&self, n: usize) -> bool {
        let open = self.records.load(Ordering::Relaxed);
        if !open && n > 0 {
            self.refused.with_label_values(&["record"]).inc_by(n as u64);
        }
        open
    }
}

/// What the writer forwards: the history level and the buffer's gate.
#[derive(Debug, Clone)]
pub struct Feed {
    /// Which history travels.
    pub history: History,
    /// The buffer's gate.
    pub gate: Arc<Gate>,
}

impl Feed {
    /// A feed for a one-off command (`sitewatch import …`): records only, its gate open
    /// and its refusals counted nowhere (nothing measures the buffer there).
    pub fn records_only() -> Feed {
        Feed {
            history: History::None,
            gate: Gate::register(&Registry::new()),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, B: Serialize> {
    at_ms: i64,
    subject: &'a str,
    body: B,
}

/// One central row: kind, envelope.
fn row<B: Serialize>(kind: &str, at: DateTime<Utc>, subject: &str, body: B) -> Option<OutMessage> {
    let envelope = Envelope {
        at_ms: at.timestamp_millis(),
        subject,
        body,
    };
    Some(OutMessage {
        channel: CHANNEL.into(),
        target: kind.into(),
        payload: serde_json::to_string(&envelope).ok()?,
        retain: false,
    })
}

/// A journal entry's row; its body is JSON already.
fn journal_row((at, kind, subject, body): &JournalRow) -> Option<OutMessage> {
    let body: serde_json::Value = serde_json::from_str(body).ok()?;
    row(kind, *at, subject, body)
}

/// A record's row; a scan only when it was new to the table (`fresh`).
fn record_row(
    record: &Record,
    fresh: &mut impl Iterator<Item = bool>,
    now: DateTime<Utc>,
) -> Option<OutMessage> {
    match record {
        Record::Scan(r) => fresh
            .next()
            .filter(|new| *new)
            .and_then(|_| row("scan", r.scan.scanned_at, &r.scan.id, r)),
        Record::Finding(f) => row("finding", now, "", f),
        Record::Inspection { inspection, at } => row("inspection_record", *at, "", inspection),
        Record::KeyLoan(loan) => row("key_loan", now, "", loan),
        Record::KeyInventory(inv) => row("key_inventory", now, "", inv),
        Record::MaintenanceDone(done) => row("maintenance_done", now, &done.task, done),
        Record::ComplianceItems { items, at, .. } => row("compliance_items", *at, "", items),
        Record::ComplianceDone { item, at, .. } => row("compliance_done", *at, &item.id, item),
        Record::DutyEntry(e) => row("duty_log", e.at, &e.id.to_string(), e),
        Record::FireTestApplied { id, at } => row("fire_test_applied", *at, &id.to_string(), id),
        Record::MeterSnapshots(rows) => row("meter_snapshots", now, "", rows),
    }
}

/// A history reading's row.
pub fn reading_row(r: &Reading) -> Option<OutMessage> {
    row("reading", r.at, r.point.as_ref(), r.value)
}

/// What one batch puts in the central feed.
pub(super) struct Parts<'a> {
    pub(super) events: &'a [JournalRow],
    pub(super) states: &'a [(String, String, DateTime<Utc>)],
    pub(super) records: &'a [Record],
    /// Per scan record, in order, whether it was new.
    pub(super) scans: &'a [(String, bool)],
    pub(super) readings: &'a [Reading],
}

impl Feed {
    /// The central rows of a batch, in the order they were decided (journal, book states,
    /// records, history), less what the gate refuses.
    pub(super) fn rows(&self, p: &Parts<'_>, now: DateTime<Utc>) -> Vec<Arc<Unwritten>> {
        let mut out: Vec<OutMessage> = Vec::new();
        let mut fresh = p.scans.iter().map(|(_, new)| *new);
        let records: Vec<OutMessage> = p
            .events
            .iter()
            .filter_map(journal_row)
            .chain(p.states.iter().filter_map(|(name, body, at)| {
                let body: serde_json::Value = serde_json::from_str(body).ok()?;
                row("state", *at, name, body)
            }))
            .chain(
                p.records
                    .iter()
                    .filter_map(|r| record_row(r, &mut fresh, now)),
            )
            .collect();
        if self.gate.records(records.len()) {
            out.extend(records);
        }
        if self.history != History::None && self.gate.history(p.readings.len()) {
            out.extend(p.readings.iter().filter_map(reading_row));
        }
        out.into_iter()
            .map(|m| Arc::new(Unwritten::new(now, m, 0)))
            .collect()
    }
}

/// Writes the batch's central rows on `tx` (see [`Feed::rows`]).
pub(super) async fn insert_central_in(
    tx: &mut sqlx::AnyConnection,
    feed: &Feed,
    parts: &Parts<'_>,
) -> Result<(), StoreError> {
    let rows = feed.rows(parts, Utc::now());
    super::outbox::insert_outbox_in(tx, &rows).await
}

/// What the forward buffer holds: central rows not yet purged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Buffered {
    /// Rows.
    pub rows: i64,
    /// Their payloads' size.
    pub bytes: i64,
    /// The oldest row's decision time (ms since the epoch), if any.
    pub oldest_ms: Option<i64>,
}

/// The central rows of records written outside the writer (the unit and meter registers,
/// notices and their deliveries, planned fire tests, notice messages' outcomes), in the
/// order they were decided; [`super::Store::feed_in`] writes them in the records' own
/// transaction. Empty (and nothing serialised) without `[central]`.
#[derive(Debug, Default)]
pub(crate) struct Outside {
    on: bool,
    rows: Vec<(DateTime<Utc>, OutMessage)>,
}

impl Outside {
    /// Whether records travel at all (`[central]` set).
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// Adds a record of `kind` decided `at` about `subject`.
    pub(crate) fn push<B: Serialize>(
        &mut self,
        kind: &str,
        at: DateTime<Utc>,
        subject: &str,
        body: &B,
    ) {
        if let Some(m) = self.on.then(|| row(kind, at, subject, body)).flatten() {
            self.rows.push((at, m));
        }
    }
}

impl super::Store {
    /// Forwards the records this store writes outside the writer too (`[central]` set);
    /// called once at start, seen by every clone.
    pub fn set_central(&self, feed: Feed) {
        let _ = self.central.set(feed);
    }

    /// An empty set of central rows for records written outside the writer.
    pub(crate) fn outside(&self) -> Outside {
        Outside {
            on: self.central.get().is_some(),
            rows: Vec::new(),
        }
    }

    /// Writes `rows` on the records' own transaction `tx`, unless the forward buffer is
    /// full (then they are counted as refused, and the records are still kept on site).
    pub(crate) async fn feed_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        rows: Outside,
    ) -> Result<(), StoreError> {
        let Some(feed) = self.central.get() else {
            return Ok(());
        };
        if rows.rows.is_empty() || !feed.gate.records(rows.rows.len()) {
            return Ok(());
        }
        super::outbox::insert_at_in(tx, &rows.rows).await
    }

    /// Deletes the central rows whose JetStream stream sequence is at or below `floor`:
    /// the centre's durable consumer has acknowledged every message up to it, and it
    /// acknowledges only what it has committed. A row keeps its own sequence, so a row
    /// resent behind a later one is purged only once its own copy is committed. How many.
    pub async fn purge_central(&self, floor: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "delete from outbox where channel = $1 and stream_seq is not null and stream_seq <= $2",
        )
        .bind(CHANNEL)
        .bind(floor)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Marks central rows forwarded: JetStream acknowledged each `(id, stream sequence)`.
    pub async fn mark_forwarded(
        &self,
        acked: &[(i64, i64)],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // One statement per chunk: `case` picks each row's own sequence.
        for chunk in acked.chunks(200) {
            let cases: Vec<String> = (0..chunk.len())
                .map(|i| format!("when ${} then ${}", 2 * i + 2, 2 * i + 3))
                .collect();
            let sql = format!(
                "update outbox set sent_ms = $1, stream_seq = case outbox_id {} end \
                 where channel = 'central' and outbox_id in ({})",
                cases.join(" "),
                (0..chunk.len())
                    .map(|i| format!("${}", 2 * i + 2))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut q = sqlx::query(&sql).bind(at.timestamp_millis());
            for (id, seq) in chunk {
                q = q.bind(*id).bind(*seq);
            }
            q.execute(self.pool()).await?;
        }
        Ok(())
    }

    /// How many central rows wait to be forwarded (not yet acknowledged by JetStream).
    pub async fn central_unsent(&self) -> Result<i64, StoreError> {
        use sqlx::Row as _;
        let row =
            sqlx::query("select count(*) as n from outbox where channel = $1 and sent_ms is null")
                .bind(CHANNEL)
                .fetch_one(self.pool())
                .await?;
        Ok(row.try_get("n")?)
    }

    /// What the forward buffer holds now.
    pub async fn central_buffered(&self) -> Result<Buffered, StoreError> {
        use sqlx::Row as _;
        let row = sqlx::query(
            "select count(*) as n, coalesce(sum(length(payload)), 0) as bytes, \
             min(created_ms) as oldest from outbox where channel = $1",
        )
        .bind(CHANNEL)
        .fetch_one(self.pool())
        .await?;
        Ok(Buffered {
            rows: row.try_get("n")?,
            bytes: row.try_get("bytes")?,
            oldest_ms: row.try_get("oldest")?,
        })
    }
}
