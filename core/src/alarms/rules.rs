//! Alarm rules as device profiles and the site config declare them. A profile carries
//! `[[points.alarms]]` tables such as
//! `kind = "high", limit = 80.0, deadband = 2.0, on_delay = "10s", priority = "high"`;
//! the caller binds each to a point and a device as an [`AlarmRule`].

use chrono::{Duration, NaiveTime};
use serde::{Deserialize, Deserializer, de::Error as _};

use super::Priority;
use super::serde_util::duration;
use crate::compliance::ComplianceKind;

/// One rule bound to its point: what the engine is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRule {
    /// Stable alarm id, e.g. `"pump1.fault:discrete"`; also the id of the alarm it drives.
    pub id: String,
    /// The point the rule watches (for pump pairs, the first pump's run status).
    pub point: String,
    /// The device the point belongs to; device suppression and comm loss match on it.
    pub device: String,
    /// The unit (flat, shop) the point serves, if any; unit suppression matches on it.
    pub unit: Option<String>,
    /// What to watch for.
    pub spec: RuleSpec,
    /// Text for the operator, e.g. "Pump 1 fault".
    pub message: String,
    /// The same text in zh-CN ("1 号泵故障"), when the profile or site config gives one.
    pub message_zh: Option<String>,
}

impl AlarmRule {
    /// A missed patrol checkpoint of `route` (the patrol config's, not a profile's): a
    /// high-priority alarm while a checkpoint of the route's current tour is missed, under
    /// the `patrol` source with the route's name in its message.
    pub fn checkpoint_missed(route: &str, route_name: &str) -> Self {
        Self {
            id: format!("patrol.{route}_missed:missed"),
            point: route.to_owned(),
            device: PATROL_SOURCE.to_owned(),
            unit: None,
            spec: RuleSpec::CheckpointMissed(MissedSpec {
                route: route.to_owned(),
                priority: None,
            }),
            message: format!("Patrol checkpoint missed on route {route_name} (巡更漏检)"),
            message_zh: Some(format!("巡更漏检：{route_name}")),
        }
    }

    /// The rule for an escalation level with nobody on call (the rota's gap), fed by the
    /// paging task through [`super::AlarmEngine::on_coverage`].
    pub fn nobody_on_call(level: &str) -> Self {
        Self {
            id: format!("{ONCALL_SOURCE}.{level}_uncovered:nobody"),
            point: level.to_owned(),
            device: ONCALL_SOURCE.to_owned(),
            unit: None,
            spec: RuleSpec::NobodyOnCall(OnCallSpec {
                level: level.to_owned(),
            }),
            message: format!("Nobody on call at level {level} (值班无人: {level})"),
            message_zh: Some(format!("值班无人：{level}")),
        }
    }

    /// The rule for overdue compliance items of `kind` (rules.md §13.24), fed by the
    /// engine's tick through [`super::AlarmEngine::on_compliance`].
    pub fn compliance_overdue(kind: ComplianceKind) -> Self {
        let (en, zh) = kind.words();
        let kind = kind.as_str();
        Self {
            id: format!("{COMPLIANCE_SOURCE}.{kind}_overdue:overdue"),
            point: kind.to_owned(),
            device: COMPLIANCE_SOURCE.to_owned(),
            unit: None,
            spec: RuleSpec::ComplianceOverdue(ComplianceSpec {
                kind: kind.to_owned(),
            }),
            message: format!("Overdue: {en} (法定检验逾期: {zh})"),
            message_zh: Some(format!("法定检验逾期：{zh}")),
        }
    }

    /// The rule for a key set still out past its return and its grace (rules.md §13.23),
    /// fed by the engine's tick through [`super::AlarmEngine::on_compliance`] as the
    /// register's `key_return` kind.
    pub fn keys_overdue() -> Self {
        Self {
            id: format!("{KEYS_SOURCE}.{KEY_RETURN}_overdue:overdue"),
            point: KEY_RETURN.to_owned(),
            device: KEYS_SOURCE.to_owned(),
            unit: None,
            spec: RuleSpec::ComplianceOverdue(ComplianceSpec {
                kind: KEY_RETURN.to_owned(),
            }),
            message: "Key set not returned (钥匙逾期未还)".to_owned(),
            message_zh: Some("钥匙逾期未还".to_owned()),
        }
    }

