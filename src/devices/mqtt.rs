//! The MQTT source: one client subscribes (QoS 1, persistent session) to every MQTT
//! device's topic and to the NFC readers' scan topics, turns messages into point values
//! for the hub and scans for the patrol module, and drops what does not fit its binding,
//! counted and logged once per topic per minute.
//!
//! rumqttc reconnects by itself but does not subscribe again. When the broker kept no
//! session for us (`ConnAck.session_present == false`: a restart without persistence, an
//! expired session) the subscriptions are gone and the client would stay connected and
//! deaf, so they are renewed after every such ConnAck, and after the first one of the
//! process (the config may have changed since the broker stored the session).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{
    AsyncClient, ConnAck, Event, EventLoop, MqttOptions, Packet, QoS, SubAck, SubscribeFilter,
    SubscribeReasonCode, Transport,
};
use sitewatch_core::clock::Clock;
use sitewatch_core::points::SourceEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::nfc::NfcScan;
use super::payload::RejectReason;
use super::throttle::LogThrottle;
use super::topics::{Routed, TopicMap};
use crate::config::{BrokerUrl, Config};
use crate::metrics::Metrics;

/// First wait before reconnecting; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// One log line per topic per this long for dropped payloads.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Largest message accepted (sensor payloads are a few hundred bytes).
const MAX_PACKET: usize = 64 * 1024;
/// Where Mosquitto publishes how many messages it dropped (for every client, since it
/// started) because a client's queue was full (`max_queued_messages`): readings lost
/// before they reached us, which nothing else would show.
const BROKER_DROPPED: &str = "$SYS/broker/publish/messages/dropped";

/// Where the source's output goes.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// Point values, to the engine.
    pub sources: mpsc::Sender<SourceEvent>,
    /// NFC scans, to the patrol module (the engine for now).
    pub scans: mpsc::Sender<NfcScan>,
}

/// The MQTT source task.
pub struct MqttSource {
    options: MqttOptions,
    topics: TopicMap,
    out: Outputs,
    metrics: Metrics,
    clock: Arc<dyn Clock>,
    throttle: LogThrottle,
    /// Whether to ask for the broker's dropped count (`[mqtt] broker_stats`).
    broker_stats: bool,
    /// The broker's dropped count last seen.
    broker_dropped: i64,
}

