//! The points hub: the latest value and quality of every point, and the device
//! communication state behind them. Sources feed it [`SourceEvent`]s; it answers with the
//! [`PointEvent`]s that the alarm engine and the sinks consume.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A point's full name: `{device}.{point}`.
pub type PointId = std::sync::Arc<str>;

/// A point's place in the hub that made the event: fixed while that hub lives, so a sink
/// can keep what it knows per point (the store, a point's integer key) in a plain array
/// instead of a map keyed by the id. Only the hub makes one, so a slot always belongs to
/// the point it came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubSlot(std::num::NonZeroU32);

impl HubSlot {
    fn of(index: usize) -> Option<Self> {
        u32::try_from(index + 1)
            .ok()
            .and_then(std::num::NonZeroU32::new)
            .map(Self)
    }

    /// The position, from 0.
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// How far a point's value can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Read recently from a device that answers.
    Good,
    /// No new value for longer than the point's `stale_after`.
    Stale,
    /// The device stopped answering; the value is the last one known.
    CommLost,
    /// The point cannot be read as configured (a device exception, a decode failure).
    BadConfig,
}

impl Quality {
    /// The stable lower-case name used in the API, the store and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Good => "good",
            Quality::Stale => "stale",
            Quality::CommLost => "comm_lost",
            Quality::BadConfig => "bad_config",
        }
    }
}

/// What the hub needs to know about a device.
#[derive(Debug, Clone)]
pub struct DeviceSpec {
    /// Device id from the site config.
    pub id: String,
    /// Consecutive failed polls after which the device counts as comm-lost.
    pub comm_loss_after: u32,
}

/// What the hub needs to know about a point.
#[derive(Debug, Clone)]
pub struct PointSpec {
    /// `{device}.{point}`.
    pub id: PointId,
    /// The device the point belongs to.
    pub device: String,
    /// Engineering unit, for display.
    pub unit: String,
    /// A point with no new value for this long turns stale (push sources such as MQTT).
    pub stale_after: Option<Duration>,
    /// History keeps a value when it moved at least this much since the last kept one.
    pub history_deadband: f64,
    /// History keeps a value at least this often even when it did not move.
    pub history_heartbeat: Duration,
}

/// A fact from a source.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// A device answered a poll with these values.
    Polled {
        /// Device id.
        device: String,
        /// Values by point id.
        values: Vec<(PointId, f64)>,
    },
    /// A device did not answer a poll (timeout, refused connection, broken frame).
    PollFailed {
        /// Device id.
        device: String,
        /// Why, for the log and the dashboard.
        reason: String,
    },
    /// The device answered but these points could not be read (exception, decode error).
    PointsBad {
        /// Device id.
        device: String,
        /// The points concerned.
        points: Vec<PointId>,
        /// Why.
        reason: String,
    },
}

/// A change the hub decided on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PointEvent {
    /// A new good value.
    Sample {
        /// Point id.
        point: PointId,
        /// The value in engineering units.
        value: f64,
        /// When it was read.
        at: DateTime<Utc>,
        /// Whether history should keep it (deadband and heartbeat).
        record: bool,
        /// Where the hub holds the point (`None` from anything but a hub).
        #[serde(skip)]
        slot: Option<HubSlot>,
    },
    /// A point's quality changed.
    Quality {
        /// Point id.
        point: PointId,
        /// The quality before.
        from: Quality,
        /// The quality now.
        to: Quality,
        /// When.
        at: DateTime<Utc>,
        /// The change out of the start state that a point's first value since start makes
        /// (it was never read, not gone stale). The journal leaves these out (every point
        /// has one on every start), as history keeps the value itself.
        first_value: bool,
    },
    /// A device went down (comm-lost) or came back.
    Device {
        /// Device id.
        device: String,
        /// Whether it answers now.
        up: bool,
        /// Why it went down, if it did.
        reason: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A source sent something the hub could not place (unknown device or point).
    Rejected {
        /// What was rejected.
        what: String,
        /// Why.
        reason: String,
    },
}

/// The current state of one point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointState {
    /// Point id.
    #[schema(value_type = String)]
    pub id: PointId,
    /// Device id, shared by the device's points.
    #[schema(value_type = String)]
    pub device: Arc<str>,
    /// Engineering unit, shared by the points with that unit.
    #[schema(value_type = String)]
    pub unit: Arc<str>,
    /// The last value read, if any.
    pub value: Option<f64>,
    /// How far the value can be trusted.
    pub quality: Quality,
    /// When the value was last read.
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    recorded: Option<(f64, DateTime<Utc>)>,
    #[serde(skip)]
    limits: Arc<Limits>,
}

/// The parts of a [`PointSpec`] the hub decides with, kept apart from the id, device and
/// unit so a point holds each of those once (memory: a site has tens of thousands). Points
/// with equal limits share one (a profile's point on every device of that profile).
#[derive(Debug, Clone)]
struct Limits {
    stale_after: Option<Duration>,
    history_deadband: f64,
    history_heartbeat: Duration,
}