    /// The rule for the central forward buffer filling up (issue 23): records wait on
    /// site because the link to the central office has been down long. Fed by the
    /// forwarder through [`super::AlarmEngine::on_forward_buffer`].
    pub fn forward_buffer() -> Self {
        Self {
            id: format!("{CENTRAL_SOURCE}.forward_buffer:filling"),
            point: "forward_buffer".to_owned(),
            device: CENTRAL_SOURCE.to_owned(),
            unit: None,
            spec: RuleSpec::ForwardBuffer,
            message: "Records for the central office are piling up: the link has been down \
                      long (中心转发缓存将满)"
                .to_owned(),
            message_zh: Some("与中心的连接已断开较久，待转发记录即将占满缓存".to_owned()),
        }
    }

    /// Whether the rule reads points from the hub (a missed checkpoint, a rota gap or an
    /// overdue inspection reads none).
    pub fn reads_points(&self) -> bool {
        !matches!(
            self.spec,
            RuleSpec::CheckpointMissed(_)
                | RuleSpec::NobodyOnCall(_)
                | RuleSpec::ComplianceOverdue(_)
                | RuleSpec::ForwardBuffer
        )
    }

    /// Every point the rule reads, its own first.
    pub fn points(&self) -> Vec<&str> {
        if !self.reads_points() {
            return Vec::new();
        }
        let mut points = vec![self.point.as_str()];
        match &self.spec {
            RuleSpec::PumpSwitchover(s) => points.push(&s.partner),
            RuleSpec::PumpFault(s) => {
                points.extend(s.fault.iter().chain(&s.demand).map(|p| p.as_str()))
            }
            _ => {}
        }
        points
    }

    /// The unit this rule concerns, from the rule or its vacant-consumption spec.
    pub fn unit(&self) -> Option<&str> {
        match &self.spec {
            RuleSpec::VacantConsumption(v) => Some(&v.unit),
            _ => self.unit.as_deref(),
        }
    }
}

/// What a rule watches for; the `kind` key selects the variant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleSpec {
    /// Value above `limit`.
    High(ThresholdSpec),
    /// Value below `limit`.
    Low(ThresholdSpec),
    /// Value above a second, higher `limit`.
    HighHigh(ThresholdSpec),
    /// Value below a second, lower `limit`.
    LowLow(ThresholdSpec),
    /// A state or status bit differs from normal (fire zone, leak, door, panel fault).
    Discrete(DiscreteSpec),
    /// A meter counter runs backwards or jumps (meter fault or tamper).
    Counter(CounterSpec),
    /// Flow above a limit during night hours (possible leak).
    NightFlow(NightFlowSpec),
    /// Any consumption while the unit is marked vacant.
    VacantConsumption(VacantSpec),
    /// A value that should move has not changed for too long.
    Stale(StaleSpec),
    /// A duty/standby pump pair has not switched over for too long.
    PumpSwitchover(SwitchoverSpec),
    /// A pump runs with its fault bit set, or does not start on demand.
    PumpFault(PumpFaultSpec),
    /// A checkpoint of a patrol route's current tour was missed. Fed by the patrol book
    /// ([`super::AlarmEngine::on_checkpoint`]), built from the patrol config
    /// ([`AlarmRule::checkpoint_missed`]); never written in a profile.
    #[serde(skip_deserializing)]
    CheckpointMissed(MissedSpec),
    /// Nobody is on call at an escalation level. Fed by the paging task
    /// ([`super::AlarmEngine::on_coverage`]), built from the paging config
    /// ([`AlarmRule::nobody_on_call`]); never written in a profile.
    #[serde(skip_deserializing)]
    NobodyOnCall(OnCallSpec),
    /// An item of the compliance register is past its inspection date. Fed by the
    /// engine's tick ([`super::AlarmEngine::on_compliance`]), one rule per kind
    /// ([`AlarmRule::compliance_overdue`]); never written in a profile.
    #[serde(skip_deserializing)]
    ComplianceOverdue(ComplianceSpec),
    /// The central forward buffer is 80 % full. Fed by the forwarder
    /// ([`super::AlarmEngine::on_forward_buffer`]); one rule, built when `[central]` is
    /// set ([`AlarmRule::forward_buffer`]); never written in a profile.
    #[serde(skip_deserializing)]
    ForwardBuffer,
}

