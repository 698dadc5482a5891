//! One client's connection to the broker: the rumqttc event loop, reconnects with capped,
//! jittered back-off (logged once a minute, not per attempt), and the acks it owes.
//!
//! Waiting out a back-off is part of [`Link::next`], so a task can select on it beside its
//! other work (sending to the engine, scans coming back stored) and never stops polling
//! the event loop while connected: the keep-alive cannot lapse while a store is down.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use rumqttc::{AsyncClient, ConnAck, ConnectionError, Event, EventLoop, MqttOptions};
use tokio::time::Instant;

use super::MqttMetrics;
use super::acks::AckQueue;

/// First wait before reconnecting; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// One line per this long about a connection that keeps failing.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Room in rumqttc's request channel: acks and (un)subscribes. The broker's inflight
/// window (Mosquitto: 20) bounds the acks; what does not fit waits in the [`AckQueue`].
const REQUESTS: usize = 256;

/// A client's connection and what it owes the broker.
pub(crate) struct Link {
    /// Which client, for logs and metrics (`readings`, `scans`).
    pub(crate) name: &'static str,
    /// The client half, for subscribing.
    pub(crate) client: AsyncClient,
    events: EventLoop,
    /// Acks owed on the current connection.
    pub(crate) acks: AckQueue,
    backoff: Duration,
    retry_at: Option<Instant>,
    /// Failures since the last line logged, and when that was.
    failures: u32,
    logged_at: Option<Instant>,
    /// When the connection was lost, while it is.
    pub(crate) lost_since: Option<Instant>,
    /// Whether a ConnAck has been seen in this process.
    pub(crate) seen_connack: bool,
    metrics: MqttMetrics,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("name", &self.name)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// A link for `options`, acking by hand.
    pub(crate) fn new(name: &'static str, mut options: MqttOptions, metrics: MqttMetrics) -> Link {
        options.set_manual_acks(true);
        let (client, mut events) = AsyncClient::new(options, REQUESTS);
        events.set_network_options(super::network_options());
        Link {
            name,
            client,
            events,
            acks: AckQueue::default(),
            backoff: MIN_BACKOFF,
            retry_at: None,
            failures: 0,
            logged_at: None,
            lost_since: Some(Instant::now()),
            seen_connack: false,
            metrics,
        }
    }

    /// The next event: after a failure, once the back-off has passed.
    pub(crate) async fn next(&mut self) -> Result<Event, ConnectionError> {
        if let Some(at) = self.retry_at {
            tokio::time::sleep_until(at).await;
            self.retry_at = None;
        }
        self.acks.flush(&self.client);
        self.events.poll().await
    }

    /// The broker's host and port, for logs.
    pub(crate) fn client_options(&self) -> (String, u16) {
        self.events.mqtt_options.broker_address()
    }

    /// The metrics this link reports to.
    pub(crate) fn metrics(&self) -> &MqttMetrics {
        &self.metrics
    }

    /// Whether rumqttc still holds packets it read and has not handed out.
    pub(crate) fn holds_events(&self) -> bool {
        !self.events.state.events.is_empty()
    }

    /// The broker accepted us: back-off starts again from the bottom. Whether to subscribe:
    /// always on the first ConnAck of the process (the config may have changed since the
    /// broker stored the session) and whenever the broker kept no session.
    pub(crate) fn connected(&mut self, ack: &ConnAck) -> bool {
        let first = !std::mem::replace(&mut self.seen_connack, true);
        if self.failures > 0 || self.lost_since.is_some() {
            tracing::info!(
                client = self.name,
                session = ack.session_present,
                "mqtt connected"
            );
        }
        self.backoff = MIN_BACKOFF;
        self.failures = 0;
        self.logged_at = None;
        self.lost_since = None;
        first || !ack.session_present
    }

    /// The connection failed: forget the acks of this connection, wait before the next
    /// attempt, and say so at most once a minute.
    pub(crate) fn failed(&mut self, error: &ConnectionError) {
        let now = Instant::now();
        self.acks.reconnected();
        self.metrics.connected(self.name, false);
        self.metrics.reconnect(self.name);
        self.lost_since.get_or_insert(now);
        self.failures += 1;
        let wait = jitter(self.backoff);
        self.retry_at = Some(now + wait);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        if self.logged_at.is_none_or(|at| now - at >= LOG_EVERY) {
            let failures = self.failures;
            tracing::warn!(client = self.name, %error, failures, retry_in = ?wait, "mqtt connection failed; retrying with back-off");
            self.logged_at = Some(now);
            self.failures = 0;
        }
    }

    /// Says goodbye to the broker, briefly, after handing over the acks still due: the
    /// session stays for the next start.
    pub(crate) async fn close(mut self) {
        self.acks.flush(&self.client);
        if self.client.try_disconnect().is_err() {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            while let Ok(ev) = self.events.poll().await {
                if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// `d` scaled by a random factor in [0.5, 1.0): clients that lost one broker together do
/// not all come back in the same instant.
fn jitter(d: Duration) -> Duration {
    let r = RandomState::new().hash_one(Instant::now());
    let fraction = 0.5 + (r % 1000) as f64 / 2000.0;
    d.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_between_half_and_the_whole() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(10));
            assert!(
                j >= Duration::from_secs(5) && j < Duration::from_secs(10),
                "{j:?}"
            );
        }
    }
}
