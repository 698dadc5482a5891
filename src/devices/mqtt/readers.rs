//! The scans' client: NFC readers' scans go to the scan intake, and each QoS 1 message is
//! acked once its scan is stored (its [`Receipt`] comes back).
//!
//! While the database is down the intake retries the scan it has, the scans queued
//! behind it wait in the channel and in `held`, and no more arrive once the broker's
//! inflight window of unacknowledged messages is full: the backlog stays with the broker,
//! in this client's session, and the readings' client is not held up. The event loop is
//! polled throughout, so the keep-alive does not lapse. QoS 0 scans (never acked) are
//! dropped past [`MAX_HELD`] and counted.

use std::collections::VecDeque;
use std::sync::Arc;

use rumqttc::{ConnAck, ConnectionError, Event, Packet, Publish, QoS, SubAck, SubscribeReasonCode};
use sitewatch_core::clock::Clock;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::acks::Ticket;
use super::link::Link;
use super::{MAX_HELD, ReaderScan, Receipt, Rejects, too_large};
use crate::devices::payload::RejectReason;
use crate::devices::topics::{Routed, TopicMap};

/// The scans' client and the scans it holds for the intake.
pub(super) struct Readers {
    pub(super) link: Link,
    pub(super) topics: TopicMap,
    pub(super) out: mpsc::Sender<ReaderScan>,
    pub(super) held: VecDeque<ReaderScan>,
    pub(super) rejects: Rejects,
    /// Receipts of stored scans come back here.
    pub(super) done: (
        mpsc::UnboundedSender<Option<Ticket>>,
        mpsc::UnboundedReceiver<Option<Ticket>>,
    ),
    pub(super) clock: Arc<dyn Clock>,
}

impl Readers {
    /// Runs until `cancel`. Scans still held are not acked: the broker keeps them for the
    /// next start.
    pub(super) async fn run(mut self, cancel: CancellationToken) {
        // A handle of its own: a permit borrows it across the select's arms.
        let out = self.out.clone();
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                Some(ticket) = self.done.1.recv() => self.link.acks.kept(ticket),
                permit = out.reserve(), if !self.held.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(scan) = self.held.pop_front() {
                            permit.send(scan);
                        }
                    }
                    Err(_) => break,
                },
                event = self.link.next() => self.event(event),
            }
        }
        while let Ok(ticket) = self.done.1.try_recv() {
            self.link.acks.kept(ticket);
        }
        self.link.metrics().connected(self.link.name, false);
        self.link.close().await;
    }

    fn event(&mut self, event: Result<Event, ConnectionError>) {
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => self.connected(&ack),
            Ok(Event::Incoming(Packet::SubAck(ack))) => self.subscribed(&ack),
            Ok(Event::Incoming(Packet::Publish(p))) => self.message(p),
            Ok(_) => {}
            Err(e) => {
                // Scans in flight to the intake are stored anyway; the broker sends them
                // again and the intake knows them by id.
                self.link.failed(&e);
            }
        }
    }

    fn connected(&mut self, ack: &ConnAck) {
        if !self.link.connected(ack) {
            self.link.metrics().connected(self.link.name, true);
            return;
        }
        let filter = self.topics.scan_subscription();
        if let Err(e) = self.link.client.try_subscribe(filter, QoS::AtLeastOnce) {
            tracing::error!(error = %e, "mqtt scan subscribe could not be queued");
        }
    }

    fn subscribed(&self, ack: &SubAck) {
        let refused = ack
            .return_codes
            .iter()
            .any(|c| matches!(c, SubscribeReasonCode::Failure));
        if refused {
            tracing::error!("mqtt broker refused the scan subscription (check its ACL)");
        }
        self.link.metrics().connected(self.link.name, !refused);
    }

    fn message(&mut self, p: Publish) {
        let ticket = self.link.acks.receive(&p);
        let (topic, payload) = (p.topic.as_str(), &p.payload[..]);
        if too_large(payload) {
            self.rejects.message(topic, RejectReason::TooLarge, payload);
            self.link.acks.kept(ticket);
            return;
        }
        match self.topics.route(topic, payload, self.clock.now()) {
            Routed::Scan(scan) if self.held.len() >= MAX_HELD && ticket.is_none() => {
                drop(scan);
                self.link.metrics().backlog_dropped(self.link.name);
            }
            Routed::Scan(scan) => {
                self.link.metrics().message("scan");
                let receipt = Receipt {
                    ticket,
                    to: self.done.0.clone(),
                };
                self.held.push_back(ReaderScan { scan, receipt });
            }
            Routed::Rejected(reason) => {
                self.rejects.message(topic, reason, payload);
                self.link.acks.kept(ticket);
            }
            // Not subscribed here; a wildcard of another client's filter.
            Routed::Values { .. } => self.link.acks.kept(ticket),
        }
    }
}
