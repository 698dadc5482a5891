//! The alarm engine: owns the rules, the alarms and the site-wide state (point quality,
//! vacant units, suppression windows), and routes point events and time to them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::commands::{AlarmError, Suppression};
use super::conditions::{Context, RuleRuntime};
use super::config::AlarmConfig;
use super::flood::{ChatterMeter, FloodMeter};
use super::model::{Alarm, AlarmEvent, Transition};
use super::rules::{AlarmRule, RuleSpec};
use crate::points::{PointEvent, PointId};

/// The pure ISA-18.2 alarm engine; fed point events, commands and `now`, it returns the
/// events it caused.
#[derive(Debug)]
pub struct AlarmEngine {
    pub(super) config: AlarmConfig,
    /// Rule `i` drives alarm `i`; comm-loss alarms follow the rules' alarms.
    pub(super) rules: Vec<RuleRuntime>,
    pub(super) alarms: Vec<Alarm>,
    pub(super) index: HashMap<String, usize>,
    pub(super) rule_points: Vec<Vec<String>>,
    pub(super) by_point: HashMap<String, Vec<usize>>,
    /// Keyed by the hub's own point ids (shared, not a copy of each).
    pub(super) values: HashMap<PointId, f64>,
    /// Points a rule reads whose quality is not good (comm lost, stale, bad): the rules
    /// reading them are frozen (`masking.rs`, "Frozen rules").
    pub(super) unreadable: HashSet<String>,
    pub(super) vacant: HashSet<String>,
    pub(super) suppressions: Vec<Suppression>,
    pub(super) flood: FloodMeter,
    pub(super) chatter: ChatterMeter,
}

impl AlarmEngine {
    /// An engine for these rules; every device named by a rule gets its comm-loss alarm.
    pub fn new(rules: Vec<AlarmRule>, config: AlarmConfig) -> Result<Self, AlarmError> {
        let mut engine = Self {
            config,
            rules: Vec::with_capacity(rules.len()),
            alarms: Vec::with_capacity(rules.len()),
            index: HashMap::new(),
            rule_points: Vec::with_capacity(rules.len()),
            by_point: HashMap::new(),
            values: HashMap::new(),
            unreadable: HashSet::new(),
            vacant: HashSet::new(),
            suppressions: Vec::new(),
            flood: FloodMeter::default(),
            chatter: ChatterMeter::default(),
        };
        for rule in rules {
            engine.add_rule(rule)?;
        }
        // A comm-loss alarm per device a rule reads points of (patrol misses have none).
        let devices: Vec<String> = (engine.rules.iter())
            .filter(|r| r.rule.reads_points())
            .map(|r| r.rule.device.clone())
            .collect();
        for device in devices {
            engine.comm_alarm(&device);
        }
        Ok(engine)
    }

    fn add_rule(&mut self, rule: AlarmRule) -> Result<(), AlarmError> {
        rule.spec
            .validate()
            .map_err(|reason| AlarmError::InvalidRule {
                rule: rule.id.clone(),
                reason,
            })?;
        let i = self.rules.len();
        if self.index.insert(rule.id.clone(), i).is_some() {
            return Err(AlarmError::DuplicateRule(rule.id));
        }
        let points: Vec<String> = rule.points().into_iter().map(str::to_owned).collect();
        for p in &points {
            self.by_point.entry(p.clone()).or_default().push(i);
        }
        let mut alarm = Alarm::new(
            rule.id.clone(),
            rule.device.clone(),
            rule.reads_points().then(|| rule.point.clone()),
            rule.spec.priority(),
        );
        alarm.message = rule.message.clone();
        alarm.message_zh = rule.message_zh.clone();
        self.alarms.push(alarm);
        self.rule_points.push(points);
        self.rules.push(RuleRuntime::new(rule));
        Ok(())
    }

    /// Adds a rule while the engine runs, without a comm-loss alarm for its device (an
    /// estate's register meters: their silence is the gateway's figures, not ten thousand
    /// alarms). Its alarm goes in after the other rules' (rule `i` drives alarm `i`), the
    /// comm-loss alarms move up one. A rule id already known is left as it is: `false`.
    pub fn add_rule_quietly(&mut self, rule: AlarmRule) -> Result<bool, AlarmError> {
        if self.index.contains_key(&rule.id) {
            return Ok(false);
        }
        rule.spec
            .validate()
            .map_err(|reason| AlarmError::InvalidRule {
                rule: rule.id.clone(),
                reason,
            })?;
        let at = self.rules.len();
        for i in self.index.values_mut() {
            if *i >= at {
                *i += 1;
            }
        }
        self.chatter.shift_from(at);
        self.add_rule(rule)?;
        // `add_rule` pushed the alarm last; it belongs right after the rules' alarms.
        if let Some(alarm) = self.alarms.pop() {
            self.alarms.insert(at, alarm);
        }
        self.alarms[at].suppressed = self.covering(&self.alarms[at], self.rule(at));
        Ok(true)
    }

