//! Small serde helpers for alarm settings: durations written as `"10s"`, `"5m"`, `"7d"`
//! (or combined, `"1h30m"`) and IANA time-zone names. Kept here so the core needs no extra
//! crate for two string formats.

use chrono::Duration;
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, de::Error as _};

/// Parses `"500ms"`, `"10s"`, `"5m"`, `"2h"`, `"7d"` or a sequence such as `"1h30m"`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::zero();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}`: expected a number before the unit"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        total += unit(number, &rest[..unit_len])
            .ok_or_else(|| format!("`{text}`: unit must be one of ms, s, m, h, d"))?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

fn unit(n: i64, unit: &str) -> Option<Duration> {
    match unit {
        "ms" => Duration::try_milliseconds(n),
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        _ => None,
    }
}

/// `deserialize_with` for a required duration string.
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(D::Error::custom)
}

/// `deserialize_with` for an IANA time-zone name such as `"Asia/Shanghai"`.
pub(crate) fn time_zone<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let text = String::deserialize(d)?;
    text.parse::<Tz>()
        .map_err(|_| D::Error::custom(format!("unknown time zone `{text}`")))
}
