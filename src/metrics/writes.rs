//! The store writer's backlog and health: rows waiting by kind and their memory, rows
//! given way by kind, whether writes fail, how long rows have waited. The drop counters
//! move as records give way; the gauges are set from the writer's report just before
//! `/metrics` renders, so they are as fresh as the scrape.

use prometheus::{Gauge, IntCounter, IntGauge, Opts, Registry};

use super::{counter, int_gauge};
use crate::store::WriteReport;
use crate::store::backlog::{Counts, Kind};

/// Children looked up once, by [`Kind::ALL`]'s order.
#[derive(Debug)]
pub struct StoreMetrics {
    backlog: [IntGauge; Kind::ALL.len()],
    dropped: [IntCounter; Kind::ALL.len()],
    bytes: IntGauge,
    failing: IntGauge,
    stalled: Gauge,
}

impl StoreMetrics {
    #[allow(clippy::expect_used)] // metric definitions are static; a clash is a bug at start-up
    pub(super) fn register(r: &Registry) -> Self {
        let backlog = int_gauge(
            r,
            "sitewatch_store_backlog_rows",
            "Rows waiting to be written, by kind (readings, outbox, journal, snapshots, records).",
            &["kind"],
        );
        let dropped = counter(
            r,
            "sitewatch_store_backlog_dropped_total",
            "Rows given way to the backlog's bound while the database failed, by kind.",
            &["kind"],
        );
        let one = |g: IntGauge| {
            r.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let stalled = Gauge::with_opts(Opts::new(
            "sitewatch_store_stalled_seconds",
            "How long rows have waited without a successful write (0 when nothing waits).",
        ))
        .expect("valid metric");
        r.register(Box::new(stalled.clone()))
            .expect("unique metric");
        Self {
            backlog: Kind::ALL.map(|k| backlog.with_label_values(&[k.as_str()])),
            dropped: Kind::ALL.map(|k| dropped.with_label_values(&[k.as_str()])),
            bytes: one(IntGauge::new(
                "sitewatch_store_backlog_bytes",
                "Estimated memory of the rows waiting to be written.",
            )
            .expect("valid metric")),
            failing: one(IntGauge::new(
                "sitewatch_store_write_failing",
                "1 while the last store write failed and none has succeeded since.",
            )
            .expect("valid metric")),
            stalled,
        }
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
