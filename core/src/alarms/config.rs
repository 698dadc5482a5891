//! Site-wide alarm settings. Every default is the product's choice where the manuals are
//! silent, and cites where it comes from (rules.md §14, issue 4, or the architecture).

use chrono::Duration;
use chrono_tz::Tz;
use serde::Deserialize;

use super::Priority;
use super::serde_util::{duration, time_zone};

/// Settings for the alarm engine (`[alarms]` in the site config).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlarmConfig {
    /// Site time zone for night windows (ARCHITECTURE.md: schedules in the site's zone,
    /// `Asia/Shanghai` by default).
    #[serde(deserialize_with = "time_zone")]
    pub time_zone: Tz,
    /// Who is told, and when, while an alarm stays unacknowledged.
    pub escalation: EscalationConfig,
    /// Flood: more than `flood_limit` new alarms within `flood_window` (issue 4 and
    /// ISA-18.2 / EEMUA 191: more than 10 in 10 minutes).
    #[serde(deserialize_with = "duration")]
    pub flood_window: Duration,
    /// See `flood_window`.
    pub flood_limit: u32,
    /// Chattering: more than `chatter_limit` activations of one alarm within
    /// `chatter_window` (product choice after issue 4: more than 5 in 60 s).
    #[serde(deserialize_with = "duration")]
    pub chatter_window: Duration,
    /// See `chatter_window`.
    pub chatter_limit: u32,
    /// An alarm standing longer than this counts as stale in the statistics (ISA-18.2 /
    /// EEMUA 191 stale-alarm measure: 24 h).
    #[serde(deserialize_with = "duration")]
    pub standing_after: Duration,
    /// Priority of the per-device communication-loss alarm (product choice: high, since a
    /// silent device hides every other alarm it would raise).
    pub comm_loss_priority: Priority,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        Self {
            time_zone: chrono_tz::Asia::Shanghai,
            escalation: EscalationConfig::default(),
            flood_window: Duration::minutes(10),
            flood_limit: 10,
            chatter_window: Duration::seconds(60),
            chatter_limit: 5,
            standing_after: Duration::hours(24),
            comm_loss_priority: Priority::High,
        }
    }
}

/// Escalation chains per priority; each step's `after` counts from the raise.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationConfig {
    /// Emergency chain (rules.md §14 Escalation: duty engineer, then after 1 and 3 min).
    pub emergency: Vec<EscalationStep>,
    /// High chain (rules.md §14 Escalation: duty engineer, shift lead 5 min, manager 15 min).
    pub high: Vec<EscalationStep>,
    /// Medium chain (same §14 default as high).
    pub medium: Vec<EscalationStep>,
    /// Low chain (same §14 default as high).
    pub low: Vec<EscalationStep>,
}

impl EscalationConfig {
    /// The chain for one priority.
    pub fn chain(&self, priority: Priority) -> &[EscalationStep] {
        match priority {
            Priority::Emergency => &self.emergency,
            Priority::High => &self.high,
            Priority::Medium => &self.medium,
            Priority::Low => &self.low,
        }
    }
}

impl Default for EscalationConfig {
    fn default() -> Self {
        let standard = chain(5, 15);
        Self {
            emergency: chain(1, 3),
            high: standard.clone(),
            medium: standard.clone(),
            low: standard,
        }
    }
}

/// The §14 chain shape: duty engineer at once, shift lead and manager after the delays.
fn chain(lead_after_min: i64, manager_after_min: i64) -> Vec<EscalationStep> {
    let step = |after: i64, role: &str| EscalationStep {
        after: Duration::minutes(after),
        role: role.to_owned(),
    };
    vec![
        step(0, "duty_engineer"),
        step(lead_after_min, "shift_lead"),
        step(manager_after_min, "manager"),
    ]
}

/// One step of an escalation chain.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    /// Time since the raise after which this step fires, e.g. `"5m"`.
    #[serde(deserialize_with = "duration")]
    pub after: Duration,
    /// The role notified, e.g. `"shift_lead"`.
    pub role: String,
}