/// Equal limits by their bits (`f64` has no `Hash`), for sharing.
type LimitsKey = (Option<Duration>, u64, Duration);

impl Limits {
    /// The spec's limits, shared with every earlier point that has the same.
    fn shared(spec: &PointSpec, seen: &mut HashMap<LimitsKey, Arc<Limits>>) -> Arc<Limits> {
        let key = (
            spec.stale_after,
            spec.history_deadband.to_bits(),
            spec.history_heartbeat,
        );
        seen.entry(key)
            .or_insert_with(|| {
                Arc::new(Limits {
                    stale_after: spec.stale_after,
                    history_deadband: spec.history_deadband,
                    history_heartbeat: spec.history_heartbeat,
                })
            })
            .clone()
    }
}

/// The current state of one device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceState {
    /// Device id.
    pub id: String,
    /// Whether the device answers.
    pub up: bool,
    /// Consecutive failed polls.
    pub misses: u32,
    /// The last failure reason.
    pub last_error: Option<String>,
    /// When the device last answered.
    pub last_ok: Option<DateTime<Utc>>,
    #[serde(skip)]
    comm_loss_after: u32,
}

/// Latest value and quality of every point; pure, fed events and `now`.
#[derive(Debug, Default)]
pub struct PointsHub {
    /// Sorted by id, found by binary search: the set is fixed at start, and a sorted
    /// `Vec` holds a point in a third of the memory of a `BTreeMap` node slot.
    points: Vec<PointState>,
    devices: BTreeMap<String, DeviceState>,
    /// Indexes into `points`.
    by_device: HashMap<Arc<str>, Vec<usize>>,
}

