//! Simulated MQTT sensors for the demo, publishing zigbee2mqtt-style JSON through the
//! broker like real ones would: every water-leak sensor and door contact of the config
//! (by profile), and one NFC reader that scans a checkpoint tag now and then. What they
//! send at each step is a pure function of the step, so it is tested without a broker.

use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions, QoS};
use tokio_util::sync::CancellationToken;

use super::mqtt;
use crate::config::Config;

/// Time between publications.
const STEP: Duration = Duration::from_secs(5);
/// The demo reader's id in `sitewatch/{site}/scan/{reader}`.
const READER: &str = "demo_reader";
/// Checkpoint tags the demo reader sees, in turn.
const TAGS: [&str; 4] = [
    "04:A2:2B:1A:5C:80",
    "04:7F:91:22:6B:80",
    "04:C3:05:6E:11:81",
    "04:19:DA:43:70:80",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Leak,
    Door,
}

/// The demo's simulated sensors.
pub struct SimSensors {
    options: MqttOptions,
    sensors: Vec<(Kind, String)>,
    scan_topic: String,
}

// By hand: rumqttc's `MqttOptions` debug output shows the password.
impl std::fmt::Debug for SimSensors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimSensors")
            .field("sensors", &self.sensors)
            .field("scan_topic", &self.scan_topic)
            .finish_non_exhaustive()
    }
}

impl SimSensors {
    /// Sensors for the MQTT devices of `config`, publishing to its `[mqtt]` broker.
    pub fn new(config: &Config) -> anyhow::Result<SimSensors> {
        let mut options = mqtt::options(config)?;
        options.set_client_id(format!("{}-sim", options.client_id()));
        options.set_clean_session(true);
        let sensors = config
            .devices
            .iter()
            .filter_map(|d| {
                let kind = match d.profile.id.as_str() {
                    "zigbee_water_leak" => Kind::Leak,
                    "zigbee_door_contact" => Kind::Door,
                    _ => return None,
                };
                Some((kind, d.mqtt_topic()?))
            })
            .collect();
        let scan_topic = format!("sitewatch/{}/scan/{READER}", config.site.id);
        Ok(SimSensors {
            options,
            sensors,
            scan_topic,
        })
    }

    /// Publishes every [`STEP`] until `cancel`.
    pub async fn run(self, cancel: CancellationToken) {
        let (client, mut events) = AsyncClient::new(self.options.clone(), 64);
        let stop = cancel.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    ev = events.poll() => if ev.is_err() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    },
                }
            }
        });
        let mut tick = tokio::time::interval(STEP);
        for step in 0.. {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = tick.tick() => self.publish(&client, step),
            }
        }
    }

    fn publish(&self, client: &AsyncClient, step: u64) {
        let send = |topic: &str, payload: String| {
            // A full queue (broker away) drops the reading, as a real sensor would.
            let _ = client.try_publish(topic, QoS::AtLeastOnce, false, payload);
        };
        for (kind, topic) in &self.sensors {
            send(topic, payload(*kind, step));
        }
        if let Some(scan) = scan_payload(step) {
            send(&self.scan_topic, scan);
        }
    }
}

/// A sensor's zigbee2mqtt state object at `step`: leaks for 20 s every 3 minutes, doors
/// open for 10 s every minute, batteries drain slowly, link quality wanders.
fn payload(kind: Kind, step: u64) -> String {
    let battery = 97 - (step / 720) % 10;
    let linkquality = 90 + (step * 37) % 60;
    let voltage = 2900 + battery * 2;
    match kind {
        Kind::Leak => {
            let water_leak = step % 36 >= 32;
            format!(
                r#"{{"battery":{battery},"voltage":{voltage},"water_leak":{water_leak},"linkquality":{linkquality}}}"#
            )
        }
        Kind::Door => {
            let contact = step % 12 >= 2;
            format!(
                r#"{{"battery":{battery},"voltage":{voltage},"contact":{contact},"linkquality":{linkquality}}}"#
            )
        }
    }
}

/// Every 30 s the reader scans the next tag.
fn scan_payload(step: u64) -> Option<String> {
    if step % 6 != 3 {
        return None;
    }
    let tag = TAGS[(step / 6) as usize % TAGS.len()];
    let guard = "demo_guard";
    // No scan id: the daemon derives one from reader, tag and time, so a restarted demo's
    // scans are new scans, not resends of the last run's.
    Some(format!(r#"{{"uid":"{tag}","guard":"{guard}"}}"#))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::devices::{binding, nfc};

    fn profile(id: &str) -> crate::config::profile::Profile {
        let profiles = crate::config::load_profiles(None).unwrap();
        profiles[id].as_ref().clone()
    }

    fn value(kind: Kind, profile_id: &str, point: &str, step: u64) -> f64 {
        let p = profile(profile_id);
        let got = binding::extract(&p.mqtt_points, payload(kind, step).as_bytes()).unwrap();
        assert!(got.rejects.is_empty());
        let name = |i: usize| p.mqtt_points[i].name.as_str();
        got.values
            .iter()
            .find(|(i, _)| name(*i) == point)
            .unwrap()
            .1
    }

    #[test]
    fn simulated_payloads_fit_the_shipped_profiles() {
        let leaks: Vec<f64> = (0..36)
            .map(|s| value(Kind::Leak, "zigbee_water_leak", "leak", s))
            .collect();
        assert_eq!(leaks.iter().filter(|v| **v == 1.0).count(), 4);
        let opens: Vec<f64> = (0..12)
            .map(|s| value(Kind::Door, "zigbee_door_contact", "open", s))
            .collect();
        assert_eq!(opens.iter().filter(|v| **v == 1.0).count(), 2);
    }

    #[test]
    fn the_reader_scans_every_thirty_seconds_and_parses() {
        let scans: Vec<String> = (0..24).filter_map(scan_payload).collect();
        assert_eq!(scans.len(), 4);
        let now = chrono::Utc::now();
        let s = nfc::parse_scan(READER, scans[1].as_bytes(), now).unwrap();
        assert_eq!(s.tag_uid, TAGS[1]);
        assert_eq!(s.guard.as_deref(), Some("demo_guard"));
    }
}
