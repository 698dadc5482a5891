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
        ("guard.html", include_str!("templates/guard.html")),
        ("plan.html", include_str!("templates/plan.html")),
        ("plan.js", include_str!("static/plan.js")),
        ("guard.js", include_str!("static/guard.js")),
        ("common.js", include_str!("static/common.js")),
        ("duty.js", include_str!("static/duty.js")),
        ("duty_alarms.js", include_str!("static/duty_alarms.js")),
        ("duty_incident.js", include_str!("static/duty_incident.js")),
        ("duty_plant.js", include_str!("static/duty_plant.js")),
        ("duty_handover.js", include_str!("static/duty_handover.js")),
        (
            "duty_registers.js",
            include_str!("static/duty_registers.js"),
        ),
        ("oncall.js", include_str!("static/oncall.js")),
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

    /// Every `code` of the stable error body, and every record a close may miss, has
    /// words: the pages show a refusal through them (`sw.refusal`), not the server's
    /// English.
    #[test]
    fn every_refusal_code_has_a_string() {
        let codes = [
            "not_found",
            "invalid",
            "conflict",
            "invalid_rows",
            "missing_records",
            "bad_body",
            "too_large",
            "unsupported_type",
            "method_not_allowed",
            "unavailable",
            "not_yet_stored",
            "internal",
            "forbidden",
            "unauthorized",
        ];
        let mut keys: Vec<String> = codes.iter().map(|c| format!("err_{c}")).collect();
        for m in ["completion report", "follow-up", "rating", "reply"] {
            keys.push(format!("miss_{}", m.replace([' ', '-'], "_")));
        }
        let missing: Vec<_> = keys.iter().filter(|k| !ENTRIES.contains_key(*k)).collect();
        assert!(missing.is_empty(), "no string for {missing:?}");
    }

    fn customer_codes() -> Vec<String> {
        use crate::register::notices::{DeliveryChannel, NoticeLevel, NoticeTemplate};
        use crate::register::{ContactChannel, Occupancy, Role};
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

    /// The serde code of `v`: a plain enum's string, a tagged one's `type` or `kind`, an
    /// externally tagged one's variant name.
    fn code_of(v: impl serde::Serialize) -> String {
        let v = serde_json::to_value(v).expect("serialises");
        let tag = v.get("type").or_else(|| v.get("kind"));
        match (v.as_str(), tag, v.as_object()) {
            (Some(s), _, _) => s.to_owned(),
            (None, Some(t), _) => t.as_str().unwrap_or_default().to_owned(),
            (None, None, Some(o)) => o.keys().next().cloned().unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Codes the duty desk shows (console, board, incident page, patrol, plant): each
    /// needs a key in the catalogue, or the zh page would show the raw code.
    #[test]
    fn every_code_the_duty_desk_shows_has_a_string() {
        use sitewatch_core::alarms::{AlarmState, Priority};
        use sitewatch_core::incidents::{
            AttachmentKind, CategoryConfig, ClaimItem, IncidentSource, IncidentState,
        };
        use sitewatch_core::inspections::DueState;
        use sitewatch_core::patrol::TourStatus;
        use sitewatch_core::points::Quality;
        let mut keys: Vec<String> = Priority::ALL.iter().map(code_of).collect();
        for s in [
            AlarmState::Normal,
            AlarmState::UnackActive,
            AlarmState::AckActive,
            AlarmState::UnackReturned,
        ] {
            keys.push(code_of(s));
        }
        for q in [
            Quality::Good,
            Quality::Stale,
            Quality::CommLost,
            Quality::BadConfig,
        ] {
            keys.push(code_of(q));
        }
        keys.extend([DueState::Due, DueState::Overdue].map(code_of));
        for c in CategoryConfig::default().categories {
            keys.push(format!("cat_{}", c.key));
        }
        for s in [
            IncidentSource::Manual,
            IncidentSource::Alarm(String::new()),
            IncidentSource::PatrolFinding(String::new()),
            IncidentSource::InspectionFinding(String::new()),
            IncidentSource::ServiceRequest(0),
        ] {
            keys.push(format!("src_{}", code_of(s)));
        }
        for s in [
            IncidentState::Reported,
            IncidentState::Dispatched,
            IncidentState::OnSite,
            IncidentState::Resolved,
            IncidentState::FollowedUp,
            IncidentState::Closed,
            IncidentState::Cancelled,
        ] {
            keys.push(format!("st_{}", code_of(s)));
        }
        keys.extend(ClaimItem::ALL.map(|c| format!("ci_{}", code_of(c))));
        for a in [
            AttachmentKind::ScenePhoto,
            AttachmentKind::BeforeRepairPhoto,
            AttachmentKind::AfterRepairPhoto,
            AttachmentKind::PoliceCertificate,
            AttachmentKind::Statement,
            AttachmentKind::Document,
        ] {
            keys.push(format!("att_{}", code_of(a)));
        }
        for s in [
            TourStatus::Planned,
            TourStatus::Open,
            TourStatus::InProgress,
            TourStatus::Completed,
            TourStatus::Incomplete,
        ] {
            keys.push(format!("ts_{}", code_of(s)));
        }
        keys.extend(register_codes());
        keys.extend(sla_codes().into_iter().map(|c| format!("sla_{c}")));
        keys.extend(event_codes().into_iter().map(|c| format!("ev_{c}")));
        keys.extend(transition_codes().into_iter().map(|c| format!("tr_{c}")));
        let missing: Vec<_> = keys.iter().filter(|k| !ENTRIES.contains_key(*k)).collect();
        assert!(missing.is_empty(), "no string for {missing:?}");
    }

    /// The registers tab's codes: key kinds and states, task kinds, task and compliance
    /// states, compliance kinds.
    fn register_codes() -> Vec<String> {
        use sitewatch_core::compliance::{ComplianceKind, ComplianceState};
        use sitewatch_core::inspections::KeyKind;
        use sitewatch_core::maintenance::{TaskKind, TaskState};
        let mut keys: Vec<String> = KeyKind::ALL.map(|k| format!("kk_{}", k.as_str())).into();
        keys.extend(["in", "out", "overdue", "missing"].map(|s| format!("ks_{s}")));
        keys.extend(TaskKind::ALL.map(|k| format!("mk_{}", k.as_str())));
        keys.extend(
            [TaskState::Ok, TaskState::DueSoon, TaskState::Overdue]
                .map(|s| format!("rst_{}", code_of(s))),
        );
        keys.extend(
            [
                ComplianceState::Ok,
                ComplianceState::DueSoon,
                ComplianceState::Overdue,
            ]
            .map(|s| format!("rst_{}", code_of(s))),
        );
        keys.extend(ComplianceKind::ALL.map(|k| format!("ck_{}", k.as_str())));
        keys
    }

    fn sla_codes() -> Vec<String> {
        use sitewatch_core::incidents::SlaKind as S;
        [
            S::OnSite,
            S::IncidentReport,
            S::InsurerNotified,
            S::ClaimNotice,
            S::PoliceReport,
            S::Acknowledged,
            S::MadeSafe,
            S::Replied,
            S::Resolved,
            S::FollowUp,
        ]
        .map(code_of)
        .to_vec()
    }

    /// Every timeline event kind. The match has no wildcard: a new kind fails to compile
    /// here until it is listed (and then needs its `ev_` string).
    fn event_codes() -> Vec<String> {
        use sitewatch_core::incidents::{IncidentEventKind as K, IncidentSource, SlaKind};
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let call = serde_json::from_value(serde_json::json!({})).expect("a blank call");
        let all = [
            K::Opened {
                category: String::new(),
                source: IncidentSource::Manual,
            },
            K::StateChanged {
                from: sitewatch_core::incidents::IncidentState::Reported,
                to: sitewatch_core::incidents::IncidentState::Closed,
            },
            K::NoteAdded,
            K::SlaStarted {
                sla: SlaKind::OnSite,
                due_at: at,
            },
            K::SlaMet {
                sla: SlaKind::OnSite,
                late: false,
            },
            K::SlaBreached {
                sla: SlaKind::OnSite,
                due_at: at,
            },
            K::Attached {
                attachment_id: String::new(),
                kind: sitewatch_core::incidents::AttachmentKind::Document,
            },
            K::AlarmAttached {
                alarm_id: String::new(),
                raised_at: at,
            },
            K::Dispatched { to: String::new() },
            K::MadeSafe,
            K::IncidentReportFiled,
            K::InsurerNotified { call },
            K::InsurerConsented,
            K::EmergencyRepairDeclared,
            K::LossEstimated { amount_fen: 0 },
            K::RepairStarted,
            K::SceneCleared,
            K::ClaimItemFiled {
                item: sitewatch_core::incidents::ClaimItem::Photos,
            },
            K::PoliceReported,
            K::EvidenceWaived {
                reason: String::new(),
                open: Vec::new(),
            },
            K::RaisedToAccident {
                from: String::new(),
                to: String::new(),
            },
            K::HouseholdLinked {
                unit: String::new(),
            },
            K::HouseholdContacted {
                unit: String::new(),
            },
            K::DamageListed {
                unit: String::new(),
                item: String::new(),
            },
            K::CompensationRecorded {
                unit: String::new(),
                outcome: String::new(),
            },
        ];
        for k in &all {
            match k {
                K::Opened { .. }
                | K::StateChanged { .. }
                | K::NoteAdded
                | K::SlaStarted { .. }
                | K::SlaMet { .. }
                | K::SlaBreached { .. }
                | K::Attached { .. }
                | K::AlarmAttached { .. }
                | K::Dispatched { .. }
                | K::MadeSafe
                | K::IncidentReportFiled
                | K::InsurerNotified { .. }
                | K::InsurerConsented
                | K::EmergencyRepairDeclared
                | K::LossEstimated { .. }
                | K::RepairStarted
                | K::SceneCleared
                | K::ClaimItemFiled { .. }
                | K::PoliceReported
                | K::EvidenceWaived { .. }
                | K::RaisedToAccident { .. }
                | K::HouseholdLinked { .. }
                | K::HouseholdContacted { .. }
                | K::DamageListed { .. }
                | K::CompensationRecorded { .. } => {}
            }
        }
        all.iter().map(code_of).collect()
    }

    /// Every alarm transition the console's history shows; no wildcard, as above.
    fn transition_codes() -> Vec<String> {
        use sitewatch_core::alarms::Transition as T;
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let all = [
            T::Raised,
            T::Cleared,
            T::Acknowledged,
            T::Repeated { count: 2 },
            T::Shelved { until: at },
            T::Unshelved { expired: false },
            T::Suppressed,
            T::Unsuppressed,
            T::OutOfService,
            T::ReturnedToService,
            T::Escalated {
                level: 1,
                role: String::new(),
            },
            T::Chattering { count: 2 },
            T::ChatteringEnded,
        ];
        for t in &all {
            match t {
                T::Raised
                | T::Cleared
                | T::Acknowledged
                | T::Repeated { .. }
                | T::Shelved { .. }
                | T::Unshelved { .. }
                | T::Suppressed
                | T::Unsuppressed
                | T::OutOfService
                | T::ReturnedToService
                | T::Escalated { .. }
                | T::Chattering { .. }
                | T::ChatteringEnded => {}
            }
        }
        all.iter().map(code_of).collect()
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
