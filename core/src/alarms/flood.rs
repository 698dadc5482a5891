//! Alarm-load control after ISA-18.2 / EEMUA 191: the flood meter (new alarms per window,
//! time spent in flood), the chattering meter (activations of one alarm per window), and
//! the statistics snapshot exported as metrics.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use super::config::AlarmConfig;
use super::engine::AlarmEngine;
use super::model::{AlarmEvent, AlarmStats, StateCount, Transition};
use super::{AlarmState, Priority};

/// New alarms over a sliding window, and the time the site spent in flood.
#[derive(Debug, Default)]
pub(super) struct FloodMeter {
    /// Raise times within the window, oldest first.
    raises: VecDeque<DateTime<Utc>>,
    /// When the current flood began.
    since: Option<DateTime<Utc>>,
    /// Time in floods that have ended.
    total: Duration,
    raised_total: u64,
}

impl FloodMeter {
    pub(super) fn record_raise(&mut self, now: DateTime<Utc>, cfg: &AlarmConfig) {
        self.settle(now, cfg);
        self.raises.push_back(now);
        self.raised_total += 1;
        if self.since.is_none() && self.raises.len() > cfg.flood_limit as usize {
            self.since = Some(now);
        }
    }

    /// Closes a flood that ended by `now` and forgets raises older than the window.
    pub(super) fn settle(&mut self, now: DateTime<Utc>, cfg: &AlarmConfig) {
        if let (Some(since), Some(end)) = (self.since, self.flood_end(cfg))
            && end <= now
        {
            self.total += end - since;
            self.since = None;
        }
        while self
            .raises
            .front()
            .is_some_and(|at| *at <= now - cfg.flood_window)
        {
            self.raises.pop_front();
        }
    }

    /// When the current flood ends if nothing else is raised: the moment the count in the
    /// window drops back to the limit.
    fn flood_end(&self, cfg: &AlarmConfig) -> Option<DateTime<Utc>> {
        let limit = cfg.flood_limit as usize;
        let n = self.raises.len();
        (n > limit).then(|| self.raises[n - 1 - limit] + cfg.flood_window)
    }

    fn in_window(&self, now: DateTime<Utc>, cfg: &AlarmConfig) -> u32 {
        let from = now - cfg.flood_window;
        self.raises
            .iter()
            .filter(|at| **at > from && **at <= now)
            .count() as u32
    }

    /// Whether in flood at `now`, and seconds in flood so far.
    fn flood_time(&self, now: DateTime<Utc>, cfg: &AlarmConfig) -> (bool, f64) {
        let Some(since) = self.since else {
            return (false, seconds(self.total));
        };
        let end = self.flood_end(cfg).unwrap_or(now);
        let running = end > now;
        (running, seconds(self.total + (end.min(now) - since)))
    }
}

fn seconds(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

/// Activation times per alarm within the chattering window.
#[derive(Debug, Default)]
pub(super) struct ChatterMeter {
    by_alarm: HashMap<usize, VecDeque<DateTime<Utc>>>,
}

impl ChatterMeter {
    /// Records an activation of alarm `i`; the activations within the window, this one too.
    pub(super) fn record(&mut self, i: usize, now: DateTime<Utc>, cfg: &AlarmConfig) -> u32 {
        let times = self.by_alarm.entry(i).or_default();
        times.push_back(now);
        prune(times, now - cfg.chatter_window);
        times.len() as u32
    }

    /// An alarm was put in at `at`: the ones from there on move up one.
    pub(super) fn shift_from(&mut self, at: usize) {
        let moved: Vec<usize> = self.by_alarm.keys().copied().filter(|&i| i >= at).collect();
        let mut taken: Vec<(usize, VecDeque<DateTime<Utc>>)> = (moved.into_iter())
            .filter_map(|i| Some((i + 1, self.by_alarm.remove(&i)?)))
            .collect();
        self.by_alarm.extend(taken.drain(..));
    }

    /// Whether alarm `i` has had no activation within the window.
    fn quiet(&mut self, i: usize, now: DateTime<Utc>, cfg: &AlarmConfig) -> bool {
        let Some(times) = self.by_alarm.get_mut(&i) else {
            return true;
        };
        prune(times, now - cfg.chatter_window);
        times.is_empty()
    }
}

fn prune(times: &mut VecDeque<DateTime<Utc>>, before: DateTime<Utc>) {
    while times.front().is_some_and(|at| *at <= before) {
        times.pop_front();
    }
}

impl AlarmEngine {
    /// Chattering alarms that stayed quiet for a whole window settle; the event carries
    /// the state they settled in, since their flips were not published one by one.
    pub(super) fn settle_chattering(&mut self, now: DateTime<Utc>, out: &mut Vec<AlarmEvent>) {
        for i in 0..self.alarms.len() {
            if self.alarms[i].chattering && self.chatter.quiet(i, now, &self.config) {
                let alarm = &mut self.alarms[i];
                alarm.chattering = false;
                out.push(alarm.event(Transition::ChatteringEnded, now));
            }
        }
    }

    /// Alarm-load figures at `now`, for `/metrics`.
    pub fn stats(&self, now: DateTime<Utc>) -> AlarmStats {
        let (in_flood, flood_seconds_total) = self.flood.flood_time(now, &self.config);
        let count =
            |f: &dyn Fn(&super::Alarm) -> bool| self.alarms.iter().filter(|a| f(a)).count() as u32;
        let standing_since = now - self.config.standing_after;
        AlarmStats {
            raised_in_window: self.flood.in_window(now, &self.config),
            raised_total: self.flood.raised_total,
            in_flood,
            flood_seconds_total,
            chattering: count(&|a| a.chattering),
            stale: count(&|a| {
                a.state != AlarmState::Normal && a.raised_at.is_some_and(|t| t <= standing_since)
            }),
            shelved: count(&|a| a.shelved.is_some()),
            suppressed: count(&|a| a.suppressed.is_some()),
            out_of_service: count(&|a| a.out_of_service.is_some()),
            counts: self.state_counts(),
        }
    }

    fn state_counts(&self) -> Vec<StateCount> {
        let mut counts: Vec<StateCount> = Priority::ALL
            .iter()
            .flat_map(|p| AlarmState::STANDING.iter().map(move |s| (*p, *s)))
            .map(|(priority, state)| StateCount {
                priority,
                state,
                count: 0,
            })
            .collect();
        for alarm in self.alarms.iter().filter(|a| a.state != AlarmState::Normal) {
            if let Some(c) = counts
                .iter_mut()
                .find(|c| c.priority == alarm.priority && c.state == alarm.state)
            {
                c.count += 1;
            }
        }
        counts
    }
}