    /// The index of a device's comm-loss alarm, created on first use.
    pub(super) fn comm_alarm(&mut self, device: &str) -> usize {
        let id = format!("{device}:comm");
        if let Some(i) = self.index.get(&id) {
            return *i;
        }
        let mut alarm = Alarm::new(
            id.clone(),
            device.to_owned(),
            None,
            self.config.comm_loss_priority,
        );
        alarm.message = format!("Communication lost with {device}");
        alarm.suppressed = self.covering(&alarm, None);
        self.index.insert(id, self.alarms.len());
        self.alarms.push(alarm);
        self.alarms.len() - 1
    }

    /// Every alarm the engine knows, normal ones included, rules first.
    pub fn alarms(&self) -> impl Iterator<Item = &Alarm> {
        self.alarms.iter()
    }

    /// Alarms worth a console line: not normal, or shelved, suppressed, out of service.
    pub fn standing(&self) -> impl Iterator<Item = &Alarm> {
        self.alarms.iter().filter(|a| a.is_standing())
    }

    /// One alarm by id.
    pub fn alarm(&self, id: &str) -> Option<&Alarm> {
        self.index.get(id).map(|i| &self.alarms[*i])
    }

    /// The suppression windows in force (to persist beside the alarms).
    pub fn suppressions(&self) -> &[Suppression] {
        &self.suppressions
    }

    pub(super) fn find(&self, id: &str) -> Result<usize, AlarmError> {
        self.index
            .get(id)
            .copied()
            .ok_or_else(|| AlarmError::UnknownAlarm(id.to_owned()))
    }

    /// The rule behind alarm `i`, if it is not a comm-loss alarm.
    pub(super) fn rule(&self, i: usize) -> Option<&AlarmRule> {
        self.rules.get(i).map(|r| &r.rule)
    }

    /// Applies a point event from the hub.
    pub fn on_point(&mut self, ev: &PointEvent, now: DateTime<Utc>) -> Vec<AlarmEvent> {
        let mut out = Vec::new();
        match ev {
            PointEvent::Sample { point, value, .. } => self.sample(point, *value, now, &mut out),
            PointEvent::Quality { point, to, .. } => {
                if *to == crate::points::Quality::Good {
                    self.thaw_rules_of(point);
                } else {
                    self.freeze_rules_of(point);
                }
            }
            PointEvent::Device {
                device, up, reason, ..
            } => self.device(device, *up, reason.as_deref(), now, &mut out),
            PointEvent::Rejected { .. } => {}
        }
        out
    }

    fn sample(
        &mut self,
        point: &PointId,
        value: f64,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) {
        // A sample is a good value by definition, even before the hub's quality event.
        self.thaw_rules_of(point);
        let Some(rules) = self.by_point.get(&**point) else {
            return;
        };
        // Only the values rules read are kept (a rule's points cover its conditions): a
        // site's many points without a rule would cost a map entry each.
        match self.values.get_mut(&**point) {
            Some(v) => *v = value,
            None => drop(self.values.insert(point.clone(), value)),
        }
        let ctx = Context {
            values: &self.values,
            vacant: &self.vacant,
            tz: self.config.time_zone,
        };
        let mut flips = Vec::new();
        for &i in rules {
            if self.is_frozen(i) {
                continue;
            }
            if let Some(active) = self.rules[i].on_sample(point, value, now, ctx) {
                flips.push((i, active));
            }
        }
        for (i, active) in flips {
            let v = self.values.get(self.rules[i].rule.point.as_str()).copied();
            self.apply_condition(i, active, v, now, out);
        }
    }

    /// The patrol book's word on `route`: a checkpoint of its current tour is missed
    /// (`missed`), or a new tour started. Drives the route's missed-checkpoint alarm.
    pub fn on_checkpoint(
        &mut self,
        route: &str,
        missed: bool,
        now: DateTime<Utc>,
    ) -> Vec<AlarmEvent> {
        self.set_condition(
            |spec| matches!(spec, RuleSpec::CheckpointMissed(s) if s.route == route),
            missed,
            now,
        )
    }

