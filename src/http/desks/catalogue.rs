//! The one catalogue of the desks' strings (`strings.toml`), in zh-CN and English.
//! Templates look keys up on the server; each page also carries its language's table
//! as JSON for its script (`sw.t`). A key missing in either language fails the tests
//! below, and so does a key a template or script uses that the catalogue lacks.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

const SOURCE: &str = include_str!("strings.toml");

/// The page's language, from the `lang` cookie; zh-CN unless English was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Zh,
    En,
}

impl Lang {
    /// From a `Cookie` header: `lang=en` picks English, anything else zh-CN.
    pub(crate) fn from_cookies(header: Option<&str>) -> Lang {
        let en = header
            .unwrap_or("")
            .split(';')
            .any(|c| c.trim() == "lang=en");
        if en { Lang::En } else { Lang::Zh }
    }

    /// The `lang` attribute of the page.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    zh: String,
    en: String,
}

static ENTRIES: LazyLock<BTreeMap<String, Entry>> = LazyLock::new(|| {
    // The file is compiled in and checked by the tests, so a broken one never ships.
    toml::from_str(SOURCE).unwrap_or_default()
});

/// The string for `key` in `lang`; empty when missing (the tests keep that from happening).
pub(crate) fn get(lang: Lang, key: &str) -> &'static str {
    match ENTRIES.get(key) {
        Some(e) if lang == Lang::En => e.en.as_str(),
        Some(e) => e.zh.as_str(),
        None => "",
    }
}

/// Every key in `lang`, for the page's script.
pub(crate) fn table(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    ENTRIES.keys().map(|k| (k.as_str(), get(lang, k))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file that names catalogue keys.
    const USERS: &[(&str, &str)] = &[
        ("layout.html", include_str!("templates/layout.html")),
        ("duty.html", include_str!("templates/duty.html")),
        ("service.html", include_str!("templates/service.html")),
        ("common.js", include_str!("static/common.js")),
        ("duty.js", include_str!("static/duty.js")),
        ("service.js", include_str!("static/service.js")),
        (
            "service_request.js",
            include_str!("static/service_request.js"),
        ),
        (
            "service_notices.js",
            include_str!("static/service_notices.js"),
        ),
    ];

    #[test]
    fn every_key_has_both_languages() {
        let raw: BTreeMap<String, toml::Value> = toml::from_str(SOURCE).expect("strings.toml");
        let mut bad = Vec::new();
        for (key, v) in &raw {
            for lang in ["zh", "en"] {
                let text = v.get(lang).and_then(toml::Value::as_str).unwrap_or("");
                if text.trim().is_empty() {
                    bad.push(format!("{key}: no {lang}"));
                }
            }
        }
        assert!(bad.is_empty(), "strings.toml: {bad:?}");
        assert_eq!(
            ENTRIES.len(),
            raw.len(),
            "every entry has exactly zh and en"
        );
    }

    /// Keys named literally: `t("key")` or `t("key", …)` in templates and scripts (not a
    /// prefix joined to a code, `t("rq_" + type)`, which the code tests cover).
    fn literal_keys(text: &str) -> Vec<&str> {
        text.match_indices("t(\"")
            .filter(|(i, _)| {
                let before = text[..*i].chars().next_back();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
            .filter_map(|(i, m)| {
                let rest = &text[i + m.len()..];
                let end = rest.find('"')?;
                let after = rest[end + 1..].chars().next();
                matches!(after, Some(')' | ',')).then(|| &rest[..end])
            })
            .collect()
    }

    #[test]
    fn every_key_used_is_in_the_catalogue() {
        let mut missing = Vec::new();
        for (file, text) in USERS {
            for key in literal_keys(text) {
                if !ENTRIES.contains_key(key) {
                    missing.push(format!("{file}: {key}"));
                }
            }
        }
        assert!(missing.is_empty(), "keys not in strings.toml: {missing:?}");
    }

    /// Codes the pages show through a prefix (`rs_` + a request state): each needs a key,
    /// or the zh page would show the raw code.
    #[test]
    fn every_code_the_service_desk_shows_has_a_string() {
        use serde_json::to_value;
        use sitewatch_core::incidents::{Channel, FollowUpMethod, RequestState};
        let code = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let mut keys = Vec::new();
        for s in [
            RequestState::Received,
            RequestState::Acknowledged,
            RequestState::InProgress,
            RequestState::Completed,
            RequestState::FollowedUp,
            RequestState::Closed,
            RequestState::Declined,
        ] {
            keys.push(format!("rs_{}", code(to_value(s).expect("state"))));
        }
        for c in [
            Channel::Phone,
            Channel::WalkIn,
            Channel::Hotline,
            Channel::Web,
        ] {
            keys.push(format!("ch_{}", code(to_value(c).expect("channel"))));
        }
        for m in [FollowUpMethod::Phone, FollowUpMethod::Visit] {
            keys.push(format!("fm_{}", code(to_value(m).expect("method"))));
        }
        keys.extend(customer_codes());
        let missing: Vec<_> = keys.iter().filter(|k| !ENTRIES.contains_key(*k)).collect();
        assert!(missing.is_empty(), "no string for {missing:?}");
    }

    fn customer_codes() -> Vec<String> {
        use crate::customers::notices::{DeliveryChannel, NoticeLevel, NoticeTemplate};
        use crate::customers::{ContactChannel, Occupancy, Role};
        let mut keys: Vec<String> = [
            NoticeTemplate::General,
            NoticeTemplate::WaterStoppage,
            NoticeTemplate::PowerStoppage,
            NoticeTemplate::LiftStoppage,
            NoticeTemplate::FireSystemTest,
            NoticeTemplate::HeavyRain,
        ]
        .iter()
        .map(|t| format!("tpl_{}", t.as_str()))
        .collect();
        for l in [
            NoticeLevel::Notice,
            NoticeLevel::Important,
            NoticeLevel::Urgent,
        ] {
            keys.push(format!("lv_{}", l.as_str()));
        }
        for d in [
            DeliveryChannel::Paper,
            DeliveryChannel::Phone,
            DeliveryChannel::Sms,
        ] {
            keys.push(format!("dc_{}", d.as_str()));
        }
        for o in [
            Occupancy::Occupied,
            Occupancy::Vacant,
            Occupancy::UnderRenovation,
        ] {
            keys.push(format!("oc_{}", o.as_str()));
        }
        for r in [Role::Owner, Role::Tenant] {
            keys.push(format!("role_{}", r.as_str()));
        }
        for c in [
            ContactChannel::Phone,
            ContactChannel::Sms,
            ContactChannel::Paper,
            ContactChannel::Email,
            ContactChannel::Wechat,
        ] {
            let code = serde_json::to_value(c).expect("channel");
            keys.push(format!("cc_{}", code.as_str().unwrap_or_default()));
        }
        keys
    }

    #[test]
    fn the_language_comes_from_the_cookie() {
        assert_eq!(Lang::from_cookies(None), Lang::Zh);
        assert_eq!(Lang::from_cookies(Some("a=1; lang=en")), Lang::En);
        assert_eq!(Lang::from_cookies(Some("lang=zh")), Lang::Zh);
        assert_eq!(get(Lang::En, "alarms"), "Alarms");
        assert_eq!(get(Lang::Zh, "alarms"), "告警");
    }
}
