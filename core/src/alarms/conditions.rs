//! The runtime of each rule: turns samples and the passing of time into a raw condition,
//! then applies the on-delay and off-delay. The output is a confirmed flip of the
//! condition, which the lifecycle turns into alarm transitions.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use super::rules::{AlarmRule, RuleSpec};
use crate::points::PointId;

/// What a rule may read besides its own sample.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a> {
    /// Latest good value of every point a rule reads.
    pub(super) values: &'a HashMap<PointId, f64>,
    /// Units marked vacant.
    pub(super) vacant: &'a HashSet<String>,
    /// Site time zone for night windows.
    pub(super) tz: Tz,
}

impl Context<'_> {
    fn on(&self, point: &str) -> Option<bool> {
        self.values.get(point).map(|v| *v != 0.0)
    }
}

/// One rule and its state between samples.
#[derive(Debug)]
pub(super) struct RuleRuntime {
    pub(super) rule: AlarmRule,
    delay: Delay,
    memory: Memory,
}

/// What a kind remembers between samples.
#[derive(Debug, Default)]
enum Memory {
    #[default]
    None,
    /// Counter: last reading, and the normal use seen so far (to learn the hourly use).
    Counter {
        last: Option<(f64, DateTime<Utc>)>,
        used: f64,
        over: Duration,
    },
    /// Night flow from a counter: last reading.
    Rate { last: Option<(f64, DateTime<Utc>)> },
    /// Vacant unit: the reading when the unit became vacant.
    Vacant { baseline: Option<f64> },
    /// Stale: the last value that counted as a change, and when.
    Stale { last: Option<(f64, DateTime<Utc>)> },
    /// Pump pair: which pump runs (true = the rule's own point) and since when.
    Switchover {
        runner: Option<bool>,
        since: Option<DateTime<Utc>>,
    },
    /// Pump fault: since when demand has been on without the pump running.
    PumpFault { unmet_since: Option<DateTime<Utc>> },
}

impl RuleRuntime {
    pub(super) fn new(rule: AlarmRule) -> Self {
        let (on, off) = rule.spec.delays();
        let memory = match &rule.spec {
            RuleSpec::Counter(_) => Memory::Counter {
                last: None,
                used: 0.0,
                over: Duration::zero(),
            },
            RuleSpec::NightFlow(_) => Memory::Rate { last: None },
            RuleSpec::VacantConsumption(_) => Memory::Vacant { baseline: None },
            RuleSpec::Stale(_) => Memory::Stale { last: None },
            RuleSpec::PumpSwitchover(_) => Memory::Switchover {
                runner: None,
                since: None,
            },
            RuleSpec::PumpFault(_) => Memory::PumpFault { unmet_since: None },
            _ => Memory::None,
        };
        Self {
            rule,
            delay: Delay::new(on, off),
            memory,
        }
    }

    /// Sets the confirmed condition without a transition (restore after a restart).
    pub(super) fn assume(&mut self, active: bool) {
        self.delay.confirmed = active;
        self.delay.pending = None;
    }

    /// Forgets a pending delay: a delay needs an unbroken run of good readings.
    pub(super) fn restart_delay(&mut self) {
        self.delay.pending = None;
    }

    /// A new good value of one of the rule's points; `Some` when the condition flipped.
    pub(super) fn on_sample(
        &mut self,
        point: &str,
        value: f64,
        now: DateTime<Utc>,
        ctx: Context<'_>,
    ) -> Option<bool> {
        let raw = self.raw_on_sample(point == self.rule.point, value, now, ctx)?;
        self.delay.feed(raw, now)
    }

    /// Time passed; `Some` when the condition flipped (delays, clocks, windows).
    pub(super) fn on_tick(&mut self, now: DateTime<Utc>, ctx: Context<'_>) -> Option<bool> {
        match self.raw_on_tick(now, ctx) {
            Some(raw) => self.delay.feed(raw, now),
            None => self.delay.tick(now),
        }
    }

