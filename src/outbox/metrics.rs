//! What the publishers show in `/metrics`: messages the broker confirmed (and those sent
//! before the database kept them), whether the publisher is connected, and the outbox
//! backlog by channel.

use prometheus::{IntCounter, IntGauge, IntGaugeVec};

use crate::metrics::Registry;

/// Cheap-clone handle to the publishers' metrics.
#[derive(Debug, Clone)]
pub struct OutboxMetrics {
    sent: IntCounter,
    early: IntCounter,
    connected: IntGauge,
    backlog: IntGaugeVec,
}

impl OutboxMetrics {
    /// Creates and registers the publishers' families in `r`.
    pub fn register(r: &Registry) -> Self {
        Self {
            sent: r.int_counter(
                "sitewatch_mqtt_published_total",
                "Outbox messages confirmed by the broker (QoS 1 PUBACK).",
            ),
            early: r.int_counter(
                "sitewatch_mqtt_published_early_total",
                "Outbox messages confirmed by the broker before the database kept them \
                 (sent from the store backlog while writes fail; also in \
                 sitewatch_mqtt_published_total).",
            ),
            connected: r.one_int_gauge(
                "sitewatch_mqtt_publisher_connected",
                "1 while the publisher is connected to the broker.",
            ),
            backlog: r.int_gauge(
                "sitewatch_outbox_backlog",
                "Messages waiting in the outbox, by channel.",
                &["channel"],
            ),
        }
    }

    /// Outbox messages the broker confirmed.
    pub fn sent(&self, n: usize) {
        self.sent.inc_by(n as u64);
    }

    /// Outbox messages the broker confirmed before the database kept them.
    pub fn early(&self, n: usize) {
        self.early.inc_by(n as u64);
    }

    /// Whether the publisher is connected.
    pub fn connected(&self, up: bool) {
        self.connected.set(i64::from(up));
    }

    /// Messages waiting in the outbox.
    pub fn backlog(&self, channel: &str, n: i64) {
        self.backlog.with_label_values(&[channel]).set(n);
    }
}
