//! The MQTT source: two clients, each with its own persistent session (QoS 1).
//!
//! - `readings` (client id `sitewatch-{site}`) subscribes to every MQTT device's topic,
//!   turns messages into point values for the engine and acks each message once the
//!   engine channel has taken what it carried ([`readings`]).
//! - `scans` (`sitewatch-{site}-scans`) subscribes to the NFC readers' scan topics and
//!   acks each scan once it is stored ([`readers`]); a database outage holds back only
//!   this client's unacknowledged scans (the broker's inflight window), never a reading.
//!
//! Nothing is acked before it is kept (rumqttc's manual acks, [`acks`]), so a kill -9
//! loses nothing the broker still holds for us. Payloads over [`MAX_PAYLOAD`] are refused
//! (`too_large`) and acked; rumqttc itself takes any packet MQTT allows, because a packet
//! over its limit is a connection error, and the broker would send it again after every
//! reconnect. Reconnects back off with jitter ([`link`]); the connection is the
//! `mqtt.connected` point and, lost for long, a comm-loss alarm ([`broker`]).
//!
//! rumqttc reconnects by itself but does not subscribe again. When the broker kept no
//! session for us (`ConnAck.session_present == false`: a restart without persistence, an
//! expired session) the subscriptions are gone and the client would stay connected and
//! deaf, so they are renewed after every such ConnAck, and after the first one of the
//! process (the config may have changed since the broker stored the session).

mod acks;
pub mod broker;
mod link;
mod metrics;
mod readers;
mod readings;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{MqttOptions, Transport};
use sitewatch_core::clock::Clock;
use sitewatch_core::points::SourceEvent;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use acks::Ticket;
use broker::BrokerState;
use link::Link;
pub use metrics::MqttMetrics;
use readers::Readers;
use readings::Readings;

use super::nfc::NfcScan;
use super::payload::RejectReason;
use super::throttle::LogThrottle;
use super::topics::TopicMap;
use crate::config::{BrokerUrl, Config};

/// One log line per topic per this long for refused payloads.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Largest payload taken (sensor payloads and scans are a few hundred bytes).
pub const MAX_PAYLOAD: usize = 64 * 1024;
/// Largest packet rumqttc reads: the most an MQTT packet's remaining length can say
/// (256 MiB). A packet over rumqttc's limit is a connection error, not a refusal.
const MAX_INCOMING: usize = 268_435_455;
/// Largest packet we send (subscriptions, acks).
const MAX_OUTGOING: usize = 64 * 1024;
/// Messages held for the engine or the store before QoS 0 ones give way (counted). QoS 1
/// messages are held regardless: the broker's inflight window (Mosquitto: 20) bounds
/// those it sends before we ack.
const MAX_HELD: usize = 4096;
/// Where Mosquitto publishes how many messages it dropped (for every client, since it
/// started) because a client's queue was full (`max_queued_messages`): readings lost
/// before they reached us, which nothing else would show.
const BROKER_DROPPED: &str = "$SYS/broker/publish/messages/dropped";

/// Where the source's output goes.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// Point values, to the engine.
    pub sources: mpsc::Sender<SourceEvent>,
    /// NFC scans, to the scan intake, which hands each scan's receipt back once stored.
    pub scans: mpsc::Sender<ReaderScan>,
}

/// A reader's scan and the receipt that acknowledges its message once it is stored.
#[derive(Debug)]
pub struct ReaderScan {
    /// The scan as the reader sent it.
    pub scan: NfcScan,
    /// Hand back with [`Receipt::kept`] once stored.
    pub receipt: Receipt,
}

/// Acknowledges one message to the broker when kept. Dropped without [`Receipt::kept`],
/// the message stays unacknowledged and the broker sends it again.
#[derive(Debug)]
pub struct Receipt {
    ticket: Option<Ticket>,
    to: mpsc::UnboundedSender<Option<Ticket>>,
}

impl Receipt {
    /// What the message carried is kept: it may be acknowledged.
    pub fn kept(self) {
        let _ = self.to.send(self.ticket);
    }
}

/// The MQTT source: the readings' client and the scans' client.
pub struct MqttSource {
    readings: Readings,
    readers: Readers,
}

// By hand: rumqttc's `MqttOptions` debug output shows the password.
impl std::fmt::Debug for MqttSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttSource")
            .field("readings", &self.readings.link)
            .field("scans", &self.readers.link)
            .finish_non_exhaustive()
    }
}

/// Socket options for every client: TCP_NODELAY, because MQTT packets are small and
/// Nagle's algorithm with delayed ACKs adds some 40 ms to each one (measured with
/// `sitewatch bench alarms`: 88 ms reading-to-event with it, see docs/benchmarks.md).
pub fn network_options() -> rumqttc::NetworkOptions {
    let mut o = rumqttc::NetworkOptions::new();
    o.set_tcp_nodelay(true);
    o
}