    /// A unit's vacancy changed: restart the baseline, re-evaluate.
    pub(super) fn on_vacancy(
        &mut self,
        vacant: bool,
        latest: Option<f64>,
        now: DateTime<Utc>,
    ) -> Option<bool> {
        if let Memory::Vacant { baseline } = &mut self.memory {
            *baseline = if vacant { latest } else { None };
        }
        if vacant {
            return None;
        }
        self.delay.feed(false, now)
    }

    /// The raw condition after a sample: one arm per kind, so the table reads as a whole.
    fn raw_on_sample(
        &mut self,
        own: bool,
        v: f64,
        now: DateTime<Utc>,
        ctx: Context<'_>,
    ) -> Option<bool> {
        let active = self.delay.confirmed;
        match (&self.rule.spec, &mut self.memory) {
            (RuleSpec::High(s) | RuleSpec::HighHigh(s), _) if own => {
                // Once raised, the value must drop past the deadband to clear.
                Some(if active {
                    v > s.limit - s.deadband
                } else {
                    v > s.limit
                })
            }
            (RuleSpec::Low(s) | RuleSpec::LowLow(s), _) if own => Some(if active {
                v < s.limit + s.deadband
            } else {
                v < s.limit
            }),
            (RuleSpec::Discrete(s), _) if own => Some(super::rules::discrete_alarm(s, v)),
            (RuleSpec::Counter(s), Memory::Counter { last, used, over }) if own => {
                Some(counter_fault(s, last, used, over, v, now))
            }
            (RuleSpec::NightFlow(s), Memory::Rate { last }) if own => {
                let rate = if s.from_counter {
                    rate(last, v, now)?
                } else {
                    v
                };
                Some(in_window(s.from, s.to, now, ctx.tz) && rate > s.limit)
            }
            (RuleSpec::VacantConsumption(s), Memory::Vacant { baseline }) if own => {
                if !ctx.vacant.contains(&s.unit) {
                    return Some(false);
                }
                Some(v > *baseline.get_or_insert(v) + s.tolerance)
            }
            (RuleSpec::Stale(s), Memory::Stale { last }) if own => {
                let at = match last {
                    Some((seen, at)) if (v - *seen).abs() <= s.tolerance => *at,
                    _ => last.insert((v, now)).1,
                };
                Some(now - at > s.max_unchanged)
            }
            (RuleSpec::PumpSwitchover(_), _) => self.switchover(now, ctx),
            (RuleSpec::PumpFault(_), _) => self.pump_fault(now, ctx),
            _ => None,
        }
    }

    fn raw_on_tick(&mut self, now: DateTime<Utc>, ctx: Context<'_>) -> Option<bool> {
        match (&self.rule.spec, &self.memory) {
            // Outside the window the night-flow condition ends even without a reading.
            (RuleSpec::NightFlow(s), _) if !in_window(s.from, s.to, now, ctx.tz) => Some(false),
            (
                RuleSpec::Stale(s),
                Memory::Stale {
                    last: Some((_, at)),
                },
            ) => Some(now - *at > s.max_unchanged),
            (RuleSpec::PumpSwitchover(_), _) => self.switchover(now, ctx),
            (RuleSpec::PumpFault(_), _) => self.pump_fault(now, ctx),
            _ => None,
        }
    }

    /// The pair has not changed its running pump for longer than `max_interval`.
    fn switchover(&mut self, now: DateTime<Utc>, ctx: Context<'_>) -> Option<bool> {
        let (RuleSpec::PumpSwitchover(s), Memory::Switchover { runner, since }) =
            (&self.rule.spec, &mut self.memory)
        else {
            return None;
        };
        let a = ctx.on(&self.rule.point).unwrap_or(false);
        let b = ctx.on(&s.partner).unwrap_or(false);
        // Both running or both stopped says nothing about which pump has duty.
        let now_runner = if a != b { Some(a) } else { *runner };
        if now_runner != *runner {
            *runner = now_runner;
            *since = Some(now);
        }
        since.map(|at| now - at > s.max_interval)
    }

