//! Live events for the dashboard and SSE clients: a broadcast with a sequence number on
//! every event and a ring of recent ones, so a client that reconnects resumes from the
//! last id it saw instead of missing what happened while it was away.
//!
//! An event holds the core's decision itself, behind an `Arc`, and its JSON is written the
//! first time a reader asks for it and then shared: publishing costs one allocation and
//! no serialisation, so thousands of samples a second with nobody watching cost almost
//! nothing, and every SSE client gets the same text instead of serialising its own.
//!
//! The MQTT publisher needs only each point's latest value per tick, so the hub keeps
//! those for it (once it asks) instead of waking it for every sample.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use sitewatch_core::points::{PointEvent, PointId};
use tokio::sync::broadcast;

use super::outputs::Output;

/// How many recent events a reconnecting client can catch up on.
const RING: usize = 4096;

/// An event for live views; cloning it clones a pointer.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    /// Sequence number, increasing by one per event since start.
    pub id: u64,
    /// Event kind (`point`, `quality`, `device`, `alarm`, `incident`, `patrol`, `scan`,
    /// `inspection`, `vacant`, `request`, `handover`).
    pub kind: &'static str,
    body: Arc<Body>,
}

#[derive(Debug)]
struct Body {
    output: Output,
    json: OnceLock<Box<RawValue>>,
}

impl LiveEvent {
    /// The event as JSON, written on first use and shared by every reader.
    pub fn data(&self) -> &str {
        self.json().get()
    }

    fn json(&self) -> &RawValue {
        self.body.json.get_or_init(|| to_json(&self.body.output))
    }

    /// The decision itself.
    pub fn output(&self) -> &Output {
        &self.body.output
    }

    /// For a point sample, whether history keeps it.
    pub fn recorded_sample(&self) -> Option<bool> {
        match self.output() {
            Output::Point(PointEvent::Sample { record, .. }) => Some(*record),
            _ => None,
        }
    }
}

impl Serialize for LiveEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: u64,
            kind: &'static str,
            data: &'a RawValue,
        }
        Wire {
            id: self.id,
            kind: self.kind,
            data: self.json(),
        }
        .serialize(s)
    }
}

/// A point's latest value and when it was read.
pub type PointValue = (f64, DateTime<Utc>);

/// The live hub: publish once, every subscriber sees it.
#[derive(Debug)]
pub struct LiveHub {
    tx: broadcast::Sender<LiveEvent>,
    ring: Mutex<VecDeque<LiveEvent>>,
    seq: AtomicU64,
    /// Whether [`LiveHub::take_points`] has a reader, so samples are noted for it.
    follow_points: AtomicBool,
    points: Mutex<HashMap<PointId, PointValue>>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(RING).0,
            ring: Mutex::new(VecDeque::with_capacity(RING)),
            seq: AtomicU64::new(0),
            follow_points: AtomicBool::new(false),
            points: Mutex::default(),
        }
    }
}

