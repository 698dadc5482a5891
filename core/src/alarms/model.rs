//! What the engine persists and publishes: the [`Alarm`] record (the active list that
//! survives a restart), the [`AlarmEvent`] journal entry and the [`AlarmStats`] snapshot.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AlarmState, Priority};

/// One alarm and everything an operator or a restart needs to know about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alarm {
    /// Stable id: the rule id, or `"{device}:comm"` for communication loss.
    pub id: String,
    /// Device the alarm belongs to.
    pub device: String,
    /// Point the alarm watches; `None` for device-wide alarms.
    #[schema(value_type = Option<String>)]
    pub point: Option<String>,
    /// Priority, from the rule or its kind.
    pub priority: Priority,
    /// ISA-18.2 state.
    pub state: AlarmState,
    /// Whether the condition is present now (after delays), even while masked.
    pub active: bool,
    /// Set while shelved by an operator.
    pub shelved: Option<Shelve>,
    /// The reason of the suppression window covering it, if any.
    pub suppressed: Option<String>,
    /// Set while out of service.
    pub out_of_service: Option<OutOfService>,
    /// When it was last raised from normal.
    pub raised_at: Option<DateTime<Utc>>,
    /// When its condition last cleared.
    pub cleared_at: Option<DateTime<Utc>>,
    /// When it was last acknowledged.
    pub acked_at: Option<DateTime<Utc>>,
    /// Who last acknowledged it.
    pub acked_by: Option<String>,
    /// Escalation steps taken since the raise (0 = none yet; 1 = first role told).
    pub escalation_level: u32,
    /// Activations since the raise that were collapsed into this alarm.
    pub repeat_count: u32,
    /// Flagged as chattering: it flips faster than the chattering limit.
    pub chattering: bool,
    /// Text for the operator.
    pub message: String,
    /// The same text in zh-CN, when its rule has one: the desks' Chinese page shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_zh: Option<String>,
    /// The value of its point at its last condition change (kept off the per-reading path).
    pub value: Option<f64>,
}

impl Alarm {
    /// A normal alarm with nothing pending.
    pub fn new(id: String, device: String, point: Option<String>, priority: Priority) -> Self {
        Self {
            id,
            device,
            point,
            priority,
            state: AlarmState::Normal,
            active: false,
            shelved: None,
            suppressed: None,
            out_of_service: None,
            raised_at: None,
            cleared_at: None,
            acked_at: None,
            acked_by: None,
            escalation_level: 0,
            repeat_count: 0,
            chattering: false,
            message: String::new(),
            message_zh: None,
            value: None,
        }
    }

    /// Shelved, suppressed or out of service: the condition is tracked but not annunciated.
    pub fn is_masked(&self) -> bool {
        self.shelved.is_some() || self.suppressed.is_some() || self.out_of_service.is_some()
    }

    /// Worth listing on the console: not normal, or masked.
    pub fn is_standing(&self) -> bool {
        self.state != AlarmState::Normal || self.is_masked()
    }

    /// The journal entry for a transition of this alarm, as it stands now.
    pub fn event(&self, transition: Transition, at: DateTime<Utc>) -> AlarmEvent {
        AlarmEvent {
            alarm: self.id.clone(),
            device: self.device.clone(),
            point: self.point.clone(),
            priority: self.priority,
            transition,
            state: self.state,
            at,
            actor: None,
            note: None,
            message: self.message.clone(),
            message_zh: self.message_zh.clone(),
            value: self.value,
        }
    }
}

/// Who shelved an alarm, why, and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shelve {
    /// The shelve ends by itself at this time.
    pub until: DateTime<Utc>,
    /// Operator.
    pub by: String,
    /// Why.
    pub reason: String,
    /// When it was shelved.
    pub at: DateTime<Utc>,
}

/// Who took an alarm out of service, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutOfService {
    /// Operator.
    pub by: String,
    /// Why.
    pub reason: String,
    /// Since when.
    pub at: DateTime<Utc>,
}

/// One lifecycle transition: the alarm journal entry and the MQTT event.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlarmEvent {
    /// Alarm id.
    pub alarm: String,
    /// Device id.
    pub device: String,
    /// Point id, when the alarm has one.
    #[schema(value_type = Option<String>)]
    pub point: Option<String>,
    /// Alarm priority.
    pub priority: Priority,
    /// What happened.
    #[schema(value_type = Object)]
    pub transition: Transition,
    /// The state after the transition.
    pub state: AlarmState,
    /// When.
    pub at: DateTime<Utc>,
    /// The operator, for commands.
    pub actor: Option<String>,
    /// The operator's note or reason.
    pub note: Option<String>,
    /// The alarm's text.
    pub message: String,
    /// The alarm's text in zh-CN, when its rule has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_zh: Option<String>,
    /// The value that caused it, when there is one.
    pub value: Option<f64>,
}

impl AlarmEvent {
    /// The same event attributed to an operator, with their note.
    pub fn by(mut self, actor: &str, note: Option<&str>) -> Self {
        self.actor = Some(actor.to_owned());
        self.note = note.map(str::to_owned);
        self
    }
}

/// The kinds of transition an alarm goes through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transition {
    /// Raised from normal to unacknowledged-active.
    Raised,
    /// The condition cleared: to unacknowledged-returned, or to normal if acknowledged.
    Cleared,
    /// Acknowledged: to acknowledged-active, or to normal if it had returned.
    Acknowledged,
    /// Active again before anyone acknowledged; collapsed into the same alarm.
    Repeated {
        /// Activations collapsed since the raise.
        count: u32,
    },
    /// Shelved by an operator.
    Shelved {
        /// When the shelve ends by itself.
        until: DateTime<Utc>,
    },
    /// Unshelved by an operator or by expiry.
    Unshelved {
        /// Whether the shelve ran out rather than being lifted.
        expired: bool,
    },
    /// Covered by a suppression window (maintenance, fire test, planned cut).
    Suppressed,
    /// No longer covered by any suppression window.
    Unsuppressed,
    /// Taken out of service.
    OutOfService,
    /// Returned to service.
    ReturnedToService,
    /// Still unacknowledged: the next role in the chain is told.
    Escalated {
        /// Step number, from 1.
        level: u32,
        /// Role told, e.g. `"shift_lead"`.
        role: String,
    },
    /// Flagged as chattering; further flips are collapsed until it settles.
    Chattering {
        /// Activations within the chattering window.
        count: u32,
    },
    /// No longer chattering; the event carries its current state.
    ChatteringEnded,
}

/// Alarm-load figures for `/metrics`, judged against ISA-18.2 / EEMUA 191 targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmStats {
    /// New alarms raised within the flood window (10 min by default).
    pub raised_in_window: u32,
    /// New alarms raised since the engine started.
    pub raised_total: u64,
    /// Whether the site is in an alarm flood now.
    pub in_flood: bool,
    /// Seconds spent in flood since the engine started.
    pub flood_seconds_total: f64,
    /// Alarms flagged as chattering.
    pub chattering: u32,
    /// Alarms standing (not normal) for longer than `standing_after` (24 h by default).
    pub stale: u32,
    /// Shelved alarms.
    pub shelved: u32,
    /// Suppressed alarms.
    pub suppressed: u32,
    /// Alarms out of service.
    pub out_of_service: u32,
    /// Standing alarms by priority and state, zeros included.
    pub counts: Vec<StateCount>,
}

/// How many alarms stand in one priority and state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateCount {
    /// Priority.
    pub priority: Priority,
    /// State.
    pub state: AlarmState,
    /// Number of alarms.
    pub count: u32,
}
