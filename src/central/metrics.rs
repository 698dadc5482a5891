//! What the central consumer shows in `/metrics`.

use prometheus::{IntCounter, IntCounterVec, IntGauge};

use crate::metrics::Registry;

/// Cheap-clone handle to the centre's figures.
#[derive(Debug, Clone)]
pub struct FleetMetrics {
    applied: IntCounter,
    rejected: IntCounter,
    db_errors: IntCounter,
    connected: IntGauge,
    refused: IntCounterVec,
}

impl FleetMetrics {
    /// Creates and registers the centre's families in `r`.
    pub fn register(r: &Registry) -> Self {
        Self {
            applied: r.int_counter(
                "sitewatch_central_applied_total",
                "Records committed to the central database (a redelivery counts again; the \
                 upsert applies it once).",
            ),
            rejected: r.int_counter(
                "sitewatch_central_rejected_total",
                "Messages on the sites' stream that were not records (dropped, logged).",
            ),
            db_errors: r.int_counter(
                "sitewatch_central_db_errors_total",
                "Batches the central database refused (tried again; not acknowledged).",
            ),
            connected: r.one_int_gauge(
                "sitewatch_central_consumer_connected",
                "1 while the consumer has its stream and bucket.",
            ),
            refused: r.counter(
                "sitewatch_central_auth_refused_total",
                "Requests and sign-ins the centre refused, by reason (unauthorized, forbidden, \
                 csrf, bad_credentials, rate_limited).",
                &["reason"],
            ),
        }
    }

    /// Records committed.
    pub fn applied(&self, n: usize) {
        self.applied.inc_by(n as u64);
    }

    /// A message that was not a record.
    pub fn rejected(&self) {
        self.rejected.inc();
    }

    /// A batch the database refused.
    pub fn db_error(&self) {
        self.db_errors.inc();
    }

    /// Whether the consumer is consuming.
    pub fn connected(&self, up: bool) {
        self.connected.set(i64::from(up));
    }

    /// A request or sign-in refused for `reason`.
    pub fn refused(&self, reason: &str) {
        self.refused.with_label_values(&[reason]).inc();
    }
}
