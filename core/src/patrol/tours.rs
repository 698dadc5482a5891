//! Tours: one walk of a route, planned from a schedule, with its start window, checkpoint
//! due times and deadline (rules.md §14), and what is done, late, missed and next.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::config::{Route, Windows};
use super::events::PatrolEvent;

/// A tour's id: `{route}@{scheduled start, RFC 3339 UTC}`, so planning twice is harmless.
pub type TourId = String;

/// Where a tour stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TourStatus {
    /// Planned; its start time has not come.
    Planned,
    /// Its start time has come; no valid scan yet.
    Open,
    /// At least one valid scan.
    InProgress,
    /// Every checkpoint done.
    Completed,
    /// The deadline passed with checkpoints missing.
    Incomplete,
}

impl TourStatus {
    /// Whether the tour is over.
    pub fn is_closed(self) -> bool {
        matches!(self, TourStatus::Completed | TourStatus::Incomplete)
    }
}

/// One guard's valid scan of a stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopScan {
    /// Guard id.
    pub guard: String,
    /// When the scan was made.
    pub at: DateTime<Utc>,
}

/// One checkpoint of a tour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    /// Checkpoint id.
    pub checkpoint: String,
    /// Minutes after the tour start the guard is expected here.
    pub offset_minutes: u32,
    /// Valid scans, one per guard.
    pub scans: Vec<StopScan>,
    /// When the stop counted as done (the second guard's scan on a two-guard tour).
    pub done_at: Option<DateTime<Utc>>,
    /// Whether its overdue notice went out.
    pub overdue_reported: bool,
    /// Whether it was declared missed at the tour deadline.
    pub missed: bool,
}

/// One walk of a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tour {
    /// Stable id.
    pub id: TourId,
    /// Route id.
    pub route: String,
    /// When it should start.
    pub scheduled_start: DateTime<Utc>,
    /// The latest start that counts as on time (§14: 15 min late).
    pub latest_start: DateTime<Utc>,
    /// Grace after each stop's expected time, seconds (§14: 10 min).
    pub grace_seconds: i64,
    /// Whether stops must be scanned in order.
    pub ordered: bool,
    /// Whether each stop needs two different guards.
    pub two_guards: bool,
    /// The stops in route order.
    pub stops: Vec<Stop>,
    /// First valid scan.
    pub started_at: Option<DateTime<Utc>>,
    /// Guards who made valid scans.
    pub guards: BTreeSet<String>,
    /// Where it stands.
    pub status: TourStatus,
    /// Whether the missed-start notice went out.
    pub start_missed: bool,
}

impl Tour {
    /// Plans a tour of `route` starting at `start`.
    pub fn plan(route: &Route, start: DateTime<Utc>, windows: &Windows, two_guards: bool) -> Self {
        let stops = route
            .checkpoints
            .iter()
            .map(|s| Stop {
                checkpoint: s.checkpoint.clone(),
                offset_minutes: s.offset_minutes,
                scans: Vec::new(),
                done_at: None,
                overdue_reported: false,
                missed: false,
            })
            .collect();
        Self {
            id: format!("{}@{}", route.id, start.to_rfc3339()),
            route: route.id.clone(),
            scheduled_start: start,
            latest_start: start + windows.start_late,
            grace_seconds: windows.grace.num_seconds(),
            ordered: route.ordered,
            two_guards,
            stops,
            started_at: None,
            guards: BTreeSet::new(),
            status: TourStatus::Planned,
            start_missed: false,
        }
    }

    /// The start the due times run from: the actual start, but never later than the latest
    /// allowed start, so a late or absent guard does not push the deadlines back.
    pub fn anchor(&self) -> DateTime<Utc> {
        self.started_at
            .map_or(self.latest_start, |s| s.min(self.latest_start))
    }

    /// When stop `i` is due; after this a scan of it is late.
    pub fn due_at(&self, i: usize) -> DateTime<Utc> {
        let offset = self.stops.get(i).map_or(0, |s| s.offset_minutes);
        self.anchor() + Duration::minutes(i64::from(offset)) + Duration::seconds(self.grace_seconds)
    }

    /// The tour deadline: the last stop's due time. A stop not done by then is missed.
    pub fn deadline(&self) -> DateTime<Utc> {
        let last = self
            .stops
            .iter()
            .map(|s| s.offset_minutes)
            .max()
            .unwrap_or(0);
        self.anchor() + Duration::minutes(i64::from(last)) + Duration::seconds(self.grace_seconds)
    }

    /// Index of the stop for `checkpoint`.
    pub fn stop_index(&self, checkpoint: &str) -> Option<usize> {
        self.stops.iter().position(|s| s.checkpoint == checkpoint)
    }

    /// The next stop to walk: the first one not done.
    pub fn next_stop(&self) -> Option<usize> {
        self.stops.iter().position(|s| s.done_at.is_none())
    }

    /// Whether stop `i` was done after its due time.
    pub fn is_late(&self, i: usize) -> bool {
        let done = self.stops.get(i).and_then(|s| s.done_at);
        done.is_some_and(|at| at > self.due_at(i))
    }