// By hand: rumqttc's `MqttOptions` debug output shows the password.
impl std::fmt::Debug for MqttSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttSource")
            .field("broker", &self.options.broker_address())
            .field("client_id", &self.options.client_id())
            .field("topics", &self.topics)
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
    o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
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
        metrics: Metrics,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            options: options(config)?,
            topics: TopicMap::new(&config.site.id, &config.devices),
            out,
            metrics,
            clock,
            throttle: LogThrottle::new(LOG_EVERY),
            broker_stats: config.mqtt.broker_stats,
            broker_dropped: 0,
        })
    }

    /// Runs until `cancel`, reconnecting with back-off whenever the connection fails.
    pub async fn run(mut self, cancel: CancellationToken) {
        let (host, port) = self.options.broker_address();
        let (client, mut events) = AsyncClient::new(self.options.clone(), 64);
        events.set_network_options(crate::devices::mqtt::network_options());
        let mut backoff = MIN_BACKOFF;
        let mut first = true;
        let mut batch = Vec::new();
        tracing::info!(%host, port, "mqtt source starting");
        loop {
            // rumqttc reads up to ten packets per socket read and hands them out one per
            // poll; values from those it already holds go to the engine together, so the
            // engine is woken about once per read rather than per message. The batch goes
            // as soon as nothing is held: no timer, an alarm's message is not delayed.
            if events.state.events.is_empty() {
                self.send(&mut batch).await;
            }
            let event = tokio::select! {
                () = cancel.cancelled() => break,
                ev = events.poll() => ev,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = MIN_BACKOFF;
                    self.connected(&client, &ack, std::mem::take(&mut first));
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => self.subscribed(&ack),
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    self.message(&p.topic, &p.payload, &mut batch).await;
                }
                Ok(_) => {}
                Err(e) => {
                    self.send(&mut batch).await;
                    self.metrics.mqtt_connected(false);
                    tracing::warn!(%host, port, error = %e, retry_in = ?backoff, "mqtt connection failed");
                    if !sleep_or_cancel(backoff, &cancel).await {
                        break;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        self.send(&mut batch).await;
        self.metrics.mqtt_connected(false);
        disconnect(client, events).await;
    }

    /// Hands the engine what `batch` holds, in order.
    async fn send(&self, batch: &mut Vec<SourceEvent>) {
        for ev in batch.drain(..) {
            let _ = self.out.sources.send(ev).await;
        }
    }

    fn connected(&self, client: &AsyncClient, ack: &ConnAck, first: bool) {
        let session = ack.session_present;
        if session && !first {
            tracing::info!(session, "mqtt reconnected; broker kept our subscriptions");
            self.metrics.mqtt_connected(true);
            return;
        }
        let subs = self.topics.subscriptions();
        tracing::info!(session, topics = subs.len(), "mqtt connected; subscribing");
        // The broker's own figure goes last, at QoS 0: a lost update is replaced by the
        // next, and `subscribed` can tell its answer from the devices'.
        let stats = self
            .broker_stats
            .then(|| SubscribeFilter::new(BROKER_DROPPED.into(), QoS::AtMostOnce));
        let filters = subs
            .into_iter()
            .map(|t| SubscribeFilter::new(t, QoS::AtLeastOnce))
            .chain(stats);
        if let Err(e) = client.try_subscribe_many(filters) {
            tracing::error!(error = %e, "mqtt subscribe could not be queued");
        }
    }

    fn subscribed(&self, ack: &SubAck) {
        // The last code answers the broker's dropped count, when asked for, which a broker
        // other than Mosquitto, or its ACL, may refuse without the devices' topics being
        // at fault.
        let codes = &ack.return_codes[..];
        let devices = match codes.split_last() {
            Some((_, devices)) if self.broker_stats => devices,
            _ => codes,
        };
        let refused = devices
            .iter()
            .filter(|c| matches!(c, SubscribeReasonCode::Failure))
            .count();
        if refused > 0 {
            tracing::error!(refused, "mqtt broker refused subscriptions (check its ACL)");
        }
        self.metrics.mqtt_connected(refused == 0);
    }

    /// Point values go into `batch`; scans go to the patrol module at once.
    async fn message(&mut self, topic: &str, payload: &[u8], batch: &mut Vec<SourceEvent>) {
        if topic == BROKER_DROPPED {
            self.broker_dropped(payload);
            return;
        }
        match self.topics.route(topic, payload, self.clock.now()) {
            Routed::Values {
                device,
                values,
                rejects,
            } => {
                for (point, reason) in rejects {
                    self.reject(topic, reason, payload, Some(&point));
                }
                if values.is_empty() {
                    self.metrics.mqtt_message("rejected");
                    return;
                }
                self.metrics.mqtt_message("ok");
                batch.push(SourceEvent::Polled { device, values });
            }
            Routed::Scan(scan) => {
                self.metrics.mqtt_message("scan");
                let _ = self.out.scans.send(scan).await;
            }
            Routed::Rejected(reason) => {
                self.metrics.mqtt_message("rejected");
                self.reject(topic, reason, payload, None);
            }
        }
    }

    /// The broker's dropped count, logged when it grew: a loss at the broker is a loss of
    /// readings.
    fn broker_dropped(&mut self, payload: &[u8]) {
        let Some(n) = std::str::from_utf8(payload)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
        else {
            return;
        };
        if n > self.broker_dropped {
            tracing::warn!(
                dropped = n - self.broker_dropped,
                total = n,
                "the MQTT broker dropped messages (raise its max_queued_messages)"
            );
        }
        self.broker_dropped = n;
        self.metrics.mqtt_broker_dropped(n);
    }

    fn reject(&mut self, topic: &str, reason: RejectReason, payload: &[u8], point: Option<&str>) {
        self.metrics.mqtt_reject(reason);
        if let Some(held_back) = self.throttle.allow(topic, Instant::now()) {
            let payload = snippet(payload);
            let reason = reason.as_str();
            tracing::warn!(topic, reason, point, %payload, held_back, "dropped an MQTT payload that does not fit its binding");
        }
    }
}

/// The start of a payload, for a log line.
fn snippet(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.into_owned(),
    }
}

/// Sleeps `d`; `false` when cancelled first.
async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = cancel.cancelled() => false,
        () = tokio::time::sleep(d) => true,
    }
}

/// Says goodbye to the broker, briefly: the session stays for the next start.
async fn disconnect(client: AsyncClient, mut events: EventLoop) {
    if client.try_disconnect().is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Ok(ev) = events.poll().await {
            if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
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
