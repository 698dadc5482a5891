//! Acknowledging QoS 1 messages only once what they carried is kept, in the order they
//! arrived (MQTT 3.1.1 §4.6 asks for PUBACKs in PUBLISH order).
//!
//! Each message gets a [`Ticket`] when it arrives; the ticket comes back when the message
//! is kept (taken by the engine, or stored). Acks leave from the front of the queue while
//! the front is kept, so a later message kept first waits for the earlier ones.
//!
//! A ticket carries the connection it arrived on. Packet ids belong to a connection: after
//! a reconnect the broker sends every unacknowledged message again, and an ack written on
//! the new connection for a message of the old one could acknowledge a different message
//! that reused the id. So a reconnect forgets the queue, and late tickets are ignored: the
//! broker's resend is kept again (scans by id, readings as a repeated value) and acked then.

use std::collections::VecDeque;

use rumqttc::{AsyncClient, Publish, QoS};

/// One QoS 1 message waiting to be kept, to be handed back to [`AckQueue::kept`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    connection: u64,
    seq: u64,
}

#[derive(Debug)]
struct Waiting {
    seq: u64,
    pkid: u16,
    kept: bool,
}

/// The QoS 1 messages of the current connection not yet acknowledged, oldest first.
#[derive(Debug, Default)]
pub(crate) struct AckQueue {
    connection: u64,
    next_seq: u64,
    waiting: VecDeque<Waiting>,
    /// Packet ids whose acks are due but not yet handed to rumqttc (its channel was full).
    due: VecDeque<u16>,
}

impl AckQueue {
    /// A ticket for a message just received; `None` for QoS 0, which is never acked.
    pub(crate) fn receive(&mut self, p: &Publish) -> Option<Ticket> {
        if p.qos != QoS::AtLeastOnce {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.waiting.push_back(Waiting {
            seq,
            pkid: p.pkid,
            kept: false,
        });
        Some(Ticket {
            connection: self.connection,
            seq,
        })
    }

    /// The message of `ticket` is kept; acks become due from the front.
    pub(crate) fn kept(&mut self, ticket: Option<Ticket>) {
        let Some(t) = ticket.filter(|t| t.connection == self.connection) else {
            return;
        };
        if let Some(w) = self.waiting.iter_mut().find(|w| w.seq == t.seq) {
            w.kept = true;
        }
        while self.waiting.front().is_some_and(|w| w.kept) {
            if let Some(w) = self.waiting.pop_front() {
                self.due.push_back(w.pkid);
            }
        }
    }

    /// The connection is gone: what waits is sent again by the broker.
    pub(crate) fn reconnected(&mut self) {
        self.connection += 1;
        self.waiting.clear();
        self.due.clear();
    }

    /// Messages received and not yet acknowledged.
    #[cfg(test)]
    fn unacked(&self) -> usize {
        self.waiting.len() + self.due.len()
    }

    /// Hands due acks to rumqttc without waiting: the event loop that empties its channel
    /// runs in the same task, so waiting for room here would wait for ever.
    pub(crate) fn flush(&mut self, client: &AsyncClient) {
        while let Some(&pkid) = self.due.front() {
            let mut p = Publish::new("", QoS::AtLeastOnce, Vec::new());
            p.pkid = pkid;
            if client.try_ack(&p).is_err() {
                return;
            }
            self.due.pop_front();
        }
    }

    #[cfg(test)]
    fn due(&self) -> Vec<u16> {
        self.due.iter().copied().collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn publish(pkid: u16, qos: QoS) -> Publish {
        let mut p = Publish::new("t", qos, b"1".to_vec());
        p.pkid = pkid;
        p
    }

    #[test]
    fn acks_leave_in_arrival_order_once_kept() {
        let mut q = AckQueue::default();
        let a = q.receive(&publish(7, QoS::AtLeastOnce));
        let b = q.receive(&publish(8, QoS::AtLeastOnce));
        let c = q.receive(&publish(9, QoS::AtLeastOnce));
        q.kept(b);
        assert!(q.due().is_empty(), "8 waits for 7");
        q.kept(a);
        assert_eq!(q.due(), [7, 8]);
        q.kept(c);
        assert_eq!(q.due(), [7, 8, 9]);
        assert_eq!(q.unacked(), 3);
    }

    #[test]
    fn qos_0_messages_take_no_ticket() {
        let mut q = AckQueue::default();
        assert_eq!(q.receive(&publish(0, QoS::AtMostOnce)), None);
        assert_eq!(q.unacked(), 0);
    }

    #[test]
    fn a_reconnect_forgets_the_old_connections_acks() {
        let mut q = AckQueue::default();
        let old = q.receive(&publish(3, QoS::AtLeastOnce));
        q.reconnected();
        let new = q.receive(&publish(3, QoS::AtLeastOnce));
        q.kept(old);
        assert!(q.due().is_empty(), "a stale ticket acks nothing");
        q.kept(new);
        assert_eq!(q.due(), [3]);
    }
}
