//! The ISA-18.2 state machine: a confirmed condition raises, repeats or clears an alarm,
//! an operator acknowledges it, and masking (shelve, suppression, out of service) takes it
//! off the console. While masked the condition is still tracked, so when the mask ends an
//! alarm whose condition is present is raised again as unacknowledged-active (ISA-18.2:
//! shelved, suppressed and out-of-service return to normal or to unacknowledged-active).

use chrono::{DateTime, Utc};

use super::AlarmState;
use super::commands::AlarmError;
use super::engine::AlarmEngine;
use super::model::{Alarm, AlarmEvent, Transition};

impl AlarmEngine {
    /// The condition of alarm `i` is confirmed present or absent.
    pub(super) fn apply_condition(
        &mut self,
        i: usize,
        active: bool,
        value: Option<f64>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) {
        let alarm = &mut self.alarms[i];
        if value.is_some() {
            alarm.value = value;
        }
        if alarm.active == active {
            return;
        }
        alarm.active = active;
        if alarm.is_masked() {
            return;
        }
        if active {
            self.activate(i, now, out);
        } else {
            clear(alarm, now, out);
        }
    }

    /// The condition appeared on an unmasked alarm: raise, or collapse into a repeat.
    pub(super) fn activate(&mut self, i: usize, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
        let count = self.chatter.record(i, now, &self.config);
        match (self.alarms[i].state, self.alarms[i].chattering) {
            (AlarmState::Normal, false) => self.raise(i, now, out),
            (AlarmState::Normal | AlarmState::UnackReturned, _) => {
                repeat(&mut self.alarms[i], now, out)
            }
            (AlarmState::UnackActive | AlarmState::AckActive, _) => {}
        }
        let alarm = &mut self.alarms[i];
        if !alarm.chattering && count > self.config.chatter_limit {
            alarm.chattering = true;
            out.push(alarm.event(Transition::Chattering { count }, now));
        }
    }

    /// Normal → unacknowledged-active: a new alarm for the flood count and escalation.
    fn raise(&mut self, i: usize, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
        let alarm = &mut self.alarms[i];
        restart(alarm, now);
        out.push(alarm.event(Transition::Raised, now));
        self.flood.record_raise(now, &self.config);
        self.escalate_one(i, now, out);
    }

    /// Acknowledges alarm `id` for `actor`.
    pub(super) fn acknowledge(
        &mut self,
        id: &str,
        actor: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), AlarmError> {
        let i = self.find(id)?;
        let alarm = &mut self.alarms[i];
        alarm.state = match alarm.state {
            AlarmState::UnackActive => AlarmState::AckActive,
            AlarmState::UnackReturned => AlarmState::Normal,
            state => {
                return Err(AlarmError::NotAcknowledgeable {
                    alarm: id.to_owned(),
                    state,
                });
            }
        };
        alarm.acked_at = Some(now);
        alarm.acked_by = Some(actor.to_owned());
        out.push(alarm.event(Transition::Acknowledged, now).by(actor, note));
        Ok(())
    }

    /// Acknowledges every alarm of `ids` with one note, after checking that each can be:
    /// one that cannot refuses the whole command and changes nothing.
    pub(super) fn acknowledge_many(
        &mut self,
        ids: &[String],
        actor: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), AlarmError> {
        for id in ids {
            let state = self.alarms[self.find(id)?].state;
            if !matches!(state, AlarmState::UnackActive | AlarmState::UnackReturned) {
                let alarm = id.clone();
                return Err(AlarmError::NotAcknowledgeable { alarm, state });
            }
        }
        let mut seen = std::collections::HashSet::new();
        for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
            self.acknowledge(id, actor, note, now, out)?;
        }
        Ok(())
    }

    /// Adds a mask to alarm `i`; the first mask takes it off the console (to normal).
    pub(super) fn mask(
        &mut self,
        i: usize,
        set: impl FnOnce(&mut Alarm) -> Transition,
        actor: Option<(&str, Option<&str>)>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) {
        let alarm = &mut self.alarms[i];
        if !alarm.is_masked() {
            alarm.state = AlarmState::Normal;
            alarm.escalation_level = 0;
        }
        let transition = set(alarm);
        out.push(attribute(alarm.event(transition, now), actor));
    }

    /// Removes a mask from alarm `i`; when none is left and the condition is present, the
    /// alarm is raised again.
    pub(super) fn unmask(
        &mut self,
        i: usize,
        lift: impl FnOnce(&mut Alarm) -> Transition,
        actor: Option<(&str, Option<&str>)>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) {
        let alarm = &mut self.alarms[i];
        let transition = lift(alarm);
        out.push(attribute(alarm.event(transition, now), actor));
        if !alarm.is_masked() && alarm.active {
            self.activate(i, now, out);
        }
    }
}

/// Starts a new standing period of an alarm.
fn restart(alarm: &mut Alarm, now: DateTime<Utc>) {
    alarm.state = AlarmState::UnackActive;
    alarm.raised_at = Some(now);
    alarm.cleared_at = None;
    alarm.repeat_count = 0;
    alarm.escalation_level = 0;
}

/// Active again before anyone acknowledged it, or while chattering: one alarm, a count.
fn repeat(alarm: &mut Alarm, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
    if alarm.state == AlarmState::Normal {
        // A chattering alarm that was acknowledged and cleared: a new standing period.
        alarm.raised_at = Some(now);
        alarm.escalation_level = 0;
    }
    alarm.state = AlarmState::UnackActive;
    alarm.repeat_count += 1;
    if !alarm.chattering {
        let count = alarm.repeat_count;
        out.push(alarm.event(Transition::Repeated { count }, now));
    }
}

/// The condition went away: to unacknowledged-returned, or normal if acknowledged.
fn clear(alarm: &mut Alarm, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
    alarm.state = match alarm.state {
        AlarmState::UnackActive => AlarmState::UnackReturned,
        AlarmState::AckActive => AlarmState::Normal,
        AlarmState::Normal | AlarmState::UnackReturned => return,
    };
    alarm.cleared_at = Some(now);
    // A chattering alarm's flips are collapsed; `ChatteringEnded` reports where it settled.
    if !alarm.chattering {
        out.push(alarm.event(Transition::Cleared, now));
    }
}

fn attribute(ev: AlarmEvent, actor: Option<(&str, Option<&str>)>) -> AlarmEvent {
    match actor {
        Some((actor, note)) => ev.by(actor, note),
        None => ev,
    }
}
