//! NFC checkpoint readers: a fixed reader publishes each scan on
//! `sitewatch/{site}/scan/{reader}`, as JSON (`{"uid": "04:A2:2B:1A", "at": "…",
//! "guard": "g7", "id": "…"}`) or as the bare UID. Parsing is pure; the patrol module
//! consumes the resulting [`NfcScan`]s.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::payload::RejectReason;

/// One scan as a reader reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NfcScan {
    /// Reader id, from the topic.
    pub reader: String,
    /// The tag UID as read (case and separators as sent).
    pub tag_uid: String,
    /// When the reader says it scanned, or when it arrived if the reader did not say.
    pub at: DateTime<Utc>,
    /// Guard id, when the reader knows it (a guard badge read first).
    pub guard: Option<String>,
    /// The reader's own scan id, so a resent scan is known again.
    pub id: Option<String>,
}

/// The topic filter readers publish on.
pub fn topic_filter(site: &str) -> String {
    format!("sitewatch/{site}/scan/+")
}

/// The reader id of a scan topic of `site`, if it is one.
pub fn reader_of<'a>(site: &str, topic: &'a str) -> Option<&'a str> {
    let rest = topic.strip_prefix("sitewatch/")?.strip_prefix(site)?;
    let reader = rest.strip_prefix("/scan/")?;
    (!reader.is_empty() && !reader.contains('/')).then_some(reader)
}

/// Parses one scan payload from `reader`, received at `now`.
pub fn parse_scan(
    reader: &str,
    payload: &[u8],
    now: DateTime<Utc>,
) -> Result<NfcScan, RejectReason> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| RejectReason::NotUtf8)?
        .trim();
    let scan = |tag_uid: &str, at, guard, id| NfcScan {
        reader: reader.to_owned(),
        tag_uid: tag_uid.to_owned(),
        at,
        guard,
        id,
    };
    if !text.starts_with('{') {
        return valid_uid(text).map(|uid| scan(uid, now, None, None));
    }
    let v: Value = serde_json::from_str(text).map_err(|_| RejectReason::Malformed)?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::trim);
    let uid = field("uid").or_else(|| field("tag_uid")).unwrap_or("");
    let uid = valid_uid(uid)?;
    let at = match field("at") {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|_| RejectReason::BadScan)?
            .with_timezone(&Utc),
        None => now,
    };
    let owned = |k: &str| field(k).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(scan(uid, at, owned("guard"), owned("id")))
}

/// A UID is hex digits, optionally separated by `:`, `-` or spaces.
fn valid_uid(uid: &str) -> Result<&str, RejectReason> {
    let hex = uid.chars().filter(char::is_ascii_hexdigit).count();
    let only_hex = uid
        .chars()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '-' | ' '));
    if hex >= 4 && only_hex {
        Ok(uid)
    } else {
        Err(RejectReason::BadScan)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-01T02:00:00Z".parse().unwrap()
    }

    #[test]
    fn scan_topics_name_their_reader() {
        assert_eq!(
            reader_of("tower_a", "sitewatch/tower_a/scan/gate_1"),
            Some("gate_1")
        );
        assert_eq!(reader_of("tower_a", "sitewatch/tower_b/scan/gate_1"), None);
        assert_eq!(reader_of("tower_a", "sitewatch/tower_a/scan/"), None);
        assert_eq!(reader_of("tower_a", "sitewatch/tower_a/scan/a/b"), None);
        assert_eq!(reader_of("tower", "sitewatch/tower_a/scan/x"), None);
        assert_eq!(topic_filter("t"), "sitewatch/t/scan/+");
    }

    #[test]
    fn json_scan_keeps_reader_time_guard_and_id() {
        let payload = br#"{"uid":"04:A2:2B:1A:5C:80","at":"2026-03-01T09:59:58+08:00","guard":"g7","id":"r1-881"}"#;
        let s = parse_scan("gate_1", payload, now()).unwrap();
        assert_eq!(s.reader, "gate_1");
        assert_eq!(s.tag_uid, "04:A2:2B:1A:5C:80");
        assert_eq!(
            s.at,
            "2026-03-01T01:59:58Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(s.guard.as_deref(), Some("g7"));
        assert_eq!(s.id.as_deref(), Some("r1-881"));
    }

    #[test]
    fn bare_uid_is_a_scan_made_on_arrival() {
        let s = parse_scan("b1_stairs", b" 04a22b1a5c80\n", now()).unwrap();
        assert_eq!((s.tag_uid.as_str(), s.at), ("04a22b1a5c80", now()));
        assert_eq!((s.guard, s.id), (None, None));
    }

    #[test]
    fn scans_without_a_usable_uid_or_time_are_rejected() {
        for bad in [
            &br#"{"at":"2026-03-01T01:59:58Z"}"#[..],
            br#"{"uid":"hello world"}"#,
            br#"{"uid":"04A2","at":"yesterday"}"#,
            b"",
            b"zz",
        ] {
            let got = parse_scan("r", bad, now());
            assert_eq!(
                got,
                Err(RejectReason::BadScan),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            parse_scan("r", b"{oops", now()),
            Err(RejectReason::Malformed)
        );
    }
}
