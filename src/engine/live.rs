//! Live events for the dashboard and SSE clients: a broadcast with a sequence number on
//! every event and a ring of recent ones, so a client that reconnects resumes from the
//! last id it saw instead of missing what happened while it was away.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::sync::broadcast;

/// How many recent events a reconnecting client can catch up on.
const RING: usize = 4096;

/// An event for live views.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// Sequence number, increasing by one per event since start.
    pub id: u64,
    /// Event kind (`point`, `quality`, `device`, `alarm`, `incident`, `patrol`, `scan`, `inspection`).
    pub kind: &'static str,
    /// The event.
    pub data: serde_json::Value,
}

/// The live hub: publish once, every subscriber sees it.
#[derive(Debug)]
pub struct LiveHub {
    tx: broadcast::Sender<LiveEvent>,
    ring: Mutex<VecDeque<LiveEvent>>,
    seq: AtomicU64,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(RING).0,
            ring: Mutex::new(VecDeque::with_capacity(RING)),
            seq: AtomicU64::new(0),
        }
    }
}

impl LiveHub {
    /// Numbers and sends an event.
    pub fn publish(&self, kind: &'static str, data: serde_json::Value) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let ev = LiveEvent {
            id: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            kind,
            data,
        };
        if ring.len() == RING {
            ring.pop_front();
        }
        ring.push_back(ev.clone());
        // Sent under the lock so a subscriber's replay and its live stream never overlap.
        let _ = self.tx.send(ev);
    }

    /// Events after `last_id` still in the ring, and a receiver for what comes next.
    /// `None` for the replay when `last_id` is older than the ring (the client must reload).
    pub fn subscribe(
        &self,
        last_id: Option<u64>,
    ) -> (Option<Vec<LiveEvent>>, broadcast::Receiver<LiveEvent>) {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let rx = self.tx.subscribe();
        let replay = match last_id {
            None => Some(Vec::new()),
            Some(id) => {
                let oldest = ring.front().map_or(id + 1, |e| e.id);
                (id + 1 >= oldest).then(|| ring.iter().filter(|e| e.id > id).cloned().collect())
            }
        };
        (replay, rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reconnecting_client_gets_what_it_missed_in_order() {
        let hub = LiveHub::default();
        for i in 0..5 {
            hub.publish("alarm", serde_json::json!(i));
        }
        let (replay, _) = hub.subscribe(Some(3));
        let ids: Vec<u64> = replay.expect("in ring").iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![4, 5]);
    }

    #[test]
    fn a_client_too_far_behind_is_told_to_reload() {
        let hub = LiveHub::default();
        for i in 0..(RING + 10) {
            hub.publish("point", serde_json::json!(i));
        }
        assert!(hub.subscribe(Some(2)).0.is_none());
        assert!(hub.subscribe(Some((RING + 5) as u64)).0.is_some());
    }
}
