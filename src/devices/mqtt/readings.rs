//! The readings' client: device messages become point values for the engine, and each
//! QoS 1 message is acked once the engine channel has taken its values.
//!
//! rumqttc reads up to ten packets per socket read and hands them out one per poll; the
//! values of those it already holds go to the engine together, so the engine is woken
//! about once per read rather than per message. They go as soon as nothing is held: no
//! timer, an alarm's message is not delayed. While the engine channel is full the event
//! loop is still polled (keep-alive); messages wait in `held`, QoS 1 ones bounded by the
//! broker's inflight window, QoS 0 ones dropped past [`MAX_HELD`] and counted.

use std::collections::VecDeque;
use std::sync::Arc;

use rumqttc::{
    ConnAck, ConnectionError, Event, Packet, Publish, QoS, SubAck, SubscribeFilter,
    SubscribeReasonCode,
};
use sitewatch_core::clock::Clock;
use sitewatch_core::points::SourceEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::acks::Ticket;
use super::broker::BrokerState;
use super::link::Link;
use super::{BROKER_DROPPED, MAX_HELD, Outputs, ReaderScan, Receipt, Rejects, too_large};
use crate::devices::payload::RejectReason;
use crate::devices::topics::{Routed, TopicMap};

/// The readings' client and what it holds for the engine.
pub(super) struct Readings {
    pub(super) link: Link,
    pub(super) topics: TopicMap,
    pub(super) out: Outputs,
    /// Events not yet taken by the engine, each with the ticket of its message.
    pub(super) held: VecDeque<(SourceEvent, Option<Ticket>)>,
    pub(super) broker: BrokerState,
    /// Whether to ask for the broker's dropped count (`[mqtt] broker_stats`).
    pub(super) broker_stats: bool,
    /// The broker's dropped count last seen.
    pub(super) broker_dropped: i64,
    pub(super) rejects: Rejects,
    /// Receipts of scans that reached this client (from a session older than the scans'
    /// client) come back here.
    pub(super) done: (
        mpsc::UnboundedSender<Option<Ticket>>,
        mpsc::UnboundedReceiver<Option<Ticket>>,
    ),
    pub(super) clock: Arc<dyn Clock>,
}