impl RuleSpec {
    /// The rule's priority: its own setting, else the default for its kind.
    pub fn priority(&self) -> Priority {
        self.priority_override().unwrap_or(self.default_priority())
    }

    /// The default priority of each kind. Pump faults are high by rules.md §14 (Pumps);
    /// the others are the product's choice: limits medium, second limits high, meter and
    /// maintenance findings low. Fire points set `priority = "emergency"` explicitly.
    pub fn default_priority(&self) -> Priority {
        match self {
            RuleSpec::High(_) | RuleSpec::Low(_) | RuleSpec::Discrete(_) => Priority::Medium,
            RuleSpec::NightFlow(_) | RuleSpec::VacantConsumption(_) => Priority::Medium,
            RuleSpec::HighHigh(_) | RuleSpec::LowLow(_) | RuleSpec::PumpFault(_) => Priority::High,
            // Nobody walked past a place that needed looking at: someone must go now.
            RuleSpec::CheckpointMissed(_) | RuleSpec::NobodyOnCall(_) => Priority::High,
            RuleSpec::Counter(_) | RuleSpec::Stale(_) | RuleSpec::PumpSwitchover(_) => {
                Priority::Low
            }
            // A lapsed certificate: someone must book the inspection this shift.
            RuleSpec::ComplianceOverdue(_) => Priority::Medium,
            // Nothing is lost yet; someone must see to the link before history goes.
            RuleSpec::ForwardBuffer => Priority::High,
        }
    }

    fn priority_override(&self) -> Option<Priority> {
        match self {
            RuleSpec::High(s) | RuleSpec::Low(s) | RuleSpec::HighHigh(s) | RuleSpec::LowLow(s) => {
                s.priority
            }
            RuleSpec::Discrete(s) => s.priority,
            RuleSpec::Counter(s) => s.priority,
            RuleSpec::NightFlow(s) => s.priority,
            RuleSpec::VacantConsumption(s) => s.priority,
            RuleSpec::Stale(s) => s.priority,
            RuleSpec::PumpSwitchover(s) => s.priority,
            RuleSpec::PumpFault(s) => s.priority,
            RuleSpec::CheckpointMissed(s) => s.priority,
            RuleSpec::NobodyOnCall(_)
            | RuleSpec::ComplianceOverdue(_)
            | RuleSpec::ForwardBuffer => None,
        }
    }

    /// On-delay and off-delay applied to the raw condition.
    pub fn delays(&self) -> (Duration, Duration) {
        match self {
            RuleSpec::High(s) | RuleSpec::Low(s) | RuleSpec::HighHigh(s) | RuleSpec::LowLow(s) => {
                (s.on_delay, s.off_delay)
            }
            RuleSpec::Discrete(s) => (s.on_delay, s.off_delay),
            RuleSpec::NightFlow(s) => (s.on_delay, Duration::zero()),
            _ => (Duration::zero(), Duration::zero()),
        }
    }

