//! What the store shows in `/metrics`: rows written and failed writes by table, failed
//! tries to store a reader's scan; the writer's backlog and health: rows waiting by kind
//! and their memory, rows given way by kind, whether writes fail, how long rows have
//! waited. The drop counters
//! move as records give way; the gauges are set from the writer's report just before
//! `/metrics` renders, so they are as fresh as the scrape.

use prometheus::{Gauge, IntCounter, IntCounterVec, IntGauge};

use super::WriteReport;
use super::backlog::{Counts, Kind};
use crate::metrics::Registry;

/// Cheap-clone handle to the store's metrics. Backlog children are looked up once, by
/// [`Kind::ALL`]'s order.
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    written: IntCounterVec,
    errors: IntCounterVec,
    backlog: [IntGauge; Kind::ALL.len()],
    dropped: [IntCounter; Kind::ALL.len()],
    scan_retries: IntCounter,
    bytes: IntGauge,
    failing: IntGauge,
    stalled: Gauge,
}

impl StoreMetrics {
    /// Creates and registers the store's families in `r`.
    pub fn register(r: &Registry) -> Self {
        let backlog = r.int_gauge(
            "sitewatch_store_backlog_rows",
            "Rows waiting to be written, by kind (readings, outbox, journal, snapshots, records).",
            &["kind"],
        );
        let dropped = r.counter(
            "sitewatch_store_backlog_dropped_total",
            "Rows given way to the backlog's bound while the database failed, by kind.",
            &["kind"],
        );
        Self {
            written: r.counter(
                "sitewatch_store_rows_written_total",
                "Rows written to the store.",
                &["table"],
            ),
            errors: r.counter(
                "sitewatch_store_errors_total",
                "Failed store writes (retried).",
                &["table"],
            ),
            backlog: Kind::ALL.map(|k| backlog.with_label_values(&[k.as_str()])),
            dropped: Kind::ALL.map(|k| dropped.with_label_values(&[k.as_str()])),
            bytes: r.one_int_gauge(
                "sitewatch_store_backlog_bytes",
                "Estimated memory of the rows waiting to be written.",
            ),
            failing: r.one_int_gauge(
                "sitewatch_store_write_failing",
                "1 while the last store write failed and none has succeeded since.",
            ),
            scan_retries: r.int_counter(
                "sitewatch_scan_store_retries_total",
                "Failed attempts to store a reader's scan; each is retried until stored.",
            ),
            stalled: r.one_gauge(
                "sitewatch_store_stalled_seconds",
                "How long rows have waited without a successful write (0 when nothing waits).",
            ),
        }
    }

    /// Rows written.
    pub fn stored(&self, table: &str, rows: usize) {
        self.written.with_label_values(&[table]).inc_by(rows as u64);
    }

    /// A failed write.
    pub fn error(&self, table: &str) {
        self.errors.with_label_values(&[table]).inc();
    }

    /// A failed attempt to store a reader's scan (the batch holding it is retried).
    pub fn scan_retry(&self) {
        self.scan_retries.inc();
    }

    /// Rows that gave way.
    pub fn dropped(&self, c: Counts) {
        for (i, kind) in Kind::ALL.iter().enumerate() {
            let n = c.get(*kind);
            if n > 0 {
                self.dropped[i].inc_by(n);
            }
        }
    }

    /// Sets the gauges from the writer's report.
    pub fn show(&self, r: &WriteReport) {
        for (i, kind) in Kind::ALL.iter().enumerate() {
            self.backlog[i].set(i64::try_from(r.waiting(*kind)).unwrap_or(i64::MAX));
        }
        self.bytes
            .set(i64::try_from(r.backlog_bytes).unwrap_or(i64::MAX));
        self.failing.set(i64::from(r.failing));
        self.stalled.set(r.stalled_seconds);
    }
}