impl Readings {
    /// Runs until `cancel`, then hands the engine what it holds and says goodbye.
    pub(super) async fn run(mut self, cancel: CancellationToken) {
        let (host, port) = self.link.client_options();
        tracing::info!(%host, port, "mqtt source starting");
        // A handle of its own: a permit borrows it across the select's arms.
        let sources = self.out.sources.clone();
        loop {
            let ready = !self.held.is_empty() && !self.link.holds_events();
            let deadline = self.broker.deadline();
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                permit = sources.reserve(), if ready => match permit {
                    Ok(permit) => {
                        if let Some((ev, ticket)) = self.held.pop_front() {
                            permit.send(ev);
                            self.link.acks.kept(ticket);
                        }
                    }
                    Err(_) => break,
                },
                Some(ticket) = self.done.1.recv() => self.link.acks.kept(ticket),
                () = sleep_until(deadline), if deadline.is_some() => {
                    let lost = self.broker.expire();
                    self.hold_all(lost);
                }
                event = self.link.next() => self.event(event),
            }
        }
        for (ev, ticket) in std::mem::take(&mut self.held) {
            if self.out.sources.send(ev).await.is_err() {
                break;
            }
            self.link.acks.kept(ticket);
        }
        self.link.metrics().connected(self.link.name, false);
        self.link.close().await;
    }

    fn hold_all(&mut self, events: Vec<SourceEvent>) {
        self.held.extend(events.into_iter().map(|e| (e, None)));
    }

    fn event(&mut self, event: Result<Event, ConnectionError>) {
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => self.connected(&ack),
            Ok(Event::Incoming(Packet::SubAck(ack))) => self.subscribed(&ack),
            Ok(Event::Incoming(Packet::Publish(p))) => self.message(p),
            Ok(_) => {}
            Err(e) => {
                self.link.failed(&e);
                let since = self
                    .link
                    .lost_since
                    .unwrap_or_else(tokio::time::Instant::now);
                let down = self.broker.down(since);
                self.hold_all(down);
            }
        }
    }

    fn connected(&mut self, ack: &ConnAck) {
        let first = !self.link.seen_connack;
        let subscribe = self.link.connected(ack);
        let up = self.broker.up();
        self.hold_all(up);
        if !subscribe {
            tracing::info!("mqtt readings reconnected; broker kept our subscriptions");
            self.link.metrics().connected(self.link.name, true);
            return;
        }
        if first {
            // Scans had this session before they got their own client: stop them here.
            let _ = self
                .link
                .client
                .try_unsubscribe(self.topics.scan_subscription());
        }
        let subs = self.topics.device_subscriptions();
        tracing::info!(
            session = ack.session_present,
            topics = subs.len(),
            "mqtt readings connected; subscribing"
        );
        // The broker's own figure goes last, at QoS 0: a lost update is replaced by the
        // next, and `subscribed` can tell its answer from the devices'.
        let stats = self
            .broker_stats
            .then(|| SubscribeFilter::new(BROKER_DROPPED.into(), QoS::AtMostOnce));
        let filters: Vec<_> = subs
            .into_iter()
            .map(|t| SubscribeFilter::new(t, QoS::AtLeastOnce))
            .chain(stats)
            .collect();
        if filters.is_empty() {
            self.link.metrics().connected(self.link.name, true);
        } else if let Err(e) = self.link.client.try_subscribe_many(filters) {
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
        self.link.metrics().connected(self.link.name, refused == 0);
    }

    fn message(&mut self, p: Publish) {
        let ticket = self.link.acks.receive(&p);
        if p.topic == BROKER_DROPPED {
            self.broker_dropped(&p.payload);
        } else if too_large(&p.payload) {
            self.rejects
                .message(&p.topic, RejectReason::TooLarge, &p.payload);
        } else if self.held.len() >= MAX_HELD && p.qos == QoS::AtMostOnce {
            self.link.metrics().backlog_dropped(self.link.name);
        } else {
            self.route(&p, ticket);
            return;
        }
        self.link.acks.kept(ticket);
    }

    /// Values are held for the engine; refused messages are acked at once.
    fn route(&mut self, p: &Publish, ticket: Option<Ticket>) {
        let (topic, payload) = (p.topic.as_str(), &p.payload[..]);
        match self.topics.route(topic, payload, self.clock.now()) {
            Routed::Values {
                device,
                values,
                rejects,
                outside_states,
            } => {
                for (point, reason) in rejects {
                    self.rejects.field(topic, reason, payload, Some(&point));
                }
                let bad = outside_states.into_iter().map(|(point, v)| {
                    self.rejects
                        .field(topic, RejectReason::UnknownState, payload, Some(&point));
                    SourceEvent::PointsBad {
                        device: device.clone(),
                        points: vec![point],
                        reason: format!("value {v} is not one of the point's states"),
                    }
                });
                let bad: Vec<_> = bad.collect();
                self.hold_all(bad);
                if values.is_empty() {
                    self.link.metrics().message("rejected");
                    self.link.acks.kept(ticket);
                    return;
                }
                self.link.metrics().message("ok");
                let polled = SourceEvent::Polled { device, values };
                self.held.push_back((polled, ticket));
            }
            Routed::Scan(scan) => self.stray_scan(scan, ticket),
            Routed::Rejected(reason) => {
                self.rejects.message(topic, reason, payload);
                self.link.acks.kept(ticket);
            }
        }
    }

    /// A scan that the session kept from before scans had their own client: handed to
    /// the scan intake like any other, acked here once stored.
    fn stray_scan(&mut self, scan: crate::devices::nfc::NfcScan, ticket: Option<Ticket>) {
        self.link.metrics().message("scan");
        let receipt = Receipt {
            ticket,
            to: self.done.0.clone(),
        };
        if self
            .out
            .scans
            .try_send(ReaderScan { scan, receipt })
            .is_err()
        {
            // Not acked: the broker sends it again after the next reconnect.
            self.link.metrics().backlog_dropped(self.link.name);
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
        self.link.metrics().broker_dropped(n);
    }
}

/// Sleeps until `at`; never returns without one (the branch is disabled then).
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