    /// Checks what serde cannot: value ranges and mutually exclusive fields.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            RuleSpec::High(s) | RuleSpec::Low(s) | RuleSpec::HighHigh(s) | RuleSpec::LowLow(s) => {
                non_negative("deadband", s.deadband)
            }
            RuleSpec::Discrete(s) if s.alarm_value.is_some() && s.normal.is_some() => {
                Err("set either alarm_value or normal, not both".into())
            }
            RuleSpec::Discrete(DiscreteSpec { bit: Some(b), .. }) if *b > 31 => {
                Err(format!("bit {b} is out of range 0..=31"))
            }
            RuleSpec::Counter(s) if s.jump_factor <= 1.0 => {
                Err("jump_factor must be greater than 1".into())
            }
            RuleSpec::Stale(s) if s.max_unchanged <= Duration::zero() => {
                Err("max_unchanged must be positive".into())
            }
            RuleSpec::PumpSwitchover(s) if s.max_interval <= Duration::zero() => {
                Err("max_interval must be positive".into())
            }
            RuleSpec::VacantConsumption(s) => non_negative("tolerance", s.tolerance),
            _ => Ok(()),
        }
    }
}

fn non_negative(name: &str, v: f64) -> Result<(), String> {
    if v >= 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must not be negative"))
    }
}

/// `high`, `low`, `high_high`, `low_low`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// The limit in the point's engineering unit.
    pub limit: f64,
    /// How far back past the limit the value must go to clear (stops chattering at the line).
    #[serde(default)]
    pub deadband: f64,
    /// How long the limit must stay crossed before the alarm is raised.
    #[serde(default = "zero", deserialize_with = "duration")]
    pub on_delay: Duration,
    /// How long the value must stay back before the alarm clears.
    #[serde(default = "zero", deserialize_with = "duration")]
    pub off_delay: Duration,
    /// Overrides the kind's default priority.
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// `discrete`: a state value or one bit of a status word.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscreteSpec {
    /// Alarm when the state equals this (default 1 when `normal` is not set either).
    #[serde(default)]
    pub alarm_value: Option<f64>,
    /// Alarm when the state differs from this (a normally-closed contact sets `normal = 1`).
    #[serde(default)]
    pub normal: Option<f64>,
    /// Read this bit (0 = least significant) of the value as the state, 0 or 1.
    #[serde(default)]
    pub bit: Option<u8>,
    /// How long the state must stay abnormal before the alarm is raised.
    #[serde(default = "zero", deserialize_with = "duration")]
    pub on_delay: Duration,
    /// How long the state must stay normal before the alarm clears.
    #[serde(default = "zero", deserialize_with = "duration")]
    pub off_delay: Duration,
    /// Overrides the default (medium); fire zones set `"emergency"`.
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// `counter`: a cumulative meter register.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterSpec {
    /// A step larger than this many times the usual hourly use is a jump (rules.md §14
    /// Meters: 10×).
    #[serde(default = "ten")]
    pub jump_factor: f64,
    /// The usual use per hour; when absent it is learned from the first hour of readings.
    #[serde(default)]
    pub usual_per_hour: Option<f64>,
    /// Overrides the default (low).
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// `night_flow`: flow above a limit in the night window, in the site's time zone.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NightFlowSpec {
    /// Flow per hour above which night use counts as a possible leak.
    pub limit: f64,
    /// Window start, local time `"HH:MM"` (rules.md §14 Meters: 01:00).
    #[serde(default = "one_am", deserialize_with = "clock_time")]
    pub from: NaiveTime,
    /// Window end, local time `"HH:MM"` (rules.md §14 Meters: 05:00).
    #[serde(default = "five_am", deserialize_with = "clock_time")]
    pub to: NaiveTime,
    /// The point is a cumulative counter; the flow is its rise per hour between readings.
    #[serde(default)]
    pub from_counter: bool,
    /// How long the flow must stay above the limit before the alarm is raised.
    #[serde(default = "zero", deserialize_with = "duration")]
    pub on_delay: Duration,
    /// Overrides the default (medium).
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// `vacant_consumption`: a meter that rises while its unit is vacant (rules.md §14 Meters).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VacantSpec {
    /// The unit the meter serves, as named in the vacant-unit register.
    pub unit: String,
    /// Rise ignored as meter noise.
    #[serde(default)]
    pub tolerance: f64,
    /// Overrides the default (medium).
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// `stale`: a value that should move but has not.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaleSpec {
    /// Longest time the value may stay unchanged.
    #[serde(deserialize_with = "duration")]
    pub max_unchanged: Duration,
    /// Moves smaller than this do not count as a change.
    #[serde(default)]
    pub tolerance: f64,
    /// Overrides the default (low).
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// `pump_switchover`: the rule's point and `partner` are the two pumps' run-status points.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchoverSpec {
    /// The other pump's run-status point.
    pub partner: String,
    /// Alarm when the running pump has not changed for this long (rules.md §14 Pumps,
    /// seed 001:849: weekly, 7 days).
    #[serde(default = "seven_days", deserialize_with = "duration")]
    pub max_interval: Duration,
    /// Overrides the default (low).
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// `pump_fault`: the rule's point is the pump's run status (non-zero = running).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PumpFaultSpec {
    /// Fault-bit point (non-zero = fault); alarm while running with it set.
    #[serde(default)]
    pub fault: Option<String>,
    /// Demand/start-command point (non-zero = demand); alarm when not running after
    /// `start_timeout`.
    #[serde(default)]
    pub demand: Option<String>,
    /// How long a pump may take to start on demand (product choice: 30 s).
    #[serde(default = "thirty_seconds", deserialize_with = "duration")]
    pub start_timeout: Duration,
    /// Overrides the default (high, rules.md §14 Pumps).
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// The source (the alarm's `device`) of every missed-checkpoint alarm.
pub const PATROL_SOURCE: &str = "patrol";

