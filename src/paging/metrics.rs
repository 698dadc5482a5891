//! Paging metrics: pages by channel and outcome, escalations reached per level, time to
//! acknowledge per priority (a histogram, so Grafana shows MTTA), people on call per level
//! (0 is the thing to alarm on) and engine events the paging queue had no room for.

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec};

use crate::metrics::Registry;

/// The paging families, registered once with the daemon's registry.
#[derive(Debug, Clone)]
pub struct PagingMetrics {
    pages: IntCounterVec,
    escalations: IntCounterVec,
    ack_seconds: HistogramVec,
    on_call: IntGaugeVec,
    dropped: IntCounter,
    rounds: IntCounter,
    in_flight: IntGauge,
}

impl PagingMetrics {
    /// Creates and registers every paging metric in `r`.
    #[allow(clippy::expect_used)] // metric definitions are static; a clash is a bug at start-up
    pub fn register(r: &Registry) -> Self {
        let ack_seconds = r.register(
            HistogramVec::new(
                HistogramOpts::new(
                    "sitewatch_alarm_ack_seconds",
                    "Time from an alarm's raise to its acknowledgement, by priority.",
                )
                .buckets(vec![
                    30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
                ]),
                &["priority"],
            )
            .expect("valid metric"),
        );
        for p in ["emergency", "high", "medium", "low"] {
            ack_seconds.with_label_values(&[p]);
        }
        Self {
            pages: r.counter(
                "sitewatch_pages_total",
                "Pages by channel and outcome (delivered, retry, failed, cancelled, summarised, held, nobody_on_call).",
                &["channel", "outcome"],
            ),
            escalations: r.counter(
                "sitewatch_paging_escalations_total",
                "Escalation steps that paged a level.",
                &["level"],
            ),
            ack_seconds,
            on_call: r.int_gauge(
                "sitewatch_oncall_people",
                "People on call now, by escalation level.",
                &["level"],
            ),
            dropped: r.int_counter(
                "sitewatch_paging_queue_dropped_total",
                "Alarm events the paging queue had no room for (the paging task then re-reads the alarms).",
            ),
            rounds: r.int_counter(
                "sitewatch_paging_rounds_total",
                "Paging rounds done (due pages read, claimed and handed to channels, in one transaction). A round that starts after a change has seen it.",
            ),
            in_flight: r.one_int_gauge(
                "sitewatch_paging_in_flight",
                "Pages out with a channel now (handed over, outcome not yet back).",
            ),
        }
    }

    /// A round is done.
    pub(super) fn round(&self) {
        self.rounds.inc();
    }

    /// Pages out with a channel now.
    pub(super) fn in_flight(&self) -> &IntGauge {
        &self.in_flight
    }

    /// One page's outcome on a channel (`none` for a page that never reached one).
    pub fn page(&self, channel: &str, outcome: &str) {
        self.pages.with_label_values(&[channel, outcome]).inc();
    }

    /// Pages cancelled by one acknowledgement.
    pub fn cancelled(&self, n: u64) {
        self.pages
            .with_label_values(&["none", "cancelled"])
            .inc_by(n);
    }

    /// An escalation step reached `level`.
    pub fn escalation(&self, level: &str) {
        self.escalations.with_label_values(&[level]).inc();
    }

    /// An acknowledgement `seconds` after the raise.
    pub fn acknowledged(&self, priority: &str, seconds: f64) {
        self.ack_seconds
            .with_label_values(&[priority])
            .observe(seconds);
    }

    /// People on call at `level` now.
    pub fn on_call(&self, level: &str, people: usize) {
        self.on_call
            .with_label_values(&[level])
            .set(i64::try_from(people).unwrap_or(i64::MAX));
    }

    /// The counter of events the engine's paging queue had no room for.
    pub fn dropped_counter(&self) -> IntCounter {
        self.dropped.clone()
    }
}