    /// Whether an escalation level has nobody on call: raises or clears its
    /// `nobody_on_call` rule's alarm.
    pub fn on_coverage(
        &mut self,
        level: &str,
        uncovered: bool,
        now: DateTime<Utc>,
    ) -> Vec<AlarmEvent> {
        self.set_condition(
            |spec| matches!(spec, RuleSpec::NobodyOnCall(s) if s.level == level),
            uncovered,
            now,
        )
    }

    /// Whether any compliance item of `kind` is overdue: raises or clears its
    /// `compliance_overdue` rule's alarm.
    pub fn on_compliance(
        &mut self,
        kind: &str,
        overdue: bool,
        now: DateTime<Utc>,
    ) -> Vec<AlarmEvent> {
        self.set_condition(
            |spec| matches!(spec, RuleSpec::ComplianceOverdue(s) if s.kind == kind),
            overdue,
            now,
        )
    }

    /// Whether the central forward buffer is 80 % full: raises or clears its alarm.
    pub fn on_forward_buffer(&mut self, filling: bool, now: DateTime<Utc>) -> Vec<AlarmEvent> {
        self.set_condition(|spec| matches!(spec, RuleSpec::ForwardBuffer), filling, now)
    }

    /// Raises or clears the alarm of the first rule `pick` chooses: the conditions the
    /// engine is told of (a missed checkpoint, a level with nobody on call, an overdue
    /// certificate) rather than reads from a point.
    fn set_condition(
        &mut self,
        pick: impl Fn(&RuleSpec) -> bool,
        active: bool,
        now: DateTime<Utc>,
    ) -> Vec<AlarmEvent> {
        let mut out = Vec::new();
        if let Some(i) = self.rules.iter().position(|r| pick(&r.rule.spec)) {
            self.apply_condition(i, active, None, now, &mut out);
        }
        out
    }

    fn device(
        &mut self,
        device: &str,
        up: bool,
        reason: Option<&str>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) {
        let i = self.comm_alarm(device);
        let first = out.len();
        self.apply_condition(i, !up, None, now, out);
        // The raise carries the poller's reason (timeout, refused) for the journal.
        for ev in &mut out[first..] {
            if ev.transition == Transition::Raised {
                ev.note = reason.map(str::to_owned);
            }
        }
    }

    /// Time passes: delays, shelve and suppression expiry, time-based rules, escalation,
    /// chattering and flood bookkeeping.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<AlarmEvent> {
        let mut out = Vec::new();
        self.expire_suppressions(now, &mut out);
        self.expire_shelves(now, &mut out);
        self.tick_rules(now, &mut out);
        self.escalate_all(now, &mut out);
        self.settle_chattering(now, &mut out);
        self.flood.settle(now, &self.config);
        out
    }

    fn tick_rules(&mut self, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
        let ctx = Context {
            values: &self.values,
            vacant: &self.vacant,
            tz: self.config.time_zone,
        };
        let mut flips = Vec::new();
        for i in 0..self.rules.len() {
            if self.is_frozen(i) {
                continue;
            }
            if let Some(active) = self.rules[i].on_tick(now, ctx) {
                flips.push((i, active));
            }
        }
        for (i, active) in flips {
            let v = self.values.get(self.rules[i].rule.point.as_str()).copied();
            self.apply_condition(i, active, v, now, out);
        }
    }

    /// Puts back the alarm list saved before a restart: states, acknowledgements, shelves,
    /// escalation. Definitions (priority, message) come from the current rules; alarms of
    /// rules that no longer exist are dropped. Restore suppression windows first.
    pub fn restore(&mut self, alarms: Vec<Alarm>) {
        for saved in alarms {
            let i = match self.index.get(&saved.id) {
                Some(i) => *i,
                None if saved.point.is_none() && saved.id.ends_with(":comm") => {
                    self.comm_alarm(&saved.device)
                }
                None => continue,
            };
            let current = &self.alarms[i];
            let alarm = Alarm {
                id: current.id.clone(),
                device: current.device.clone(),
                point: current.point.clone(),
                priority: current.priority,
                message: current.message.clone(),
                message_zh: current.message_zh.clone(),
                suppressed: self.covering(current, self.rule(i)),
                ..saved
            };
            if let Some(rule) = self.rules.get_mut(i) {
                rule.assume(alarm.active);
            }
            self.alarms[i] = alarm;
        }
    }

    /// Puts back the suppression windows saved before a restart, without events.
    pub fn restore_suppressions(&mut self, windows: Vec<Suppression>) {
        self.suppressions = windows;
        for i in 0..self.alarms.len() {
            self.alarms[i].suppressed = self.covering(&self.alarms[i], self.rule(i));
        }
    }
}
