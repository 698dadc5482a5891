//! Taking alarms off the console on purpose: shelving (per alarm, expires by itself),
//! suppression windows by design (device, point, unit, site), out of service, and the
//! vacant-unit register that arms vacant-consumption rules.
//!
//! Frozen rules, which are not masking: while a point a rule reads is unreadable (its
//! quality is comm lost, stale or bad, as when its device stops answering), the rule is
//! frozen. It is not evaluated on samples or ticks, so its alarm keeps the state it had,
//! neither raised nor cleared on a value nobody can trust, and any on/off delay under way
//! starts again once the point reads good. The device's comm-loss alarm is the one that
//! speaks meanwhile. A frozen alarm stays on the console as it was, unlike a shelved or
//! suppressed one; nothing about it is journalled.

use chrono::{DateTime, Utc};

use super::commands::{AlarmError, SuppressScope, Suppression};
use super::engine::AlarmEngine;
use super::model::{Alarm, AlarmEvent, OutOfService, Shelve, Transition};
use super::rules::{AlarmRule, RuleSpec};

impl AlarmEngine {
    /// A point turned unreadable: freezes the rules reading it and forgets their pending
    /// delays (a delay needs an unbroken run of good readings).
    pub(super) fn freeze_rules_of(&mut self, point: &str) {
        // Like `values`, only points a rule reads: a dead device without rules would
        // otherwise leave a string per point here.
        let Some(rules) = self.by_point.get(point) else {
            return;
        };
        self.unreadable.insert(point.to_owned());
        for &i in rules {
            self.rules[i].restart_delay();
        }
    }

    /// A point read good again (a good quality or a sample): its rules thaw.
    pub(super) fn thaw_rules_of(&mut self, point: &str) {
        if !self.unreadable.is_empty() {
            self.unreadable.remove(point);
        }
    }

    /// Whether rule `i` reads an unreadable point, so is frozen.
    pub(super) fn is_frozen(&self, i: usize) -> bool {
        !self.unreadable.is_empty()
            && self.rule_points[i]
                .iter()
                .any(|p| self.unreadable.contains(p))
    }

    pub(super) fn shelve(
        &mut self,
        id: &str,
        actor: &str,
        reason: String,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), AlarmError> {
        let i = self.find(id)?;
        let note = reason.clone();
        let shelve = Shelve {
            until,
            by: actor.to_owned(),
            reason,
            at: now,
        };
        let set = |a: &mut Alarm| {
            a.shelved = Some(shelve);
            Transition::Shelved { until }
        };
        self.mask(i, set, Some((actor, Some(&note))), now, out);
        Ok(())
    }

    pub(super) fn unshelve(
        &mut self,
        id: &str,
        actor: Option<&str>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), AlarmError> {
        let i = self.find(id)?;
        if self.alarms[i].shelved.is_none() {
            return Err(AlarmError::NotShelved(id.to_owned()));
        }
        let lift = |a: &mut Alarm| {
            a.shelved = None;
            Transition::Unshelved {
                expired: actor.is_none(),
            }
        };
        self.unmask(i, lift, actor.map(|a| (a, None)), now, out);
        Ok(())
    }

    /// Shelves whose time is up end by themselves.
    pub(super) fn expire_shelves(&mut self, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
        let expired: Vec<String> = self
            .alarms
            .iter()
            .filter(|a| a.shelved.as_ref().is_some_and(|s| s.until <= now))
            .map(|a| a.id.clone())
            .collect();
        for id in expired {
            // Cannot fail: the id was just listed as shelved.
            let _ = self.unshelve(&id, None, now, out);
        }
    }

