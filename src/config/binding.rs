//! MQTT topic bindings in profiles: `[[mqtt_points]]` say where each point's value sits in
//! a device's messages (a JSON path), how words map to numbers, and how long the point
//! may stay silent before it turns stale. The profile's `topic` pattern (with `{device}`)
//! or the site config's `mqtt.topic` says which topic carries the messages.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

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

/// A simple JSON path: `$` (the whole payload), `water_leak`, `state.temperature`, or
/// `values.0` (an array index).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct JsonPath(Vec<String>);

impl TryFrom<String> for JsonPath {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        JsonPath::parse(&s)
    }
}

impl JsonPath {
    /// Parses `$` or dot-separated keys; empty keys are refused.
    pub fn parse(s: &str) -> Result<JsonPath, String> {
        let rest = s
            .strip_prefix('$')
            .map_or(s, |r| r.strip_prefix('.').unwrap_or(r));
        if rest.is_empty() {
            return Ok(JsonPath(Vec::new()));
        }
        let keys: Vec<String> = rest.split('.').map(str::to_owned).collect();
        if keys.iter().any(String::is_empty) {
            return Err(format!("path `{s}` has an empty key"));
        }
        Ok(JsonPath(keys))
    }

    /// Whether the path is `$`, the whole payload.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at the path, if there is one.
    pub fn get<'a>(&self, mut v: &'a Value) -> Option<&'a Value> {
        for key in &self.0 {
            v = match v {
                Value::Object(m) => m.get(key)?,
                Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }
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
mod tests {
    use super::*;

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