    /// Running with the fault bit set, or demand on and not running after the timeout.
    fn pump_fault(&mut self, now: DateTime<Utc>, ctx: Context<'_>) -> Option<bool> {
        let (RuleSpec::PumpFault(s), Memory::PumpFault { unmet_since }) =
            (&self.rule.spec, &mut self.memory)
        else {
            return None;
        };
        let running = ctx.on(&self.rule.point)?;
        let fault = s.fault.as_deref().and_then(|p| ctx.on(p)).unwrap_or(false);
        let demand = s.demand.as_deref().and_then(|p| ctx.on(p)).unwrap_or(false);
        if demand && !running {
            unmet_since.get_or_insert(now);
        } else {
            *unmet_since = None;
        }
        let not_starting = unmet_since.is_some_and(|at| now - at >= s.start_timeout);
        Some((running && fault) || not_starting)
    }
}

/// A counter that went backwards, or rose more than `jump_factor` × its usual hourly use.
fn counter_fault(
    s: &super::rules::CounterSpec,
    last: &mut Option<(f64, DateTime<Utc>)>,
    used: &mut f64,
    over: &mut Duration,
    v: f64,
    now: DateTime<Utc>,
) -> bool {
    let Some((prev, at)) = last.replace((v, now)) else {
        return false;
    };
    if v < prev {
        return true;
    }
    let hours = (now - at).num_milliseconds() as f64 / 3_600_000.0;
    // Learn the usual use from at least an hour of normal readings.
    let learned = (*over >= Duration::hours(1)).then(|| *used / hours_of(*over));
    match s.usual_per_hour.or(learned) {
        Some(usual) if usual > 0.0 && v - prev > s.jump_factor * usual * hours.max(1.0) => true,
        _ => {
            *used += v - prev;
            *over += now - at;
            false
        }
    }
}

fn hours_of(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 3_600_000.0
}

/// Rise per hour of a counter since its last reading; `None` on the first reading.
fn rate(last: &mut Option<(f64, DateTime<Utc>)>, v: f64, now: DateTime<Utc>) -> Option<f64> {
    let (prev, at) = last.replace((v, now))?;
    let hours = hours_of(now - at);
    (hours > 0.0).then(|| (v - prev) / hours)
}

/// Whether `now` falls in `[from, to)` local time; a window may wrap past midnight.
fn in_window(from: NaiveTime, to: NaiveTime, now: DateTime<Utc>, tz: Tz) -> bool {
    let local = now.with_timezone(&tz).time();
    if from <= to {
        from <= local && local < to
    } else {
        local >= from || local < to
    }
}

/// On-delay and off-delay: a raw flip must hold this long before it is confirmed.
#[derive(Debug)]
struct Delay {
    confirmed: bool,
    pending: Option<DateTime<Utc>>,
    on: Duration,
    off: Duration,
}

impl Delay {
    fn new(on: Duration, off: Duration) -> Self {
        Self {
            confirmed: false,
            pending: None,
            on,
            off,
        }
    }

    /// The raw condition now; `Some(new)` when the confirmed condition flips.
    fn feed(&mut self, raw: bool, now: DateTime<Utc>) -> Option<bool> {
        if raw == self.confirmed {
            self.pending = None;
            return None;
        }
        let since = *self.pending.get_or_insert(now);
        let needed = if raw { self.on } else { self.off };
        if now - since < needed {
            return None;
        }
        self.confirmed = raw;
        self.pending = None;
        Some(raw)
    }

    /// A pending flip whose delay has run out.
    fn tick(&mut self, now: DateTime<Utc>) -> Option<bool> {
        self.pending?;
        self.feed(!self.confirmed, now)
    }
}