    pub(super) fn set_out_of_service(
        &mut self,
        id: &str,
        actor: &str,
        reason: String,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), AlarmError> {
        let i = self.find(id)?;
        if self.alarms[i].out_of_service.is_some() {
            return Err(AlarmError::AlreadyOutOfService(id.to_owned()));
        }
        let note = reason.clone();
        let oos = OutOfService {
            by: actor.to_owned(),
            reason,
            at: now,
        };
        let set = |a: &mut Alarm| {
            a.out_of_service = Some(oos);
            Transition::OutOfService
        };
        self.mask(i, set, Some((actor, Some(&note))), now, out);
        Ok(())
    }

    pub(super) fn return_to_service(
        &mut self,
        id: &str,
        actor: &str,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), AlarmError> {
        let i = self.find(id)?;
        if self.alarms[i].out_of_service.is_none() {
            return Err(AlarmError::NotOutOfService(id.to_owned()));
        }
        let lift = |a: &mut Alarm| {
            a.out_of_service = None;
            Transition::ReturnedToService
        };
        self.unmask(i, lift, Some((actor, None)), now, out);
        Ok(())
    }

    pub(super) fn suppress(
        &mut self,
        window: Suppression,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) {
        let actor = window.actor.clone();
        self.suppressions.push(window);
        self.refresh_suppression(Some(&actor), now, out);
    }

    pub(super) fn unsuppress(
        &mut self,
        scope: &SuppressScope,
        actor: &str,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) -> Result<(), AlarmError> {
        let before = self.suppressions.len();
        self.suppressions.retain(|s| s.scope != *scope);
        if self.suppressions.len() == before {
            return Err(AlarmError::NotSuppressed(scope.clone()));
        }
        self.refresh_suppression(Some(actor), now, out);
        Ok(())
    }

    /// Suppression windows whose time is up end by themselves.
    pub(super) fn expire_suppressions(&mut self, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
        let before = self.suppressions.len();
        self.suppressions
            .retain(|s| s.until.is_none_or(|u| u > now));
        if self.suppressions.len() != before {
            self.refresh_suppression(None, now, out);
        }
    }

    /// The reason of the first window covering an alarm.
    pub(super) fn covering(&self, alarm: &Alarm, rule: Option<&AlarmRule>) -> Option<String> {
        self.suppressions
            .iter()
            .find(|s| s.covers(alarm, rule))
            .map(|s| s.reason.clone())
    }

    /// Brings every alarm's suppressed flag in line with the windows in force.
    fn refresh_suppression(
        &mut self,
        actor: Option<&str>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) {
        let who = actor.map(|a| (a, None));
        for i in 0..self.alarms.len() {
            let want = self.covering(&self.alarms[i], self.rule(i));
            match (self.alarms[i].suppressed.is_some(), want) {
                (false, Some(reason)) => {
                    let note = reason.clone();
                    let set = |a: &mut Alarm| {
                        a.suppressed = Some(reason);
                        Transition::Suppressed
                    };
                    self.mask(i, set, actor.map(|a| (a, Some(note.as_str()))), now, out);
                }
                (true, None) => {
                    let lift = |a: &mut Alarm| {
                        a.suppressed = None;
                        Transition::Unsuppressed
                    };
                    self.unmask(i, lift, who, now, out);
                }
                // Still covered, perhaps by another window: keep its reason current.
                (true, Some(reason)) => self.alarms[i].suppressed = Some(reason),
                (false, None) => {}
            }
        }
    }

    /// The vacant-unit register changed: arm or disarm the unit's consumption rules.
    pub(super) fn set_unit_vacant(
        &mut self,
        unit: &str,
        vacant: bool,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmEvent>,
    ) {
        if vacant {
            self.vacant.insert(unit.to_owned());
        } else {
            self.vacant.remove(unit);
        }
        for i in 0..self.rules.len() {
            let rule = &self.rules[i].rule;
            if !matches!(&rule.spec, RuleSpec::VacantConsumption(v) if v.unit == unit) {
                continue;
            }
            let latest = self.values.get(rule.point.as_str()).copied();
            if let Some(active) = self.rules[i].on_vacancy(vacant, latest, now) {
                self.apply_condition(i, active, latest, now, out);
            }
        }
    }
}
