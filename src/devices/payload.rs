//! MQTT payloads as common gateways send them, turned into point values: zigbee2mqtt-style
//! JSON objects read by a simple JSON path, plain numbers, `true`/`false`, `ON`/`OFF` and
//! words mapped to numbers by a profile's value map. Pure, so every shape is unit-tested.

use std::collections::BTreeMap;

use serde_json::Value;

pub use crate::config::binding::JsonPath;

/// Why a message was dropped. A fixed set: the values are metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The payload is not UTF-8 text.
    NotUtf8,
    /// The payload looks like JSON but does not parse, or a path was asked of plain text.
    Malformed,
    /// The JSON has none of the binding's paths.
    MissingPath,
    /// The value is not a number, a boolean or a known word.
    NotNumeric,
    /// The value is a word the binding's `map` does not list.
    Unmapped,
    /// No binding subscribes to the topic (a wildcard caught something unexpected).
    UnknownTopic,
    /// An NFC scan without a tag UID.
    BadScan,
    /// The payload is larger than sitewatch takes (acked, so the broker does not resend it).
    TooLarge,
    /// A number that is not one of the point's declared `states` (the point turns bad).
    UnknownState,
}

impl RejectReason {
    /// Every reason, for declaring the metric series up front.
    pub const ALL: [RejectReason; 9] = [
        RejectReason::NotUtf8,
        RejectReason::Malformed,
        RejectReason::MissingPath,
        RejectReason::NotNumeric,
        RejectReason::Unmapped,
        RejectReason::UnknownTopic,
        RejectReason::BadScan,
        RejectReason::TooLarge,
        RejectReason::UnknownState,
    ];

    /// The stable snake_case name used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NotUtf8 => "not_utf8",
            RejectReason::Malformed => "malformed",
            RejectReason::MissingPath => "missing_path",
            RejectReason::NotNumeric => "not_numeric",
            RejectReason::Unmapped => "unmapped",
            RejectReason::UnknownTopic => "unknown_topic",
            RejectReason::BadScan => "bad_scan",
            RejectReason::TooLarge => "too_large",
            RejectReason::UnknownState => "unknown_state",
        }
    }
}

/// Payload text as a JSON value. Text that is not JSON is kept as a string, so bare words
/// (`ON`, `open`) work for `$` bindings; text that starts like JSON but does not parse is
/// malformed.
pub fn parse(bytes: &[u8]) -> Result<Value, RejectReason> {
    let text = std::str::from_utf8(bytes).map_err(|_| RejectReason::NotUtf8)?;
    let text = text.trim();
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(_) if text.starts_with(['{', '[', '"']) => Err(RejectReason::Malformed),
        Err(_) => Ok(Value::String(text.to_owned())),
    }
}

/// The value at `path` of a parsed payload as a number, through `map` when it lists it.
pub fn extract(
    payload: &Value,
    path: &JsonPath,
    map: &BTreeMap<String, f64>,
) -> Result<f64, RejectReason> {
    if !path.is_root() && !matches!(payload, Value::Object(_) | Value::Array(_)) {
        return Err(RejectReason::Malformed);
    }
    let v = path.get(payload).ok_or(RejectReason::MissingPath)?;
    to_number(v, map)
}

/// A JSON value as a number: the map first (by the value's text, exact then lower-case),
/// then numbers, booleans, numeric strings and `on`/`off`/`true`/`false` in any case.
pub fn to_number(v: &Value, map: &BTreeMap<String, f64>) -> Result<f64, RejectReason> {
    // Most bindings have no map: then no key text is written (a number's text per message).
    let key = if map.is_empty() { None } else { map_key(v) };
    if let Some(key) = key {
        let found = map.get(&key).or_else(|| map.get(&key.to_lowercase()));
        if let Some(n) = found {
            return Ok(*n);
        }
    }
    match v {
        Value::Number(n) => n.as_f64().ok_or(RejectReason::NotNumeric),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::String(s) => word(s).ok_or(if map.is_empty() {
            RejectReason::NotNumeric
        } else {
            RejectReason::Unmapped
        }),
        _ => Err(RejectReason::NotNumeric),
    }
}