    /// Completed, started in the start window and no stop late: counts for the KPI
    /// "patrols on time" (003:525).
    pub fn on_time(&self) -> bool {
        self.status == TourStatus::Completed
            && self.started_at.is_some_and(|s| s <= self.latest_start)
            && (0..self.stops.len()).all(|i| !self.is_late(i))
    }

    /// Whether `at` falls in the tour's scanning window, from the scheduled start to the
    /// deadline.
    pub fn window_contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.scheduled_start && at <= self.deadline()
    }

    /// Records a valid scan of stop `i`; returns whether the stop became done now.
    pub(crate) fn record(&mut self, i: usize, guard: &str, at: DateTime<Utc>) -> bool {
        let needed = if self.two_guards { 2 } else { 1 };
        self.started_at = Some(self.started_at.map_or(at, |s| s.min(at)));
        self.guards.insert(guard.to_owned());
        let Some(stop) = self.stops.get_mut(i) else {
            return false;
        };
        if stop.done_at.is_some() || stop.scans.iter().any(|s| s.guard == guard) {
            return false;
        }
        stop.scans.push(StopScan {
            guard: guard.to_owned(),
            at,
        });
        if stop.scans.len() >= needed {
            stop.done_at = Some(at);
            return true;
        }
        false
    }

    /// Moves the tour along the clock: opens it, notes a missed start, overdue stops and,
    /// after the deadline, missed stops. Each notice goes out once.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<PatrolEvent> {
        let mut out = Vec::new();
        if self.status.is_closed() {
            return out;
        }
        if self.status == TourStatus::Planned && now >= self.scheduled_start {
            self.status = TourStatus::Open;
            out.push(PatrolEvent::TourOpened {
                tour: self.id.clone(),
                route: self.route.clone(),
                latest_start: self.latest_start,
            });
        }
        if self.started_at.is_none() && now > self.latest_start && !self.start_missed {
            self.start_missed = true;
            out.push(PatrolEvent::TourStartMissed {
                tour: self.id.clone(),
                route: self.route.clone(),
                latest_start: self.latest_start,
            });
        }
        out.extend(self.overdue_stops(now));
        if now > self.deadline() {
            out.extend(self.close_incomplete());
        }
        out
    }

    fn overdue_stops(&mut self, now: DateTime<Utc>) -> Vec<PatrolEvent> {
        let due: Vec<DateTime<Utc>> = (0..self.stops.len()).map(|i| self.due_at(i)).collect();
        let mut out = Vec::new();
        for (stop, due_at) in self.stops.iter_mut().zip(due) {
            if stop.done_at.is_none() && !stop.overdue_reported && now > due_at {
                stop.overdue_reported = true;
                out.push(PatrolEvent::CheckpointOverdue {
                    tour: self.id.clone(),
                    route: self.route.clone(),
                    checkpoint: stop.checkpoint.clone(),
                    due_at,
                });
            }
        }
        out
    }

    fn close_incomplete(&mut self) -> Vec<PatrolEvent> {
        let deadline = self.deadline();
        let mut out = Vec::new();
        for stop in self.stops.iter_mut().filter(|s| s.done_at.is_none()) {
            stop.missed = true;
            out.push(PatrolEvent::CheckpointMissed {
                tour: self.id.clone(),
                route: self.route.clone(),
                checkpoint: stop.checkpoint.clone(),
                deadline,
            });
        }
        self.status = if out.is_empty() {
            TourStatus::Completed
        } else {
            TourStatus::Incomplete
        };
        out.push(self.closed_event());
        out
    }

    /// The event that reports this tour closed, with a snapshot for the caller to store.
    pub(crate) fn closed_event(&self) -> PatrolEvent {
        if self.status == TourStatus::Completed {
            PatrolEvent::TourCompleted {
                on_time: self.on_time(),
                tour: Box::new(self.clone()),
            }
        } else {
            PatrolEvent::TourIncomplete {
                tour: Box::new(self.clone()),
            }
        }
    }

    /// What the guard's phone shows.
    pub fn progress(&self) -> TourProgress {
        let next = self.next_stop();
        TourProgress {
            tour: self.id.clone(),
            route: self.route.clone(),
            status: self.status,
            done: self.stops.iter().filter(|s| s.done_at.is_some()).count(),
            total: self.stops.len(),
            next: next
                .and_then(|i| self.stops.get(i))
                .map(|s| s.checkpoint.clone()),
            next_due_at: next.map(|i| self.due_at(i)),
            waiting_for_second_guard: next
                .and_then(|i| self.stops.get(i))
                .is_some_and(|s| self.two_guards && s.scans.len() == 1),
            deadline: self.deadline(),
        }
    }
}

/// A summary of a tour for the guard page and the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TourProgress {
    /// Tour id.
    pub tour: TourId,
    /// Route id.
    pub route: String,
    /// Where it stands.
    pub status: TourStatus,
    /// Stops done.
    pub done: usize,
    /// Stops in the route.
    pub total: usize,
    /// The next checkpoint to walk to.
    pub next: Option<String>,
    /// When that checkpoint is due.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Whether the next checkpoint has one guard's scan and needs a second guard.
    pub waiting_for_second_guard: bool,
    /// The tour deadline.
    pub deadline: DateTime<Utc>,
}
