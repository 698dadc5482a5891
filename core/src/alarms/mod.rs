//! Alarm engine after ISA-18.2 (issue 4): rules turn point events into alarm conditions,
//! and each alarm walks the lifecycle normal → unacknowledged-active → acknowledged-active
//! → normal (or unacknowledged-returned when it clears before anyone acknowledges).
//!
//! The engine is pure: [`AlarmEngine::on_point`], [`AlarmEngine::tick`] and
//! [`AlarmEngine::command`] take `now` and return the [`AlarmEvent`]s they caused. Every
//! lifecycle transition is an event, so the caller can journal and publish them as they are.
//!
//! Files: `rules` (what a profile declares), `config` (site-wide settings and §14 defaults),
//! `conditions` (per-rule runtime: deadband, delays, meters, pumps), `engine` (routing),
//! `lifecycle` (the ISA-18.2 state machine and masking), `commands` (operator actions),
//! `escalation`, `flood` (flood, chattering, statistics), `model` (what is persisted and
//! published), `serde_util` (duration and time-zone parsing).

mod commands;
mod conditions;
mod config;
mod engine;
mod escalation;
mod flood;
mod lifecycle;
mod masking;
mod model;
mod rules;
mod serde_util;

pub use commands::{AlarmCommand, AlarmError, SuppressScope, Suppression};
pub use config::{AlarmConfig, EscalationConfig, EscalationStep};
pub use engine::AlarmEngine;
pub use model::{Alarm, AlarmEvent, AlarmStats, OutOfService, Shelve, StateCount, Transition};
pub use rules::{
    AlarmRule, COMPLIANCE_SOURCE, ComplianceSpec, CounterSpec, DiscreteSpec, KEY_RETURN,
    KEYS_SOURCE, MissedSpec, NightFlowSpec, ONCALL_SOURCE, OnCallSpec, PATROL_SOURCE,
    PumpFaultSpec, RuleSpec, StaleSpec, SwitchoverSpec, ThresholdSpec, VacantSpec,
};

use serde::{Deserialize, Serialize};

/// How urgently an alarm needs a person; drives escalation and display order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Default,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Life safety or major damage now (fire, water ingress, lift entrapment).
    Emergency,
    /// Plant failing or about to (pump fault, comm loss).
    High,
    /// Needs attention this shift.
    #[default]
    Medium,
    /// Maintenance or data quality; next working day is fine.
    Low,
}

impl Priority {
    /// Every priority, most urgent first (for metrics that list zeros too).
    pub const ALL: [Priority; 4] = [
        Priority::Emergency,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];

    /// The stable lower-case name used in the API, the store and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "emergency",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }
}

impl std::str::FromStr for Priority {
    type Err = String;

    /// The stable name, in any case and with spaces around.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "emergency" => Ok(Self::Emergency),
            "high" => Ok(Self::High),
            "medium" => Ok(Self::Medium),
            "low" => Ok(Self::Low),
            other => Err(format!("unknown alarm priority `{other}`")),
        }
    }
}

/// The ISA-18.2 alarm states (shelved, suppressed and out of service are flags beside it).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    /// Condition absent and nothing left to acknowledge.
    Normal,
    /// Condition present, nobody acknowledged yet.
    UnackActive,
    /// Condition present, acknowledged.
    AckActive,
    /// Condition gone before anybody acknowledged; still waits for an acknowledgement.
    UnackReturned,
}

impl AlarmState {
    /// Every non-normal state (for metrics that list zeros too).
    pub const STANDING: [AlarmState; 3] = [
        AlarmState::UnackActive,
        AlarmState::AckActive,
        AlarmState::UnackReturned,
    ];

    /// The stable lower-case name used in the API, the store and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Normal => "normal",
            AlarmState::UnackActive => "unack_active",
            AlarmState::AckActive => "ack_active",
            AlarmState::UnackReturned => "unack_returned",
        }
    }

    /// Whether someone still has to acknowledge it.
    pub fn is_unacknowledged(self) -> bool {
        matches!(self, AlarmState::UnackActive | AlarmState::UnackReturned)
    }
}

#[cfg(test)]
mod tests;
