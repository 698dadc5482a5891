//! Operator and register actions on alarms: acknowledge, shelve, suppress, out of service,
//! vacant units. Each is checked, applied, and answered with the events it caused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::AlarmState;
use super::engine::AlarmEngine;
use super::model::{Alarm, AlarmEvent};
use super::rules::AlarmRule;

/// Something a person (or the vacant-unit register) asks of the alarm engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AlarmCommand {
    /// Acknowledge an unacknowledged alarm.
    Acknowledge {
        /// Alarm id.
        alarm: String,
        /// Operator.
        actor: String,
        /// Optional note for the journal.
        note: Option<String>,
    },
    /// Acknowledge several alarms with one comment (the console's bulk acknowledge): all
    /// of them, or none when any cannot be acknowledged.
    AcknowledgeMany {
        /// Alarm ids.
        alarms: Vec<String>,
        /// Operator.
        actor: String,
        /// Optional note for the journal, the same on each.
        note: Option<String>,
    },
    /// Hide an alarm until a time, with who and why; it ends by itself.
    Shelve {
        /// Alarm id.
        alarm: String,
        /// Operator.
        actor: String,
        /// Why (required).
        reason: String,
        /// When the shelve ends; must be in the future.
        until: DateTime<Utc>,
    },
    /// End a shelve early.
    Unshelve {
        /// Alarm id.
        alarm: String,
        /// Operator.
        actor: String,
    },
    /// Suppress by design: maintenance mode, fire-system test, planned power cut, site
    /// maintenance window.
    Suppress {
        /// What is covered.
        scope: SuppressScope,
        /// Why (required).
        reason: String,
        /// Operator.
        actor: String,
        /// When the window ends by itself; `None` until lifted.
        until: Option<DateTime<Utc>>,
    },
    /// Lift every suppression with this scope.
    Unsuppress {
        /// The scope given when suppressing.
        scope: SuppressScope,
        /// Operator.
        actor: String,
    },
    /// Take an alarm out of service (sensor removed, known broken).
    SetOutOfService {
        /// Alarm id.
        alarm: String,
        /// Operator.
        actor: String,
        /// Why (required).
        reason: String,
    },
    /// Return an alarm to service.
    ReturnToService {
        /// Alarm id.
        alarm: String,
        /// Operator.
        actor: String,
    },
    /// The vacant-unit register marked a unit vacant or occupied.
    SetUnitVacant {
        /// Unit id.
        unit: String,
        /// Vacant now.
        vacant: bool,
    },
}

/// What a suppression window covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum SuppressScope {
    /// Every alarm of a device, including its comm-loss alarm (maintenance mode, fire test).
    Device(String),
    /// Every alarm that reads a point.
    Point(String),
    /// Every alarm of rules bound to a unit (power cut on purpose, rules.md §12).
    Unit(String),
    /// The whole site (maintenance window).
    Site,
}

/// An active suppression window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    /// What it covers.
    pub scope: SuppressScope,
    /// Why.
    pub reason: String,
    /// Who set it.
    pub actor: String,
    /// Since when.
    pub since: DateTime<Utc>,
    /// When it ends by itself.
    pub until: Option<DateTime<Utc>>,
}

impl Suppression {
    /// Whether this window covers an alarm (with its rule, when it has one).
    pub(super) fn covers(&self, alarm: &Alarm, rule: Option<&AlarmRule>) -> bool {
        match &self.scope {
            SuppressScope::Site => true,
            SuppressScope::Device(d) => alarm.device == *d,
            SuppressScope::Point(p) => {
                alarm.point.as_deref() == Some(p.as_str())
                    || rule.is_some_and(|r| r.points().contains(&p.as_str()))
            }
            SuppressScope::Unit(u) => rule.and_then(AlarmRule::unit) == Some(u.as_str()),
        }
    }
}

