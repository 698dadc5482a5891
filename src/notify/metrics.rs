//! Notice message metrics: messages by channel and outcome, and the queue.

use prometheus::{IntCounterVec, IntGaugeVec};

use crate::metrics::Registry;
use crate::register::plan::{Channel, Status};

/// The notify counters and gauge, registered once with the daemon's registry.
#[derive(Debug, Clone)]
pub struct NotifyMetrics {
    messages: IntCounterVec,
    attempts: IntCounterVec,
    queue: IntGaugeVec,
}

impl NotifyMetrics {
    /// Creates and registers every notify metric in `r`.
    pub fn register(r: &Registry) -> Self {
        let queue = r.int_gauge(
            "sitewatch_notify_queue",
            "Notice messages waiting to be sent (queued or in flight), by channel.",
            &["channel"],
        );
        for c in [Channel::Email, Channel::Webhook] {
            queue.with_label_values(&[c.as_str()]).set(0);
        }
        Self {
            messages: r.counter(
                "sitewatch_notify_messages_total",
                "Notice messages by channel and final outcome (delivered, failed, suppressed, hand).",
                &["channel", "outcome"],
            ),
            attempts: r.counter(
                "sitewatch_notify_attempts_total",
                "Delivery attempts by channel and result (ok, error).",
                &["channel", "result"],
            ),
            queue,
        }
    }

    /// A message reached a final status (`queued` is not final and is not counted).
    pub fn message(&self, channel: Channel, status: Status) {
        if !matches!(status, Status::Queued | Status::Sent) {
            self.messages
                .with_label_values(&[channel.as_str(), status.as_str()])
                .inc();
        }
    }

    /// One attempt and how it went.
    pub fn attempt(&self, channel: Channel, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.attempts
            .with_label_values(&[channel.as_str(), result])
            .inc();
    }

    /// Messages waiting per channel.
    pub fn queue(&self, waiting: &[(String, i64)]) {
        for c in [Channel::Email, Channel::Webhook] {
            let n = waiting
                .iter()
                .find(|(ch, _)| ch == c.as_str())
                .map_or(0, |(_, n)| *n);
            self.queue.with_label_values(&[c.as_str()]).set(n);
        }
    }
}