impl LiveHub {
    /// Numbers and sends a decision of the core.
    pub fn publish(&self, output: Output) {
        self.note_point(&output);
        let kind = kind(&output);
        let body = Arc::new(Body {
            output,
            json: OnceLock::new(),
        });
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let ev = LiveEvent {
            id: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            kind,
            body,
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

    /// From now on, notes every point sample's value for [`LiveHub::take_points`].
    pub fn follow_points(&self) {
        self.follow_points.store(true, Ordering::Relaxed);
    }

    /// The latest value of every point sampled since the last call (of those sampled
    /// after [`LiveHub::follow_points`]).
    pub fn take_points(&self) -> HashMap<PointId, PointValue> {
        std::mem::take(&mut *self.points.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn note_point(&self, output: &Output) {
        let Output::Point(PointEvent::Sample {
            point, value, at, ..
        }) = output
        else {
            return;
        };
        if !self.follow_points.load(Ordering::Relaxed) {
            return;
        }
        let mut points = self.points.lock().unwrap_or_else(|e| e.into_inner());
        // Point ids are shared, so the key costs a pointer copy, not an allocation.
        points.insert(point.clone(), (*value, *at));
    }
}

/// The event kind live views filter on.
fn kind(out: &Output) -> &'static str {
    match out {
        Output::Point(PointEvent::Sample { .. }) => "point",
        Output::Point(PointEvent::Quality { .. }) => "quality",
        Output::Point(PointEvent::Device { .. }) => "device",
        Output::Point(PointEvent::Rejected { .. }) => "rejected",
        Output::Patrol(_) => "patrol",
        Output::Scan(_) => "scan",
        Output::Inspection(_) => "inspection",
        Output::Vacant(_) => "vacant",
        Output::Incident(_) => "incident",
        Output::Alarm(_) => "alarm",
        Output::Request(..) => "request",
        Output::Handover(_) => "handover",
        Output::DutyLog(_) => "duty_log",
        Output::Maintenance(_) => "maintenance",
        Output::Compliance(_) => "compliance",
    }
}

/// The event's JSON: the core's event itself (`null` if it cannot be written).
fn to_json(out: &Output) -> Box<RawValue> {
    let raw = match out {
        Output::Point(ev) => serde_json::value::to_raw_value(ev),
        Output::Patrol(ev) => serde_json::value::to_raw_value(ev),
        Output::Scan(rec) => serde_json::value::to_raw_value(rec.as_ref()),
        Output::Inspection(ev) => serde_json::value::to_raw_value(ev),
        Output::Vacant(ev) => serde_json::value::to_raw_value(ev),
        Output::Incident(ev) => serde_json::value::to_raw_value(ev),
        Output::Alarm(ev) => serde_json::value::to_raw_value(ev.as_ref()),
        Output::Request(ev, _) => serde_json::value::to_raw_value(ev.as_ref()),
        Output::Handover(ev) => serde_json::value::to_raw_value(ev.as_ref()),
        Output::DutyLog(entry) => serde_json::value::to_raw_value(entry.as_ref()),
        Output::Maintenance(ev) => serde_json::value::to_raw_value(ev.as_ref()),
        Output::Compliance(ev) => serde_json::value::to_raw_value(ev.as_ref()),
    };
    raw.unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engine::VacantChange;

    fn vacant(i: usize) -> Output {
        Output::vacant(VacantChange::Occupancy {
            unit: i.to_string(),
            vacant: true,
        })
    }

    fn sample(point: &str, value: f64) -> Output {
        Output::Point(PointEvent::Sample {
            point: point.into(),
            value,
            at: "2026-11-25T08:00:00.250Z".parse().unwrap(),
            record: false,
            slot: None,
        })
    }

    #[test]
    fn a_reconnecting_client_gets_what_it_missed_in_order() {
        let hub = LiveHub::default();
        for i in 0..5 {
            hub.publish(vacant(i));
        }
        let (replay, _) = hub.subscribe(Some(3));
        let ids: Vec<u64> = replay.expect("in ring").iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![4, 5]);
    }

    #[test]
    fn a_client_too_far_behind_is_told_to_reload() {
        let hub = LiveHub::default();
        for i in 0..(RING + 10) {
            hub.publish(vacant(i));
        }
        assert!(hub.subscribe(Some(2)).0.is_none());
        assert!(hub.subscribe(Some((RING + 5) as u64)).0.is_some());
    }

    #[test]
    fn data_is_the_events_json_written_once_for_every_reader() {
        let hub = LiveHub::default();
        let (_, mut rx) = hub.subscribe(None);
        let out = sample("ahu_1.supply_temp", 21.5);
        let Output::Point(ev) = out.clone() else {
            unreachable!()
        };
        let want = serde_json::to_value(&ev).unwrap().to_string();
        hub.publish(out);
        let live = rx.try_recv().unwrap();
        let (replay, _) = hub.subscribe(Some(0));
        let replayed = &replay.unwrap()[0];
        assert_eq!((live.kind, live.data()), ("point", want.as_str()));
        assert!(std::ptr::eq(live.data(), replayed.data()));
        assert_eq!(live.recorded_sample(), Some(false));
        let wire: serde_json::Value = serde_json::to_value(&live).unwrap();
        assert_eq!(wire["data"], serde_json::to_value(&ev).unwrap());
    }

    #[test]
    fn point_values_are_kept_for_a_follower_latest_only() {
        let hub = LiveHub::default();
        hub.publish(sample("a.x", 1.0));
        assert!(hub.take_points().is_empty(), "nobody follows yet");
        hub.follow_points();
        hub.publish(sample("a.x", 2.0));
        hub.publish(sample("a.x", 3.0));
        hub.publish(sample("b.y", 4.0));
        let got = hub.take_points();
        assert_eq!(got.len(), 2);
        assert_eq!(got["a.x"].0, 3.0);
        assert!(hub.take_points().is_empty());
    }
}
