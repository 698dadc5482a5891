//! What the MQTT source shows in `/metrics`: messages by result, refusals by reason, the
//! clients' connections and reconnects, QoS 0 messages dropped, and the broker's own
//! count of dropped messages.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec};

use crate::devices::payload::RejectReason;
use crate::metrics::Registry;

/// What becomes of an MQTT message.
const MESSAGE_RESULTS: [&str; 3] = ["ok", "scan", "rejected"];

/// The MQTT source's clients: device readings, and the NFC readers' scans.
const MQTT_CLIENTS: [&str; 2] = ["readings", "scans"];

/// Cheap-clone handle to the MQTT source's metrics.
#[derive(Debug, Clone)]
pub struct MqttMetrics {
    messages: IntCounterVec,
    /// The `messages` children by result, looked up once: every message counts one, and a
    /// label look-up (hash and lock) per message sat on the ingest path.
    by_result: [IntCounter; 3],
    rejects: IntCounterVec,
    connected: IntGaugeVec,
    /// Per client (`readings`, `scans`); `connected` is 1 only when every one is.
    client_connected: IntGaugeVec,
    reconnects: IntCounterVec,
    backlog_dropped: IntCounterVec,
    broker_dropped: IntGauge,
}

impl MqttMetrics {
    /// Creates and registers the MQTT source's families in `r`, every reason and client
    /// at zero.
    pub fn register(r: &Registry) -> Self {
        let messages = r.counter(
            "sitewatch_mqtt_messages_total",
            "MQTT messages received, by result (ok, scan, rejected).",
            &["result"],
        );
        let by_result = MESSAGE_RESULTS.map(|result| messages.with_label_values(&[result]));
        let m = Self {
            messages,
            by_result,
            rejects: r.counter(
                "sitewatch_mqtt_rejects_total",
                "MQTT payloads or fields dropped, by reason (a fixed set).",
                &["reason"],
            ),
            connected: r.int_gauge(
                "sitewatch_mqtt_connected",
                "1 when connected to the broker with every subscription acknowledged.",
                &[],
            ),
            client_connected: r.int_gauge(
                "sitewatch_mqtt_client_connected",
                "1 when this client (readings, scans) is connected and subscribed.",
                &["client"],
            ),
            reconnects: r.counter(
                "sitewatch_mqtt_connection_failures_total",
                "MQTT connections lost or refused, each followed by a reconnect, by client.",
                &["client"],
            ),
            backlog_dropped: r.counter(
                "sitewatch_mqtt_backlog_dropped_total",
                "QoS 0 messages dropped because the client's backlog was full (QoS 1 ones \
                 stay unacknowledged instead), by client.",
                &["client"],
            ),
            broker_dropped: r.one_int_gauge(
                "sitewatch_mqtt_broker_dropped_messages",
                "Messages the broker dropped for all its clients since it started \
                 (Mosquitto's $SYS/broker/publish/messages/dropped).",
            ),
        };
        for reason in RejectReason::ALL {
            m.rejects.with_label_values(&[reason.as_str()]);
        }
        for client in MQTT_CLIENTS {
            m.client_connected.with_label_values(&[client]);
            m.reconnects.with_label_values(&[client]);
            m.backlog_dropped.with_label_values(&[client]);
        }
        m
    }

    /// One MQTT message and what became of it (`ok`, `scan`, `rejected`).
    pub fn message(&self, result: &'static str) {
        match MESSAGE_RESULTS.iter().position(|r| *r == result) {
            Some(i) => self.by_result[i].inc(),
            None => self.messages.with_label_values(&[result]).inc(),
        }
    }

    /// One MQTT payload, or one field of it, dropped.
    pub fn reject(&self, reason: RejectReason) {
        self.rejects.with_label_values(&[reason.as_str()]).inc();
    }

    /// What the broker says it dropped since it started, for all its clients.
    pub fn broker_dropped(&self, n: i64) {
        self.broker_dropped.set(n);
    }

    /// Whether one MQTT source client is connected and subscribed; the overall gauge is 1
    /// only when every client is.
    pub fn connected(&self, client: &str, up: bool) {
        self.client_connected
            .with_label_values(&[client])
            .set(i64::from(up));
        let all = MQTT_CLIENTS
            .iter()
            .all(|c| self.client_connected.with_label_values(&[c]).get() == 1);
        let gauge = self.connected.with_label_values::<&str>(&[]);
        gauge.set(i64::from(all));
    }

    /// An MQTT client's connection failed (it reconnects after a back-off).
    pub fn reconnect(&self, client: &str) {
        self.reconnects.with_label_values(&[client]).inc();
    }

    /// A QoS 0 message dropped because the client's backlog was full.
    pub fn backlog_dropped(&self, client: &str) {
        self.backlog_dropped.with_label_values(&[client]).inc();
    }
}