/// Why the engine refused a command or a rule set.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AlarmError {
    /// No alarm has this id.
    #[error("unknown alarm `{0}`")]
    UnknownAlarm(String),
    /// Acknowledge of an alarm that has nothing to acknowledge.
    #[error("alarm `{alarm}` cannot be acknowledged in state {}", state.as_str())]
    NotAcknowledgeable {
        /// Alarm id.
        alarm: String,
        /// Its state.
        state: AlarmState,
    },
    /// A bulk acknowledge that names no alarm.
    #[error("no alarm to acknowledge")]
    NothingToAcknowledge,
    /// A shelve or suppression that would end before it starts.
    #[error("`{0}` must end in the future")]
    EndsInPast(String),
    /// Shelve, suppression and out of service need a reason.
    #[error("a reason is required to {0}")]
    MissingReason(&'static str),
    /// Unshelve of an alarm that is not shelved.
    #[error("alarm `{0}` is not shelved")]
    NotShelved(String),
    /// Out of service twice.
    #[error("alarm `{0}` is already out of service")]
    AlreadyOutOfService(String),
    /// Return to service of an alarm that is in service.
    #[error("alarm `{0}` is not out of service")]
    NotOutOfService(String),
    /// Unsuppress of a scope with no suppression.
    #[error("no suppression with scope {0:?}")]
    NotSuppressed(SuppressScope),
    /// Two rules with the same id.
    #[error("duplicate alarm rule id `{0}`")]
    DuplicateRule(String),
    /// A rule that cannot work as written.
    #[error("alarm rule `{rule}`: {reason}")]
    InvalidRule {
        /// Rule id.
        rule: String,
        /// What is wrong.
        reason: String,
    },
}

impl AlarmCommand {
    /// Checks what needs no engine state: reasons given, end times in the future.
    fn validate(&self, now: DateTime<Utc>) -> Result<(), AlarmError> {
        match self {
            AlarmCommand::Shelve {
                alarm,
                reason,
                until,
                ..
            } => {
                require(reason, "shelve")?;
                ends_after(Some(*until), now, || format!("shelve of {alarm}"))
            }
            AlarmCommand::Suppress {
                scope,
                reason,
                until,
                ..
            } => {
                require(reason, "suppress")?;
                ends_after(*until, now, || format!("suppression {scope:?}"))
            }
            AlarmCommand::SetOutOfService { reason, .. } => require(reason, "take out of service"),
            AlarmCommand::AcknowledgeMany { alarms, .. } if alarms.is_empty() => {
                Err(AlarmError::NothingToAcknowledge)
            }
            _ => Ok(()),
        }
    }
}

impl AlarmEngine {
    /// Applies an operator or register command; the events it caused, or why not.
    /// (One arm per command: a dispatch table, longer than most functions on purpose.)
    pub fn command(
        &mut self,
        cmd: AlarmCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlarmEvent>, AlarmError> {
        cmd.validate(now)?;
        let mut events = Vec::new();
        let out = &mut events;
        match cmd {
            AlarmCommand::Acknowledge { alarm, actor, note } => {
                self.acknowledge(&alarm, &actor, note.as_deref(), now, out)?
            }
            AlarmCommand::AcknowledgeMany {
                alarms,
                actor,
                note,
            } => self.acknowledge_many(&alarms, &actor, note.as_deref(), now, out)?,
            AlarmCommand::Shelve {
                alarm,
                actor,
                reason,
                until,
            } => self.shelve(&alarm, &actor, reason, until, now, out)?,
            AlarmCommand::Unshelve { alarm, actor } => {
                self.unshelve(&alarm, Some(&actor), now, out)?
            }
            AlarmCommand::Suppress {
                scope,
                reason,
                actor,
                until,
            } => {
                let window = Suppression {
                    scope,
                    reason,
                    actor,
                    since: now,
                    until,
                };
                self.suppress(window, now, out)
            }
            AlarmCommand::Unsuppress { scope, actor } => {
                self.unsuppress(&scope, &actor, now, out)?
            }
            AlarmCommand::SetOutOfService {
                alarm,
                actor,
                reason,
            } => self.set_out_of_service(&alarm, &actor, reason, now, out)?,
            AlarmCommand::ReturnToService { alarm, actor } => {
                self.return_to_service(&alarm, &actor, now, out)?
            }
            AlarmCommand::SetUnitVacant { unit, vacant } => {
                self.set_unit_vacant(&unit, vacant, now, out)
            }
        }
        Ok(events)
    }
}

fn ends_after(
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    what: impl FnOnce() -> String,
) -> Result<(), AlarmError> {
    match until {
        Some(until) if until <= now => Err(AlarmError::EndsInPast(what())),
        _ => Ok(()),
    }
}

fn require(reason: &str, what: &'static str) -> Result<(), AlarmError> {
    if reason.trim().is_empty() {
        Err(AlarmError::MissingReason(what))
    } else {
        Ok(())
    }
}
