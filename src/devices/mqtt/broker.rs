//! The broker connection as a point: device `mqtt`, point `mqtt.connected` (1 connected,
//! 0 not). When the connection has been lost for `[mqtt] lost_after` (60 s by default) the
//! `mqtt` device and every MQTT device go comm-lost, which raises the `mqtt:comm` alarm
//! through the same comm-loss path as a silent Modbus device, and greys the MQTT devices'
//! values instead of showing them as current. A shorter blip (a broker restart) changes
//! only the point. When the connection returns, the devices are up again; their points
//! turn good with their next value.

use std::time::Duration;

use sitewatch_core::points::{DeviceSpec, PointSpec, SourceEvent};
use tokio::time::Instant;

use crate::config::Config;

/// The broker connection's device id.
pub const DEVICE: &str = "mqtt";
/// The broker connection's point id.
pub const POINT: &str = "mqtt.connected";

/// The hub's device and point for the broker connection, when the site uses a broker.
pub fn specs(config: &Config) -> Option<(DeviceSpec, PointSpec)> {
    if !config.uses_mqtt() && config.mqtt.url.is_none() {
        return None;
    }
    let device = DeviceSpec {
        id: DEVICE.into(),
        comm_loss_after: 1,
    };
    let point = PointSpec {
        id: POINT.into(),
        device: DEVICE.into(),
        unit: String::new(),
        stale_after: None,
        history_deadband: 0.0,
        history_heartbeat: chrono::Duration::hours(1),
    };
    Some((device, point))
}

/// What the source tells the hub about the connection.
#[derive(Debug)]
pub struct BrokerState {
    /// The MQTT devices, which go comm-lost with the broker.
    devices: Vec<String>,
    lost_after: Duration,
    /// When the loss becomes comm loss, while the connection is down and it has not yet.
    deadline: Option<Instant>,
    /// Whether the devices were declared comm-lost.
    declared: bool,
    /// Whether the hub was last told "connected".
    told_up: bool,
}

impl BrokerState {
    /// Down since `since` (the start: not yet connected).
    pub fn new(devices: Vec<String>, lost_after: Duration, since: Instant) -> Self {
        Self {
            devices,
            lost_after,
            deadline: Some(since + lost_after),
            declared: false,
            told_up: false,
        }
    }

    /// When [`BrokerState::expire`] is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The broker accepted the connection.
    pub fn up(&mut self) -> Vec<SourceEvent> {
        self.deadline = None;
        let mut out = Vec::new();
        if !self.told_up {
            out.push(connected(1.0));
        }
        if std::mem::take(&mut self.declared) {
            out.extend(self.devices.iter().map(|d| SourceEvent::Polled {
                device: d.clone(),
                values: Vec::new(),
            }));
        }
        self.told_up = true;
        out
    }

    /// The connection failed at `since` (the first failure of a run of them).
    pub fn down(&mut self, since: Instant) -> Vec<SourceEvent> {
        if !self.declared && self.deadline.is_none() {
            self.deadline = Some(since + self.lost_after);
        }
        if !std::mem::take(&mut self.told_up) {
            return Vec::new();
        }
        vec![connected(0.0)]
    }

    /// The connection stayed lost past `lost_after`: the broker device and every MQTT
    /// device go comm-lost.
    pub fn expire(&mut self) -> Vec<SourceEvent> {
        self.deadline = None;
        self.declared = true;
        let reason = format!(
            "MQTT broker connection lost for more than {}",
            humantime::format_duration(self.lost_after)
        );
        let failed = |device: &str| SourceEvent::PollFailed {
            device: device.to_owned(),
            reason: reason.clone(),
        };
        let mut out = vec![failed(DEVICE)];
        out.extend(self.devices.iter().map(|d| failed(d)));
        out
    }
}

fn connected(v: f64) -> SourceEvent {
    SourceEvent::Polled {
        device: DEVICE.into(),
        values: vec![(POINT.into(), v)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOST_AFTER: Duration = Duration::from_secs(60);

    fn devices(events: &[SourceEvent]) -> Vec<(&str, bool)> {
        events
            .iter()
            .map(|e| match e {
                SourceEvent::Polled { device, .. } => (device.as_str(), true),
                SourceEvent::PollFailed { device, .. } => (device.as_str(), false),
                SourceEvent::PointsBad { device, .. } => (device.as_str(), false),
            })
            .collect()
    }

    #[test]
    fn a_short_blip_changes_only_the_point() {
        let t0 = Instant::now();
        let mut b = BrokerState::new(vec!["leak_1".into()], LOST_AFTER, t0);
        assert_eq!(devices(&b.up()), [("mqtt", true)]);
        assert_eq!(b.deadline(), None);
        assert_eq!(devices(&b.down(t0)), [("mqtt", true)]);
        assert_eq!(b.deadline(), Some(t0 + LOST_AFTER));
        assert!(b.down(t0).is_empty(), "told once");
        assert_eq!(devices(&b.up()), [("mqtt", true)]);
    }

    #[test]
    fn a_long_loss_takes_every_mqtt_device_down_and_back_up() {
        let t0 = Instant::now();
        let mut b = BrokerState::new(vec!["leak_1".into(), "door_1".into()], LOST_AFTER, t0);
        b.up();
        b.down(t0);
        let lost = b.expire();
        assert_eq!(
            devices(&lost),
            [("mqtt", false), ("leak_1", false), ("door_1", false)]
        );
        assert_eq!(b.deadline(), None, "declared once");
        b.down(t0);
        assert_eq!(b.deadline(), None, "still declared while down");
        assert_eq!(
            devices(&b.up()),
            [("mqtt", true), ("leak_1", true), ("door_1", true)]
        );
    }

    #[test]
    fn a_broker_never_reached_is_lost_after_the_threshold_from_start() {
        let t0 = Instant::now();
        let b = BrokerState::new(Vec::new(), LOST_AFTER, t0);
        assert_eq!(b.deadline(), Some(t0 + LOST_AFTER));
    }
}
