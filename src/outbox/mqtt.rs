//! The MQTT publisher: outbox messages at QoS 1 (marked sent on PUBACK), point values as
//! retained state straight from the live hub (QoS 0: the next value replaces a lost
//! one), and `sitewatch/{site}/status` online/offline with a retained last will.
//!
//! While store writes fail, outbox messages the database has not kept yet are sent from
//! the store writer's backlog ([`EarlyOutbox`]) and marked sent there on PUBACK, so an
//! alarm reaches the broker as soon with the database gone as with it up; the table is
//! not read meanwhile (each read would wait out the pool's timeout), and is read again,
//! as before, once writes succeed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS};
use sitewatch_core::clock::Clock;
use tokio_util::sync::CancellationToken;

use super::OutboxMetrics;
use crate::config::Config;
use crate::devices::mqtt::options_with_suffix;
use crate::engine::LiveHub;
use crate::store::writer::EarlyOutbox;
use crate::store::{Store, Unwritten};

/// How often the outbox is read and deliveries recorded when nothing new was written
/// (the store writer wakes the publisher at once when it queues a message).
const POLL: Duration = Duration::from_millis(200);
/// Most outbox messages handed to the client and not yet confirmed.
const WINDOW: usize = 64;
/// Longest a read or update of the outbox table may hold the publisher (the pool would
/// wait 5 s for a connection): meanwhile no PUBACK is taken and, at an outage's start, no
/// unwritten message is sent early.
const DB_WAIT: Duration = Duration::from_secs(1);
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The publisher task.
pub struct Publisher {
    options: MqttOptions,
    prefix: String,
    store: Store,
    live: Arc<LiveHub>,
    metrics: OutboxMetrics,
    clock: Arc<dyn Clock>,
    early: EarlyOutbox,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// What one publish handed to the client carries, so its PUBACK confirms the right thing.
#[derive(Debug)]
enum Sent {
    /// Not from the outbox (status, point values).
    Other,
    /// An outbox row, by id.
    Row(i64),
    /// An outbox message the database has not kept yet.
    Early(Arc<Unwritten>),
}

/// What the client was handed, in order, so each outgoing packet id maps to its message.
#[derive(Debug, Default)]
struct Window {
    /// Publishes handed to the client, waiting for their packet id.
    handed: VecDeque<Sent>,
    /// Packet id → what it carries, waiting for PUBACK.
    inflight: HashMap<u16, Sent>,
    /// Confirmed rows, to be marked sent.
    acked: Vec<i64>,
    /// Highest outbox id handed over on this connection.
    last: i64,
    /// Every row written to the table up to this place in decision order has been handed
    /// over on this connection ([`EarlyOutbox::written`] before a read of the table that
    /// found no more); `None` until such a read. Unwritten messages go only after them.
    covered: Option<u64>,
}

impl Window {
    fn reset(&mut self) {
        // After a reconnect everything unconfirmed is sent again (at least once): rows
        // from the table, unwritten messages from the backlog (or the table, once written).
        // With no row unconfirmed, every row up to `covered` is still out.
        let mut rows_unconfirmed = false;
        for sent in self
            .handed
            .drain(..)
            .chain(self.inflight.drain().map(|(_, s)| s))
        {
            match sent {
                Sent::Early(m) => m.give_back(),
                Sent::Row(_) => rows_unconfirmed = true,
                Sent::Other => {}
            }
        }
        *self = Window {
            acked: std::mem::take(&mut self.acked),
            covered: self.covered.filter(|_| !rows_unconfirmed),
            ..Window::default()
        };
    }