/// Client options from `[mqtt]`: QoS 1 needs a persistent session, so `clean_session` is
/// off and the client id stable.
pub fn options(config: &Config) -> anyhow::Result<MqttOptions> {
    options_with_suffix(config, "")
}

/// Client options with `suffix` on the client id, for a second client of the same
/// daemon (the publisher) that must not take over the source's session.
pub fn options_with_suffix(config: &Config, suffix: &str) -> anyhow::Result<MqttOptions> {
    let m = &config.mqtt;
    let url = m
        .url
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("devices use MQTT but `[mqtt] url` is not set"))?;
    let url = BrokerUrl::parse(url).map_err(anyhow::Error::msg)?;
    let id = m
        .client_id
        .clone()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("sitewatch-{}", config.site.id));
    let mut o = MqttOptions::new(format!("{id}{suffix}"), url.host, url.port);
    o.set_keep_alive(m.keep_alive.max(Duration::from_secs(1)));
    o.set_clean_session(false);
    o.set_max_packet_size(MAX_INCOMING, MAX_OUTGOING);
    if let Some(user) = &m.username {
        o.set_credentials(user.clone(), m.password.clone().unwrap_or_default());
    }
    if url.tls {
        o.set_transport(tls(m)?);
    }
    Ok(o)
}

/// The system's roots, or the site's own CA and client certificate when configured.
fn tls(m: &crate::config::MqttConfig) -> anyhow::Result<Transport> {
    let read = |what: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|e| anyhow::anyhow!("[mqtt] {what} {}: {e}", path.display()))
    };
    let Some(ca) = &m.ca_file else {
        return Ok(Transport::tls_with_default_config());
    };
    let client = match (&m.client_cert, &m.client_key) {
        (Some(cert), Some(key)) => Some((read("client_cert", cert)?, read("client_key", key)?)),
        _ => None,
    };
    Ok(Transport::tls(read("ca_file", ca)?, client, None))
}

impl MqttSource {
    /// A source for the MQTT devices and NFC readers of `config`.
    pub fn new(
        config: &Config,
        out: Outputs,
        metrics: MqttMetrics,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let topics = TopicMap::new(&config.site.id, &config.devices);
        let devices = config
            .devices
            .iter()
            .filter(|d| d.config.mqtt.is_some())
            .map(|d| d.config.id.clone())
            .collect();
        let broker = BrokerState::new(devices, config.mqtt.lost_after, Instant::now());
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let readings = Readings {
            link: Link::new("readings", options(config)?, metrics.clone()),
            topics: topics.clone(),
            out: out.clone(),
            held: VecDeque::new(),
            broker,
            broker_stats: config.mqtt.broker_stats,
            broker_dropped: 0,
            rejects: Rejects::new(metrics.clone()),
            done: (done_tx, done_rx),
            clock: clock.clone(),
        };
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let readers = Readers {
            link: Link::new(
                "scans",
                options_with_suffix(config, "-scans")?,
                metrics.clone(),
            ),
            topics,
            out: out.scans,
            held: VecDeque::new(),
            rejects: Rejects::new(metrics),
            done: (done_tx, done_rx),
            clock,
        };
        Ok(Self { readings, readers })
    }

    /// Runs both clients until `cancel`, each reconnecting with back-off by itself.
    pub async fn run(self, cancel: CancellationToken) {
        tokio::join!(self.readings.run(cancel.clone()), self.readers.run(cancel));
    }
}

/// A message's fate when it is refused: counted by reason, logged once per topic per
/// minute.
struct Rejects {
    metrics: MqttMetrics,
    throttle: LogThrottle,
}

impl Rejects {
    fn new(metrics: MqttMetrics) -> Self {
        Self {
            metrics,
            throttle: LogThrottle::new(LOG_EVERY),
        }
    }

    /// Refuses a whole message.
    fn message(&mut self, topic: &str, reason: RejectReason, payload: &[u8]) {
        self.metrics.message("rejected");
        self.field(topic, reason, payload, None);
    }

    /// Refuses one field of a message (or the message, with `point` unset).
    fn field(&mut self, topic: &str, reason: RejectReason, payload: &[u8], point: Option<&str>) {
        self.metrics.reject(reason);
        let Some(held_back) = self.throttle.allow(topic, std::time::Instant::now()) else {
            return;
        };
        let reason = reason.as_str();
        let size = payload.len();
        let payload = snippet(payload);
        tracing::warn!(topic, reason, point, size, %payload, held_back, "dropped an MQTT payload that does not fit its binding");
    }
}

/// Whether a payload is too large to take; larger ones are refused (and acked).
fn too_large(payload: &[u8]) -> bool {
    payload.len() > MAX_PAYLOAD
}

/// The start of a payload, for a log line.
fn snippet(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_snippets_are_short_and_lossless_enough() {
        assert_eq!(snippet(b"{\"a\":1}"), "{\"a\":1}");
        let long = "x".repeat(200);
        assert_eq!(snippet(long.as_bytes()).chars().count(), 81);
        assert_eq!(snippet(b"\xff"), "\u{fffd}");
    }
}
