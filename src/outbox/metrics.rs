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

/// What the JetStream forwarder shows in `/metrics` (issue 23).
#[derive(Debug, Clone)]
pub struct CentralMetrics {
    forwarded: IntCounter,
    purged: IntCounter,
    connected: IntGauge,
    watermark: IntGauge,
    rows: IntGauge,
    bytes: IntGauge,
    age: IntGauge,
    fill: prometheus::Gauge,
}

impl CentralMetrics {
    /// Creates and registers the forwarder's families in `r`.
    pub fn register(r: &Registry) -> Self {
        Self {
            forwarded: r.int_counter(
                "sitewatch_central_forwarded_total",
                "Records JetStream acknowledged (stored at the centre's stream).",
            ),
            purged: r.int_counter(
                "sitewatch_central_purged_total",
                "Forwarded records deleted on site once the centre's watermark passed them.",
            ),
            connected: r.one_int_gauge(
                "sitewatch_central_connected",
                "1 while the forwarder is connected to the central NATS server.",
            ),
            watermark: r.one_int_gauge(
                "sitewatch_central_watermark",
                "The highest record id the centre has committed for this site.",
            ),
            rows: r.one_int_gauge(
                "sitewatch_central_buffer_rows",
                "Records in the forward buffer (not yet forwarded, or not yet confirmed).",
            ),
            bytes: r.one_int_gauge(
                "sitewatch_central_buffer_bytes",
                "Payload bytes in the forward buffer.",
            ),
            age: r.one_int_gauge(
                "sitewatch_central_buffer_age_seconds",
                "Age of the oldest record in the forward buffer.",
            ),
            fill: r.one_gauge(
                "sitewatch_central_buffer_ratio",
                "How full the forward buffer is (the larger of size and age over their \
                 bounds): 0.8 warns, 0.9 refuses history, 1 refuses records.",
            ),
        }
    }

    /// Records JetStream acknowledged.
    pub fn forwarded(&self, n: usize) {
        self.forwarded.inc_by(n as u64);
    }

    /// Rows purged behind the watermark.
    pub fn purged(&self, n: u64) {
        self.purged.inc_by(n);
    }

    /// Whether the forwarder is connected.
    pub fn connected(&self, up: bool) {
        self.connected.set(i64::from(up));
    }

    /// The centre's watermark.
    pub fn watermark(&self, id: i64) {
        self.watermark.set(id);
    }

    /// The buffer as measured, and its fill.
    pub fn buffer(&self, b: &crate::store::central::Buffered, fill: f64, now: i64) {
        self.rows.set(b.rows);
        self.bytes.set(b.bytes);
        self.age
            .set(b.oldest_ms.map_or(0, |o| (now - o).max(0) / 1000));
        self.fill.set(fill);
    }
}