    fn busy(&self) -> usize {
        self.handed.len() + self.inflight.len()
    }
}

impl Publisher {
    /// A publisher for `config`'s broker, topics under `sitewatch/{site}`.
    pub fn new(
        config: &Config,
        store: Store,
        live: Arc<LiveHub>,
        metrics: OutboxMetrics,
        clock: Arc<dyn Clock>,
        early: EarlyOutbox,
    ) -> anyhow::Result<Self> {
        let prefix = topic_prefix(config);
        let mut options = options_with_suffix(config, "-out")?;
        options.set_last_will(LastWill::new(
            format!("{prefix}/status"),
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
        Ok(Self {
            options,
            prefix,
            store,
            live,
            metrics,
            clock,
            early,
        })
    }

    /// Publishes until `cancel`, then says offline and stops.
    pub async fn run(self, cancel: CancellationToken) {
        let (client, mut events) = AsyncClient::new(self.options.clone(), 256);
        events.set_network_options(crate::devices::mqtt::network_options());
        self.live.follow_points();
        let mut window = Window::default();
        let mut connected = false;
        let mut backoff = Duration::from_millis(200);
        let mut tick = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                ev = events.poll() => match ev {
                    Ok(ev) => {
                        backoff = Duration::from_millis(200);
                        connected |= self.on_event(&client, ev, &mut window);
                    }
                    Err(e) => {
                        if connected {
                            tracing::warn!(error = %e, "mqtt publisher disconnected; outbox keeps what is not confirmed");
                        }
                        connected = false;
                        window.reset();
                        self.early.rewind();
                        self.metrics.connected(false);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                },
                _ = tick.tick() => {
                    self.publish_points(&client, connected, &mut window);
                    self.pump(&client, connected, &mut window).await;
                }
                () = self.early.ready().notified() => self.pump(&client, connected, &mut window).await,
            }
        }
        self.flush_acked(&mut window).await;
        let _ = client.try_publish(
            format!("{}/status", self.prefix),
            QoS::AtLeastOnce,
            true,
            "offline",
        );
        let _ = tokio::time::timeout(Duration::from_millis(500), drain(&mut events)).await;
        let _ = client.disconnect().await;
    }

    /// Follows the client's events; returns true when (re)connected.
    fn on_event(&self, client: &AsyncClient, ev: Event, w: &mut Window) -> bool {
        match ev {
            Event::Incoming(Packet::ConnAck(_)) => {
                w.reset();
                self.early.rewind();
                self.metrics.connected(true);
                w.handed.push_back(Sent::Other);
                let _ = client.try_publish(
                    format!("{}/status", self.prefix),
                    QoS::AtLeastOnce,
                    true,
                    "online",
                );
                return true;
            }
            Event::Outgoing(Outgoing::Publish(pkid)) => match w.handed.pop_front() {
                Some(Sent::Other) | None => {}
                Some(sent) => {
                    w.inflight.insert(pkid, sent);
                }
            },
            Event::Incoming(Packet::PubAck(ack)) => match w.inflight.remove(&ack.pkid) {
                Some(Sent::Row(id)) => w.acked.push(id),
                Some(Sent::Early(m)) => {
                    m.confirmed(self.clock.now());
                    self.metrics.sent(1);
                    self.metrics.early(1);
                }
                Some(Sent::Other) | None => {}
            },
            _ => {}
        }
        false
    }

    /// The latest value of each point sampled since the last tick, as retained state
    /// (QoS 0: a lost one is replaced by the next). Once per tick, so a point sampled a
    /// hundred times a second costs the broker one retained message per tick, not a
    /// hundred; while disconnected the live hub keeps collecting them.
    fn publish_points(&self, client: &AsyncClient, connected: bool, w: &mut Window) {
        if !connected {
            return;
        }
        for (point, (value, at)) in self.live.take_points() {
            let topic = format!("{}/points/{point}", self.prefix);
            let payload = serde_json::json!({"value": value, "at": at}).to_string();
            if client
                .try_publish(topic, QoS::AtMostOnce, true, payload)
                .is_err()
            {
                break;
            }
            w.handed.push_back(Sent::Other);
        }
    }

    /// Records confirmations and hands over the next outbox messages: while store writes
    /// fail, those the database has not kept yet, without touching it; otherwise rows
    /// from the table.
    async fn pump(&self, client: &AsyncClient, connected: bool, w: &mut Window) {
        if self.early.failing() {
            if connected {
                self.hand_early(client, w);
            }
            return;
        }
        self.flush_acked(w).await;
        let count = tokio::time::timeout(DB_WAIT, self.store.backlog("mqtt")).await;
        if let Ok(Ok(n)) = count {
            self.metrics.backlog("mqtt", n);
        }
        if !connected || w.busy() >= WINDOW {
            return;
        }
        let room = WINDOW - w.busy();
        let written = self.early.written();
        let read = self.store.unsent("mqtt", w.last, room as i64);
        let rows = match tokio::time::timeout(DB_WAIT, read).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => return tracing::warn!(error = %e, "outbox unreadable; will retry"),
            Err(_) => return tracing::debug!("outbox read slow; will retry"),
        };
        if rows.len() < room {
            // Every row written up to `written` is handed over (or sent before).
            w.covered = Some(written);
        }
        for q in rows {
            if client
                .try_publish(
                    q.message.target,
                    QoS::AtLeastOnce,
                    q.message.retain,
                    q.message.payload,
                )
                .is_err()
            {
                break;
            }
            w.handed.push_back(Sent::Row(q.id));
            w.last = q.id;
        }
    }

    /// Hands over the outbox messages the database has not kept yet, in decision order,
    /// once every row of the table is handed over.
    fn hand_early(&self, client: &AsyncClient, w: &mut Window) {
        let Some(covered) = w.covered else { return };
        if w.busy() >= WINDOW {
            return;
        }
        let mut taken = self.early.take(covered, WINDOW - w.busy()).into_iter();
        while let Some(m) = taken.next() {
            let sent = client.try_publish(
                m.message.target.clone(),
                QoS::AtLeastOnce,
                m.message.retain,
                m.message.payload.clone(),
            );
            if sent.is_err() {
                // The client's queue is full: these go on a later pump, still in order.
                m.give_back();
                taken.for_each(|m| m.give_back());
                self.early.rewind();
                return;
            }
            w.handed.push_back(Sent::Early(m));
        }
    }

    async fn flush_acked(&self, w: &mut Window) {
        if w.acked.is_empty() {
            return;
        }
        // Marking twice does no harm, so a write cut short is simply tried again.
        let mark = self.store.mark_sent(&w.acked, self.clock.now());
        match tokio::time::timeout(DB_WAIT, mark).await {
            Ok(Ok(())) => {
                self.metrics.sent(w.acked.len());
                w.acked.clear();
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot record deliveries; will retry"),
            Err(_) => tracing::debug!("recording deliveries slow; will retry"),
        }
    }
}

async fn drain(events: &mut EventLoop) {
    while events.poll().await.is_ok() {}
}

/// `sitewatch/{site}`: every topic the daemon publishes is under it.
pub fn topic_prefix(config: &Config) -> String {
    format!("sitewatch/{}", config.site.id)
}