fn map_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn word(s: &str) -> Option<f64> {
    let s = s.trim();
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" => Some(1.0),
        "off" | "false" => Some(0.0),
        _ => s.parse::<f64>().ok().filter(|n| n.is_finite()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(s: &str) -> JsonPath {
        JsonPath::parse(s).unwrap()
    }

    fn no_map() -> BTreeMap<String, f64> {
        BTreeMap::new()
    }

    fn door_map() -> BTreeMap<String, f64> {
        [("open".to_owned(), 1.0), ("closed".to_owned(), 0.0)].into()
    }

    #[test]
    fn paths_walk_objects_and_arrays() {
        let v = json!({"state": {"temperature": 21.5}, "values": [3, 4]});
        assert_eq!(path("state.temperature").get(&v), Some(&json!(21.5)));
        assert_eq!(path("$.state.temperature").get(&v), Some(&json!(21.5)));
        assert_eq!(path("values.1").get(&v), Some(&json!(4)));
        assert_eq!(path("$").get(&v), Some(&v));
        assert_eq!(path("state.humidity").get(&v), None);
        assert_eq!(path("values.x").get(&v), None);
    }

    #[test]
    fn paths_with_empty_keys_are_refused() {
        assert!(JsonPath::parse("a..b").is_err());
        assert!(JsonPath::parse("a.").is_err());
        assert!(JsonPath::parse("").unwrap().is_root());
    }

    #[test]
    fn zigbee2mqtt_object_gives_the_bound_field() {
        let v = parse(br#"{"battery":97,"water_leak":true,"linkquality":120}"#).unwrap();
        assert_eq!(extract(&v, &path("water_leak"), &no_map()), Ok(1.0));
        assert_eq!(extract(&v, &path("battery"), &no_map()), Ok(97.0));
    }

    #[test]
    fn plain_numbers_booleans_and_switch_words_are_values() {
        let root = path("$");
        for (payload, want) in [
            ("21.5", 21.5),
            (" -3 ", -3.0),
            ("true", 1.0),
            ("false", 0.0),
            ("ON", 1.0),
            ("off", 0.0),
        ] {
            let v = parse(payload.as_bytes()).unwrap();
            assert_eq!(extract(&v, &root, &no_map()), Ok(want), "{payload}");
        }
    }

    #[test]
    fn value_maps_translate_words_before_anything_else() {
        let v = parse(br#"{"state":"open"}"#).unwrap();
        assert_eq!(extract(&v, &path("state"), &door_map()), Ok(1.0));
        let v = parse(b"CLOSED").unwrap();
        assert_eq!(extract(&v, &path("$"), &door_map()), Ok(0.0));
        let inverted: BTreeMap<String, f64> =
            [("true".to_owned(), 0.0), ("false".to_owned(), 1.0)].into();
        let v = parse(br#"{"contact":true}"#).unwrap();
        assert_eq!(extract(&v, &path("contact"), &inverted), Ok(0.0));
    }

    #[test]
    fn bad_payloads_are_rejected_with_their_reason() {
        let leak = path("water_leak");
        let cases: [(&[u8], &JsonPath, RejectReason); 6] = [
            (b"{not json", &leak, RejectReason::Malformed),
            (b"leak!", &leak, RejectReason::Malformed),
            (br#"{"battery":97}"#, &leak, RejectReason::MissingPath),
            (br#"{"water_leak":"wet"}"#, &leak, RejectReason::NotNumeric),
            (br#"{"water_leak":null}"#, &leak, RejectReason::NotNumeric),
            (b"\xff\xfe", &leak, RejectReason::NotUtf8),
        ];
        for (payload, p, want) in cases {
            let got = parse(payload).and_then(|v| extract(&v, p, &no_map()));
            assert_eq!(got, Err(want), "{}", String::from_utf8_lossy(payload));
        }
        let v = parse(br#"{"state":"ajar"}"#).unwrap();
        assert_eq!(
            extract(&v, &path("state"), &door_map()),
            Err(RejectReason::Unmapped)
        );
    }

    #[test]
    fn reasons_have_distinct_stable_names() {
        let names: std::collections::HashSet<_> =
            RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), RejectReason::ALL.len());
    }
}
