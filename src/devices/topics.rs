//! Which MQTT topic means what: each MQTT device's topic (or filter) and the NFC readers'
//! scan topics. Pure: a message in, point values or a scan or a reject reason out.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sitewatch_core::points::PointId;

use super::binding;
use super::nfc::{self, NfcScan};
use super::payload::RejectReason;
use crate::config::Device;
use crate::config::profile::Profile;

/// What one message turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// Values for a device's points, and the fields that were present but unusable.
    Values {
        /// Device id.
        device: String,
        /// Values by point id (may be empty when every field was rejected).
        values: Vec<(PointId, f64)>,
        /// Why each unusable field was dropped.
        rejects: Vec<(PointId, RejectReason)>,
        /// Points whose value is outside their declared states, with the value.
        outside_states: Vec<(PointId, f64)>,
    },
    /// An NFC reader's scan.
    Scan(NfcScan),
    /// Nothing usable.
    Rejected(RejectReason),
}

#[derive(Debug, Clone)]
struct Binding {
    device: String,
    profile: Arc<Profile>,
    /// Point ids by index into the profile's MQTT points, built once, not per message.
    ids: Vec<PointId>,
}

/// Topic bindings of one site.
#[derive(Debug, Clone)]
pub struct TopicMap {
    site: String,
    exact: HashMap<String, Binding>,
    filters: Vec<(String, Binding)>,
}

impl TopicMap {
    /// The bindings of every MQTT device of a site, plus its NFC scan topics.
    pub fn new(site: &str, devices: &[Device]) -> Self {
        let mut map = TopicMap {
            site: site.to_owned(),
            exact: HashMap::new(),
            filters: Vec::new(),
        };
        for d in devices {
            let Some(topic) = d.mqtt_topic() else {
                continue;
            };
            let ids = d.profile.mqtt_points.iter();
            let b = Binding {
                device: d.config.id.clone(),
                profile: Arc::clone(&d.profile),
                ids: ids.map(|p| d.point_id(&p.name).into()).collect(),
            };
            if topic.contains(['+', '#']) {
                map.filters.push((topic, b));
            } else {
                map.exact.insert(topic, b);
            }
        }
        map
    }

    /// Every device topic and filter to subscribe to (the readings' client).
    pub fn device_subscriptions(&self) -> Vec<String> {
        let mut subs: Vec<String> = self.exact.keys().cloned().collect();
        subs.sort();
        subs.extend(self.filters.iter().map(|(f, _)| f.clone()));
        subs
    }

    /// The NFC readers' filter (the scans' client).
    pub fn scan_subscription(&self) -> String {
        nfc::topic_filter(&self.site)
    }

    /// What a message on `topic` means, received at `now`.
    pub fn route(&self, topic: &str, payload: &[u8], now: DateTime<Utc>) -> Routed {
        if let Some(reader) = nfc::reader_of(&self.site, topic) {
            return nfc::parse_scan(reader, payload, now)
                .map_or_else(Routed::Rejected, Routed::Scan);
        }
        let found = self.exact.get(topic).or_else(|| {
            let mut matching = self
                .filters
                .iter()
                .filter(|(f, _)| rumqttc::matches(topic, f));
            matching.next().map(|(_, b)| b)
        });
        let Some(b) = found else {
            return Routed::Rejected(RejectReason::UnknownTopic);
        };
        match binding::extract(&b.profile.mqtt_points, payload) {
            Ok(x) => {
                let id = |i: usize| b.ids[i].clone();
                Routed::Values {
                    device: b.device.clone(),
                    values: x.values.into_iter().map(|(i, v)| (id(i), v)).collect(),
                    rejects: x.rejects.into_iter().map(|(i, r)| (id(i), r)).collect(),
                    outside_states: x
                        .outside_states
                        .into_iter()
                        .map(|(i, v)| (id(i), v))
                        .collect(),
                }
            }
            Err(r) => Routed::Rejected(r),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    fn map() -> TopicMap {
        let text = r#"
[site]
id = "t"
name = "T"

[[devices]]
id = "leak_1"
name = "Leak"
profile = "zigbee_water_leak"
mqtt = {}

[[devices]]
id = "door_1"
name = "Door"
profile = "zigbee_door_contact"
mqtt = { topic = "site/+/door_1" }
"#;
        let config = Config::parse(Path::new("t.toml"), text, None).unwrap();
        TopicMap::new("t", &config.devices)
    }

    fn now() -> DateTime<Utc> {
        "2026-03-01T02:00:00Z".parse().unwrap()
    }

    #[test]
    fn subscriptions_cover_devices_and_scans() {
        let m = map();
        assert_eq!(
            m.device_subscriptions(),
            ["zigbee2mqtt/leak_1", "site/+/door_1"]
        );
        assert_eq!(m.scan_subscription(), "sitewatch/t/scan/+");
    }

    #[test]
    fn device_messages_become_point_values() {
        let got = map().route(
            "zigbee2mqtt/leak_1",
            br#"{"water_leak":true,"battery":91}"#,
            now(),
        );
        let Routed::Values {
            device,
            values,
            rejects,
            ..
        } = got
        else {
            panic!("{got:?}")
        };
        assert_eq!(device, "leak_1");
        assert!(values.contains(&("leak_1.leak".into(), 1.0)), "{values:?}");
        assert!(
            values.contains(&("leak_1.battery".into(), 91.0)),
            "{values:?}"
        );
        assert!(rejects.is_empty());
        let got = map().route("site/b2/door_1", br#"{"contact":false}"#, now());
        assert!(
            matches!(got, Routed::Values { ref values, .. } if values == &[("door_1.open".into(), 1.0)]),
            "{got:?}"
        );
    }

    #[test]
    fn scans_and_strangers_are_told_apart() {
        let got = map().route("sitewatch/t/scan/gate", b"04A22B1A", now());
        assert!(
            matches!(got, Routed::Scan(ref s) if s.reader == "gate"),
            "{got:?}"
        );
        let got = map().route("elsewhere", b"1", now());
        assert_eq!(got, Routed::Rejected(RejectReason::UnknownTopic));
    }
}