impl PointsHub {
    /// A hub for these devices and points. Points start with no value and `Stale` quality
    /// until first read.
    pub fn new(devices: Vec<DeviceSpec>, points: Vec<PointSpec>) -> Self {
        let mut hub = Self::default();
        for d in devices {
            hub.devices.insert(d.id.clone(), DeviceState::new(d));
        }
        // Device ids and units are held once each, not once per point (a thousand devices
        // of twenty points each held 20,000 copies of each).
        let mut names: BTreeSet<Arc<str>> = BTreeSet::new();
        let mut share = |s: String| -> Arc<str> {
            if let Some(shared) = names.get(s.as_str()) {
                return shared.clone();
            }
            let shared: Arc<str> = s.into();
            names.insert(shared.clone());
            shared
        };
        let mut limits = HashMap::new();
        let mut points: Vec<PointState> = points
            .into_iter()
            .map(|mut spec| {
                let device = share(std::mem::take(&mut spec.device));
                let unit = share(std::mem::take(&mut spec.unit));
                let limits = Limits::shared(&spec, &mut limits);
                PointState::new(spec, device, unit, limits)
            })
            .collect();
        points.sort_by(|a, b| a.id.cmp(&b.id));
        // A repeated id keeps its last spec, as a map insert would.
        points.dedup_by(|later, kept| {
            let same = later.id == kept.id;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        points.shrink_to_fit();
        for (i, p) in points.iter().enumerate() {
            hub.by_device.entry(p.device.clone()).or_default().push(i);
        }
        hub.points = points;
        hub
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.points.binary_search_by(|p| (*p.id).cmp(id)).ok()
    }

    fn point_mut(&mut self, id: &str) -> Option<&mut PointState> {
        let i = self.index(id)?;
        self.points.get_mut(i)
    }

    /// Every point, ordered by id.
    pub fn points(&self) -> impl Iterator<Item = &PointState> {
        self.points.iter()
    }

    /// Every device, ordered by id.
    pub fn devices(&self) -> impl Iterator<Item = &DeviceState> {
        self.devices.values()
    }

    /// One point.
    pub fn point(&self, id: &str) -> Option<&PointState> {
        self.index(id).map(|i| &self.points[i])
    }

    /// Applies a source fact.
    pub fn handle(&mut self, event: SourceEvent, now: DateTime<Utc>) -> Vec<PointEvent> {
        match event {
            SourceEvent::Polled { device, values } => self.polled(&device, values, now),
            SourceEvent::PollFailed { device, reason } => self.poll_failed(&device, reason, now),
            SourceEvent::PointsBad {
                device,
                points,
                reason,
            } => {
                // The device answered, so it stays up; the reason still shows on it.
                if let Some(d) = self.devices.get_mut(&device) {
                    d.last_error = Some(reason);
                }
                let mut out = Vec::new();
                for id in points {
                    self.set_quality(&id, Quality::BadConfig, now, &mut out);
                }
                out
            }
        }
    }

    /// Time passes: points without news for longer than `stale_after` turn stale.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<PointEvent> {
        let mut out = Vec::new();
        for p in &mut self.points {
            if p.quality == Quality::Good && p.is_overdue(now) {
                out.extend(p.change_quality(Quality::Stale, now, false));
            }
        }
        out
    }

    fn polled(
        &mut self,
        device: &str,
        values: Vec<(PointId, f64)>,
        now: DateTime<Utc>,
    ) -> Vec<PointEvent> {
        let mut out = Vec::new();
        match self.devices.get_mut(device) {
            Some(d) => {
                let was_down = !d.up;
                d.up = true;
                d.misses = 0;
                d.last_ok = Some(now);
                if was_down {
                    out.push(PointEvent::Device {
                        device: device.to_owned(),
                        up: true,
                        reason: None,
                        at: now,
                    });
                }
            }
            None => out.push(unknown("device", device)),
        }
        for (id, value) in values {
            self.sample(&id, value, now, &mut out);
        }
        out
    }

    fn sample(&mut self, id: &str, value: f64, now: DateTime<Utc>, out: &mut Vec<PointEvent>) {
        let Some(i) = self.index(id) else {
            out.push(unknown("point", id));
            return;
        };
        let p = &mut self.points[i];
        let first_value = p.updated_at.is_none();
        p.value = Some(value);
        p.updated_at = Some(now);
        let record = p.should_record(value, now);
        if record {
            p.recorded = Some((value, now));
        }
        out.push(PointEvent::Sample {
            point: p.id.clone(),
            value,
            at: now,
            record,
            slot: HubSlot::of(i),
        });
        out.extend(p.change_quality(Quality::Good, now, first_value));
    }

    fn poll_failed(&mut self, device: &str, reason: String, now: DateTime<Utc>) -> Vec<PointEvent> {
        let mut out = Vec::new();
        let Some(d) = self.devices.get_mut(device) else {
            return vec![unknown("device", device)];
        };
        d.misses = d.misses.saturating_add(1);
        d.last_error = Some(reason.clone());
        if !d.up || d.misses < d.comm_loss_after {
            return out;
        }
        d.up = false;
        out.push(PointEvent::Device {
            device: device.to_owned(),
            up: false,
            reason: Some(reason),
            at: now,
        });
        for &i in self.by_device.get(device).into_iter().flatten() {
            out.extend(self.points[i].change_quality(Quality::CommLost, now, false));
        }
        out
    }

    fn set_quality(
        &mut self,
        id: &str,
        to: Quality,
        now: DateTime<Utc>,
        out: &mut Vec<PointEvent>,
    ) {
        match self.point_mut(id) {
            Some(p) => out.extend(p.change_quality(to, now, false)),
            None => out.push(unknown("point", id)),
        }
    }
}

fn unknown(kind: &str, id: &str) -> PointEvent {
    PointEvent::Rejected {
        what: id.to_owned(),
        reason: format!("unknown {kind}"),
    }
}

impl PointState {
    /// A point kept outside the hub (an estate's register meter, issue 24), in the form
    /// the API shows points in.
    pub fn outside(
        id: PointId,
        device: Arc<str>,
        unit: Arc<str>,
        value: Option<f64>,
        quality: Quality,
        updated_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            id,
            device,
            unit,
            value,
            quality,
            updated_at,
            recorded: None,
            limits: Arc::new(Limits {
                stale_after: None,
                history_deadband: 0.0,
                history_heartbeat: Duration::zero(),
            }),
        }
    }

    fn new(spec: PointSpec, device: Arc<str>, unit: Arc<str>, limits: Arc<Limits>) -> Self {
        Self {
            id: spec.id,
            device,
            unit,
            value: None,
            quality: Quality::Stale,
            updated_at: None,
            recorded: None,
            limits,
        }
    }

    /// Sets the quality; the event when it changed. `first_value` marks the change a
    /// point's first value makes, and only out of the start state: a point that went
    /// comm-lost or bad before it was ever read recovers in the journal like any other.
    fn change_quality(
        &mut self,
        to: Quality,
        now: DateTime<Utc>,
        first_value: bool,
    ) -> Option<PointEvent> {
        let from = std::mem::replace(&mut self.quality, to);
        (from != to).then(|| PointEvent::Quality {
            point: self.id.clone(),
            from,
            to,
            at: now,
            first_value: first_value && from == Quality::Stale,
        })
    }

    fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        match (self.limits.stale_after, self.updated_at) {
            (Some(limit), Some(at)) => now - at > limit,
            _ => false,
        }
    }

    fn should_record(&self, value: f64, now: DateTime<Utc>) -> bool {
        match self.recorded {
            None => true,
            Some((last, at)) => {
                let moved = (value - last).abs();
                (moved > 0.0 && moved >= self.limits.history_deadband)
                    || now - at >= self.limits.history_heartbeat
            }
        }
    }
}

impl DeviceState {
    fn new(spec: DeviceSpec) -> Self {
        Self {
            id: spec.id,
            up: true,
            misses: 0,
            last_error: None,
            last_ok: None,
            comm_loss_after: spec.comm_loss_after.max(1),
        }
    }
}

#[cfg(test)]
mod tests;
