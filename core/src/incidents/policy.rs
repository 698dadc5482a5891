//! Alarm → incident policy (rules.md §14 "Alarms to incidents"): which alarms open an
//! incident, when, and under which category. Alarms come in as a small [`AlarmSignal`] so
//! this module does not depend on the alarm engine's types.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::category::builtin;

/// Alarm priority: the alarm engine's own type, shared, so it crosses into incidents as
/// it is.
pub use crate::alarms::Priority as AlarmPriority;

/// What the incident book needs to know about an alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmSignal {
    /// The alarm's stable id (one per configured alarm, not per trip).
    pub alarm_id: String,
    /// Its priority.
    pub priority: AlarmPriority,
    /// A hint for the category: `fire_panel`, `leak`, `lift`, ...
    pub category_hint: String,
    /// When this trip was raised; a new value means the alarm tripped again.
    pub raised_at: DateTime<Utc>,
    /// Whether an operator has acknowledged this trip.
    pub acknowledged: bool,
    /// The alarm text, used as the incident title.
    pub message: String,
    /// Where the alarm point is.
    pub location: String,
}

/// What the policy says to do with a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmDecision {
    /// Open an incident now.
    OpenNow,
    /// Open one at this moment if still unacknowledged then.
    OpenAt(DateTime<Utc>),
    /// Never open one automatically.
    Never,
}

/// How alarms become incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlarmPolicyConfig {
    /// Open an incident as soon as an emergency-priority alarm trips.
    /// Default true (rules.md §14 "Alarms to incidents").
    pub emergency_at_once: bool,
    /// Open an incident for a high-priority alarm unacknowledged this many minutes; `None`
    /// turns it off. Default 5 (rules.md §14 "Alarms to incidents").
    pub high_unacknowledged_minutes: Option<i64>,
    /// Category key by hint. A hint matches a key exactly, else the longest key it contains.
    pub category_hints: BTreeMap<String, String>,
    /// Category for a hint nothing matches. Default `other` (product choice).
    pub fallback_category: String,
}

impl Default for AlarmPolicyConfig {
    fn default() -> Self {
        Self {
            emergency_at_once: true,
            high_unacknowledged_minutes: Some(5),
            category_hints: default_hints(),
            fallback_category: builtin::OTHER.to_owned(),
        }
    }
}

/// Product defaults mapping alarm hints to categories (rules.md §14 names fire, water
/// ingress and lift entrapment as the emergency alarms).
fn default_hints() -> BTreeMap<String, String> {
    [
        ("fire", builtin::FIRE),
        ("fire_panel", builtin::FIRE),
        ("smoke", builtin::FIRE),
        ("leak", builtin::WATER_INGRESS),
        ("flood", builtin::WATER_INGRESS),
        ("water", builtin::WATER_INGRESS),
        ("lift", builtin::LIFT_ENTRAPMENT),
        ("elevator", builtin::LIFT_ENTRAPMENT),
        ("power", builtin::POWER_CUT),
        ("mains", builtin::POWER_CUT),
        ("gas", builtin::GAS),
        ("intrusion", builtin::THEFT_ROBBERY),
        // A pump or drive trip is a fault for Engineering, not an insured accident.
        ("pump", builtin::FAULT),
    ]
    .into_iter()
    .map(|(hint, key)| (hint.to_owned(), key.to_owned()))
    .collect()
}

impl AlarmPolicyConfig {
    /// What to do with `signal` at `now`.
    pub fn decide(&self, signal: &AlarmSignal, now: DateTime<Utc>) -> AlarmDecision {
        match signal.priority {
            AlarmPriority::Emergency if self.emergency_at_once => AlarmDecision::OpenNow,
            AlarmPriority::High => self.decide_high(signal, now),
            _ => AlarmDecision::Never,
        }
    }

    fn decide_high(&self, signal: &AlarmSignal, now: DateTime<Utc>) -> AlarmDecision {
        let Some(minutes) = self.high_unacknowledged_minutes else {
            return AlarmDecision::Never;
        };
        if signal.acknowledged {
            // Someone owns it; the alarm engine's escalation takes over from here.
            return AlarmDecision::Never;
        }
        let at = signal.raised_at + Duration::minutes(minutes);
        if now >= at {
            AlarmDecision::OpenNow
        } else {
            AlarmDecision::OpenAt(at)
        }
    }

    /// The category key for an alarm's hint.
    pub fn category_for(&self, hint: &str) -> String {
        let hint = hint.trim().to_ascii_lowercase();
        if let Some(key) = self.category_hints.get(&hint) {
            return key.clone();
        }
        self.category_hints
            .iter()
            .filter(|(h, _)| hint.contains(h.as_str()))
            .max_by_key(|(h, _)| h.len())
            .map(|(_, key)| key.clone())
            .unwrap_or_else(|| self.fallback_category.clone())
    }
}
