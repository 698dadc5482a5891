//! MQTT topic bindings in profiles: `[[mqtt_points]]` say where each point's value sits in
//! a device's messages (a JSON path), how words map to numbers, and how long the point
//! may stay silent before it turns stale. The profile's `topic` pattern (with `{device}`)
//! or the site config's `mqtt.topic` says which topic carries the messages.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::payload::{self, JsonPath, RejectReason};

/// One point read from a device's MQTT messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttPointDef {
    /// Point name, unique in the profile (`[a-z0-9_]`).
    pub name: String,
    /// Where the value sits in the payload: `water_leak`, `state.temperature`, `$`.
    pub path: JsonPath,
    /// Engineering unit (empty for states).
    #[serde(default)]
    pub unit: String,
    /// Words (or `true`/`false`) to numbers, e.g. `{ "open" = 1, "closed" = 0 }`.
    #[serde(default)]
    pub map: BTreeMap<String, f64>,
    /// The point turns stale when no value came for this long; unset: never.
    #[serde(default, with = "humantime_serde")]
    pub stale_after: Option<Duration>,
    /// Meaning of enumerated values, for display (`1 = "leak"`).
    #[serde(default)]
    pub states: BTreeMap<String, String>,
    /// What the point means, for people.
    #[serde(default)]
    pub description: String,
    /// The name and state words in zh-CN, for the desks' Chinese page.
    #[serde(default)]
    pub zh: super::profile::Localized,
    /// History deadband in engineering units (0 keeps every change).
    #[serde(default)]
    pub deadband: f64,
    /// Default alarm rules for this point (`[[mqtt_points.alarms]]`).
    #[serde(default)]
    pub alarms: Vec<super::profile::AlarmDef>,
}

/// What one message gave for a device's points.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Extracted {
    /// Values by index into the points (the caller has their ids built once).
    pub values: Vec<(usize, f64)>,
    /// Points whose value was present but unusable, with why.
    pub rejects: Vec<(usize, RejectReason)>,
    /// Points whose value is a number outside their declared `states`: the point is bad
    /// (as a Modbus `enum` code outside its states is), not a value nobody can read.
    pub outside_states: Vec<(usize, f64)>,
}

/// Reads every bound point from one payload. A point whose path is absent is skipped
/// (gateways send partial updates); when no point is present at all the message is
/// rejected as `missing_path`.
pub fn extract(points: &[MqttPointDef], bytes: &[u8]) -> Result<Extracted, RejectReason> {
    let v: Value = payload::parse(bytes)?;
    let mut out = Extracted::default();
    for (i, p) in points.iter().enumerate() {
        match payload::extract(&v, &p.path, &p.map) {
            Ok(n) if !is_a_state(p, n) => out.outside_states.push((i, n)),
            Ok(n) => out.values.push((i, n)),
            Err(RejectReason::MissingPath) => {}
            Err(RejectReason::Malformed) => return Err(RejectReason::Malformed),
            Err(r) => out.rejects.push((i, r)),
        }
    }
    if out.values.is_empty() && out.rejects.is_empty() && out.outside_states.is_empty() {
        return Err(RejectReason::MissingPath);
    }
    Ok(out)
}

/// Whether `n` is one of the point's `states` (keys are whole numbers: `0`, `1`); any
/// number is when the point declares none.
fn is_a_state(p: &MqttPointDef, n: f64) -> bool {
    if p.states.is_empty() {
        return true;
    }
    let whole = n.fract() == 0.0 && n.abs() < 1e15;
    #[allow(clippy::cast_possible_truncation)]
    let key = if whole {
        (n as i64).to_string()
    } else {
        n.to_string()
    };
    p.states.contains_key(&key)
}

/// Checks one binding; the reason when it is wrong.
pub fn check(p: &MqttPointDef) -> Result<(), String> {
    if p.map.values().any(|v| !v.is_finite()) {
        return Err("map values must be finite numbers".into());
    }
    if p.stale_after.is_some_and(|d| d.is_zero()) {
        return Err("stale_after must be more than zero".into());
    }
    Ok(())
}

/// Checks a topic pattern or filter: non-empty, `#` only last, wildcards whole levels.
pub fn check_topic(topic: &str) -> Result<(), String> {
    let levels: Vec<&str> = topic.split('/').collect();
    let last = levels.len() - 1;
    let bad_level = |(i, l): (usize, &&str)| {
        let l: &str = l;
        (l.contains('#') && (l != "#" || i != last)) || (l.contains('+') && l != "+")
    };
    if topic.is_empty() || levels.iter().enumerate().any(bad_level) {
        return Err(format!(
            "topic `{topic}`: `+` and `#` must be whole levels, `#` last"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn points() -> Vec<MqttPointDef> {
        let text = r#"
[[p]]
name = "leak"
path = "water_leak"
[[p]]
name = "battery"
path = "battery"
unit = "%"
"#;
        #[derive(Deserialize)]
        struct F {
            p: Vec<MqttPointDef>,
        }
        toml::from_str::<F>(text).unwrap().p
    }

    #[test]
    fn a_message_gives_every_present_point() {
        let got = extract(&points(), br#"{"water_leak":false,"battery":88}"#).unwrap();
        // Points 0 and 1 of the binding: leak and battery.
        assert_eq!(got.values, vec![(0, 0.0), (1, 88.0)]);
    }

    #[test]
    fn partial_updates_are_values_and_bad_fields_are_rejects() {
        let got = extract(&points(), br#"{"battery":"low"}"#).unwrap();
        assert!(got.values.is_empty());
        assert_eq!(got.rejects, vec![(1, RejectReason::NotNumeric)]);
        let got = extract(&points(), br#"{"water_leak":true}"#).unwrap();
        assert_eq!(got.values, vec![(0, 1.0)]);
    }

    #[test]
    fn numbers_outside_the_declared_states_are_set_apart() {
        let mut points = points();
        points[0].states = [("0", "dry"), ("1", "leak")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        let got = extract(&points, br#"{"water_leak":5,"battery":80}"#).unwrap();
        assert_eq!(got.values, vec![(1, 80.0)]);
        assert_eq!(got.outside_states, vec![(0, 5.0)]);
        let got = extract(&points, br#"{"water_leak":0.5}"#).unwrap();
        assert_eq!(got.outside_states, vec![(0, 0.5)]);
        let got = extract(&points, br#"{"water_leak":true}"#).unwrap();
        assert_eq!(got.values, vec![(0, 1.0)]);
    }

    #[test]
    fn a_message_with_none_of_the_paths_is_rejected() {
        let got = extract(&points(), br#"{"linkquality":3}"#);
        assert_eq!(got, Err(RejectReason::MissingPath));
        assert_eq!(extract(&points(), b"{"), Err(RejectReason::Malformed));
    }

    #[test]
    fn topic_wildcards_must_be_whole_levels() {
        assert!(check_topic("zigbee2mqtt/{device}").is_ok());
        assert!(check_topic("sensors/+/state").is_ok());
        assert!(check_topic("sensors/#").is_ok());
        assert!(check_topic("sensors/#/x").is_err());
        assert!(check_topic("sensors/a+").is_err());
        assert!(check_topic("").is_err());
    }
}