/// The source named by the alarms of rota gaps.
pub const ONCALL_SOURCE: &str = "oncall";

/// `checkpoint_missed`: the route whose tours it watches.
#[derive(Debug, Clone, PartialEq)]
pub struct MissedSpec {
    /// Route id.
    pub route: String,
    /// Overrides the default (high).
    pub priority: Option<Priority>,
}

/// The source named by the central forward buffer's alarm.
const CENTRAL_SOURCE: &str = "central";

/// The source named by the alarms of overdue compliance items.
pub const COMPLIANCE_SOURCE: &str = "compliance";
/// The source named by the alarm of key sets not returned.
pub const KEYS_SOURCE: &str = "keys";
/// The register kind fed for key sets not returned.
pub const KEY_RETURN: &str = "key_return";

/// `compliance_overdue`: the kind of register item it watches.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ComplianceSpec {
    /// The kind (`lift`, `fire_drill`, …).
    pub kind: String,
}

/// `nobody_on_call`: the escalation level a rota gap leaves without a person.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OnCallSpec {
    /// The level (`duty_engineer`, `shift_lead`, `manager`).
    pub level: String,
}

fn zero() -> Duration {
    Duration::zero()
}

fn ten() -> f64 {
    10.0
}

fn seven_days() -> Duration {
    Duration::days(7)
}

fn thirty_seconds() -> Duration {
    Duration::seconds(30)
}

fn one_am() -> NaiveTime {
    NaiveTime::MIN + Duration::hours(1)
}

fn five_am() -> NaiveTime {
    NaiveTime::MIN + Duration::hours(5)
}

fn clock_time<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let text = String::deserialize(d)?;
    NaiveTime::parse_from_str(&text, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(&text, "%H:%M:%S"))
        .map_err(|_| D::Error::custom(format!("`{text}`: expected a local time \"HH:MM\"")))
}

/// Whether a discrete value is in alarm: the chosen bit (or the whole value) is the state;
/// alarm when it equals `alarm_value`, or differs from `normal`, or (neither set) is 1.
pub(super) fn discrete_alarm(s: &DiscreteSpec, value: f64) -> bool {
    let state = match s.bit {
        Some(bit) => ((value as i64 >> bit) & 1) as f64,
        None => value,
    };
    let same = |a: f64| (state - a).abs() < 1e-9;
    match (s.alarm_value, s.normal) {
        (Some(a), _) => same(a),
        (None, Some(n)) => !same(n),
        (None, None) => same(1.0),
    }
}
