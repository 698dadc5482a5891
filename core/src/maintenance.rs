//! Pump and plant maintenance (rules.md §13.13, seed 001:849): per duty/standby pump set the
//! last switch-over, derived from the two pumps' run-state points where the site names
//! them, else recorded by hand; and maintenance tasks (control circuits monthly,
//! lubrication quarterly, drive train yearly, overhaul every 2 years) with their due date,
//! each done moving the date on by its interval and kept with the running data read then.
//! A task is due within [`DUE_SOON_DAYS`] of its date and overdue the day after it. Dates
//! are site-local days; pure: every function takes `now` or the day.

use std::collections::BTreeMap;

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Days ahead of its date a task shows on the duty board (product choice: a week, so a
/// monthly task is not always "due").
pub const DUE_SOON_DAYS: i64 = 7;

/// What a task is; the first four are §13.13's, each with its interval.
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
pub enum TaskKind {
    /// Control circuits, monthly.
    ControlCircuits,
    /// Lubrication, quarterly.
    Lubrication,
    /// Drive-train service, yearly.
    DriveTrain,
    /// Overhaul, every 2 years.
    Overhaul,
    /// Any other plant task (its interval given).
    Other,
}

impl TaskKind {
    /// Every kind, in a stable order.
    pub const ALL: [TaskKind; 5] = [
        TaskKind::ControlCircuits,
        TaskKind::Lubrication,
        TaskKind::DriveTrain,
        TaskKind::Overhaul,
        TaskKind::Other,
    ];

    /// The name in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::ControlCircuits => "control_circuits",
            TaskKind::Lubrication => "lubrication",
            TaskKind::DriveTrain => "drive_train",
            TaskKind::Overhaul => "overhaul",
            TaskKind::Other => "other",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// §13.13's interval in months; `None` for `other`, which must give its own.
    pub fn default_months(self) -> Option<u32> {
        match self {
            TaskKind::ControlCircuits => Some(1),
            TaskKind::Lubrication => Some(3),
            TaskKind::DriveTrain => Some(12),
            TaskKind::Overhaul => Some(24),
            TaskKind::Other => None,
        }
    }
}

/// One maintenance task of one piece of plant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MaintenanceTask {
    /// Stable id (`P1-lube`).
    pub id: String,
    /// The plant it is for (a pump set's id, or any plant tag).
    pub equipment: String,
    /// What it is.
    pub kind: TaskKind,
    /// Plain name.
    pub name: String,
    /// Months between two doings.
    pub interval_months: u32,
    /// Last done, site-local day.
    pub last_done: Option<NaiveDate>,
    /// Next due, site-local day.
    pub next_due: NaiveDate,
}

/// Where a task stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Not due within [`DUE_SOON_DAYS`].
    Ok,
    /// Due within [`DUE_SOON_DAYS`].
    DueSoon,
    /// Past its date (on the duty board, counted).
    Overdue,
}

impl MaintenanceTask {
    /// Where the task stands on `today`.
    pub fn state(&self, today: NaiveDate) -> TaskState {
        if today > self.next_due {
            TaskState::Overdue
        } else if (self.next_due - today).num_days() <= DUE_SOON_DAYS {
            TaskState::DueSoon
        } else {
            TaskState::Ok
        }
    }

    /// The day one interval after `on`.
    pub fn after(&self, on: NaiveDate) -> NaiveDate {
        on.checked_add_months(Months::new(self.interval_months))
            .unwrap_or(NaiveDate::MAX)
    }
}

/// The running data read at a check (§13.13: pressure, current, hours).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunningData {
    /// Outlet pressure, bar.
    #[serde(default)]
    pub pressure_bar: Option<f64>,
    /// Motor current, A.
    #[serde(default)]
    pub current_a: Option<f64>,
    /// Running hours on the counter.
    #[serde(default)]
    pub hours: Option<f64>,
}

/// A task done, as kept for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskDone {
    /// The task.
    pub task: String,
    /// The site-local day it was done.
    pub on: NaiveDate,
    /// Who did it.
    pub by: String,
    /// The running data read then.
    pub running: RunningData,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// A duty/standby pump pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PumpSet {
    /// Stable id (`B1-domestic`).
    pub id: String,
    /// Plain name.
    pub name: String,
    /// Pump A's run-state point, if the plant is read.
    #[serde(default)]
    pub run_a: Option<String>,
    /// Pump B's run-state point.
    #[serde(default)]
    pub run_b: Option<String>,
    /// When duty last passed from one pump to the other.
    #[serde(default)]
    pub last_switch_over: Option<DateTime<Utc>>,
    /// Which pump (`a` or `b`) ran alone last, as the points showed.
    #[serde(default)]
    pub runner: Option<Pump>,
}

/// One pump of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pump {
    /// The set's `run_a` pump.
    A,
    /// The set's `run_b` pump.
    B,
}

impl PumpSet {
    /// Whether the switch-over comes from the points (else it is recorded by hand).
    pub fn derived(&self) -> bool {
        self.run_a.is_some() && self.run_b.is_some()
    }
}

/// Why a maintenance step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaintenanceError {
    /// No task with this id.
    #[error("unknown maintenance task `{0}`")]
    UnknownTask(String),
    /// No pump set with this id.
    #[error("unknown pump set `{0}`")]
    UnknownPumpSet(String),
    /// The set's switch-over comes from its points.
    #[error("pump set `{0}` reads its switch-over from its run points")]
    Derived(String),
    /// A day after today.
    #[error("`{0}` is in the future")]
    Future(String),
    /// A run point the site does not read.
    #[error("pump set `{set}`: no point `{point}`")]
    UnknownPoint {
        /// The set.
        set: String,
        /// The point named.
        point: String,
    },
}

/// A change the book made, for the journal and the live view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MaintenanceEvent {
    /// Tasks added or replaced.
    TasksPut {
        /// Their ids.
        tasks: Vec<String>,
    },
    /// Pump sets added or replaced.
    PumpSetsPut {
        /// Their ids.
        sets: Vec<String>,
    },
    /// A task done.
    TaskDone {
        /// The record kept.
        done: TaskDone,
        /// The task's next date.
        next_due: NaiveDate,
    },
    /// Duty passed to the other pump of a set.
    SwitchedOver {
        /// The set.
        set: String,
        /// When.
        at: DateTime<Utc>,
        /// Who recorded it; `None` when read from the points.
        by: Option<String>,
    },
}

/// The book: tasks and pump sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceBook {
    tasks: BTreeMap<String, MaintenanceTask>,
    pump_sets: BTreeMap<String, PumpSet>,
}

impl MaintenanceBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every task, by id.
    pub fn tasks(&self) -> impl Iterator<Item = &MaintenanceTask> {
        self.tasks.values()
    }

    /// Every pump set, by id.
    pub fn pump_sets(&self) -> impl Iterator<Item = &PumpSet> {
        self.pump_sets.values()
    }

    /// Adds or replaces tasks.
    pub fn put_tasks(&mut self, tasks: Vec<MaintenanceTask>) -> MaintenanceEvent {
        let ids = tasks.iter().map(|t| t.id.clone()).collect();
        for t in tasks {
            self.tasks.insert(t.id.clone(), t);
        }
        MaintenanceEvent::TasksPut { tasks: ids }
    }

    /// Adds or replaces pump sets; a set keeps its last switch-over (and, while its points
    /// stay the same, which pump ran).
    pub fn put_pump_sets(&mut self, sets: Vec<PumpSet>) -> MaintenanceEvent {
        let ids = sets.iter().map(|s| s.id.clone()).collect();
        for mut set in sets {
            if let Some(old) = self.pump_sets.get(&set.id) {
                set.last_switch_over = set.last_switch_over.or(old.last_switch_over);
                if (&old.run_a, &old.run_b) == (&set.run_a, &set.run_b) {
                    set.runner = old.runner;
                }
            }
            self.pump_sets.insert(set.id.clone(), set);
        }
        MaintenanceEvent::PumpSetsPut { sets: ids }
    }

    /// A task done on `on` (not after `today`): the next is due one interval later.
    pub fn done(
        &mut self,
        id: &str,
        on: NaiveDate,
        by: &str,
        running: RunningData,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceEvent, MaintenanceError> {
        if on > today {
            return Err(MaintenanceError::Future(on.to_string()));
        }
        let task = self
            .tasks
            .get_mut(id)
            .ok_or_else(|| MaintenanceError::UnknownTask(id.to_owned()))?;
        task.last_done = Some(on);
        task.next_due = task.after(on);
        Ok(MaintenanceEvent::TaskDone {
            done: TaskDone {
                task: id.to_owned(),
                on,
                by: by.to_owned(),
                running,
                at: now,
            },
            next_due: task.next_due,
        })
    }

    /// A switch-over recorded by hand, for a set whose pumps are not read.
    pub fn record_switch_over(
        &mut self,
        id: &str,
        at: DateTime<Utc>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceEvent, MaintenanceError> {
        let set = self
            .pump_sets
            .get_mut(id)
            .ok_or_else(|| MaintenanceError::UnknownPumpSet(id.to_owned()))?;
        if set.derived() {
            return Err(MaintenanceError::Derived(id.to_owned()));
        }
        if at > now {
            return Err(MaintenanceError::Future(at.to_string()));
        }
        set.last_switch_over = Some(at);
        Ok(MaintenanceEvent::SwitchedOver {
            set: id.to_owned(),
            at,
            by: Some(by.to_owned()),
        })
    }

    /// Reads each read set's pumps (`on` answers whether a point shows running, `None`
    /// when unread): when the one pump running alone changes, duty switched over now. Both
    /// running or both stopped says nothing about duty. The first pump seen running is
    /// not a switch-over (what ran before is not known).
    pub fn observe(
        &mut self,
        on: impl Fn(&str) -> Option<bool>,
        now: DateTime<Utc>,
    ) -> Vec<MaintenanceEvent> {
        let mut out = Vec::new();
        for set in self.pump_sets.values_mut() {
            let (Some(a), Some(b)) = (set.run_a.as_deref(), set.run_b.as_deref()) else {
                continue;
            };
            let runner = match (on(a), on(b)) {
                (Some(true), Some(false)) => Pump::A,
                (Some(false), Some(true)) => Pump::B,
                _ => continue,
            };
            match set.runner.replace(runner) {
                Some(before) if before != runner => {
                    set.last_switch_over = Some(now);
                    out.push(MaintenanceEvent::SwitchedOver {
                        set: set.id.clone(),
                        at: now,
                        by: None,
                    });
                }
                Some(_) => {}
                // Known from now on; kept with the book so a restart does not lose it.
                None => out.push(MaintenanceEvent::PumpSetsPut {
                    sets: vec![set.id.clone()],
                }),
            }
        }
        out
    }

    /// How many tasks stand in `state` on `today`.
    pub fn count(&self, state: TaskState, today: NaiveDate) -> usize {
        self.tasks
            .values()
            .filter(|t| t.state(today) == state)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::compliance::site_day;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn lube(next_due: NaiveDate) -> MaintenanceTask {
        MaintenanceTask {
            id: "P1-lube".into(),
            equipment: "B1-domestic".into(),
            kind: TaskKind::Lubrication,
            name: "Lubricate bearings".into(),
            interval_months: 3,
            last_done: None,
            next_due,
        }
    }

    #[test]
    fn a_task_is_overdue_the_day_after_its_date_and_done_moves_it_by_its_months() {
        // rules.md §13.13: lubrication quarterly; overdue shows on the board.
        let tz: chrono_tz::Tz = "Asia/Shanghai".parse().expect("zone");
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 30, 15, 59, 0).unwrap());
        let mut book = MaintenanceBook::new();
        book.put_tasks(vec![lube(day(2026, 11, 30))]);
        let today = || site_day(clock.now(), tz);
        assert_eq!(book.count(TaskState::DueSoon, today()), 1);
        clock.advance(Duration::minutes(1));
        assert_eq!(today(), day(2026, 12, 1));
        assert_eq!(book.count(TaskState::Overdue, today()), 1);
        let running = RunningData {
            pressure_bar: Some(4.2),
            current_a: Some(11.5),
            hours: Some(10_230.0),
        };
        let ev = book
            .done(
                "P1-lube",
                today(),
                "eng-zhao",
                running.clone(),
                today(),
                clock.now(),
            )
            .expect("known");
        let MaintenanceEvent::TaskDone { done, next_due } = ev else {
            panic!("{ev:?}");
        };
        assert_eq!((done.running, next_due), (running, day(2027, 3, 1)));
        assert_eq!(book.count(TaskState::Overdue, today()), 0);
        assert_eq!(book.count(TaskState::Ok, today()), 1);
        assert_eq!(
            book.done(
                "P1-lube",
                day(2026, 12, 2),
                "x",
                RunningData::default(),
                today(),
                clock.now()
            ),
            Err(MaintenanceError::Future("2026-12-02".into()))
        );
        assert_eq!(TaskKind::Overhaul.default_months(), Some(24));
        assert_eq!(TaskKind::ControlCircuits.default_months(), Some(1));
    }

    #[test]
    fn the_last_switch_over_is_read_from_the_pair_s_run_points() {
        // rules.md §13.13: per duty/standby pair, the last switch-over is shown.
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        let mut book = MaintenanceBook::new();
        book.put_pump_sets(vec![PumpSet {
            id: "B1".into(),
            name: "B1 domestic water".into(),
            run_a: Some("p1.running".into()),
            run_b: Some("p2.running".into()),
            last_switch_over: None,
            runner: None,
        }]);
        let values = std::cell::RefCell::new((Some(true), Some(false)));
        let on = |p: &str| {
            let v = *values.borrow();
            if p == "p1.running" { v.0 } else { v.1 }
        };
        let first = book.observe(on, clock.now());
        assert!(matches!(first[..], [MaintenanceEvent::PumpSetsPut { .. }]));
        assert_eq!(
            book.pump_sets().next().and_then(|s| s.last_switch_over),
            None
        );
        clock.advance(Duration::hours(1));
        *values.borrow_mut() = (Some(true), Some(true));
        assert!(
            book.observe(on, clock.now()).is_empty(),
            "both running: no news"
        );
        clock.advance(Duration::hours(1));
        *values.borrow_mut() = (Some(false), Some(true));
        let ev = book.observe(on, clock.now());
        assert!(matches!(
            &ev[..],
            [MaintenanceEvent::SwitchedOver { by: None, .. }]
        ));
        assert_eq!(
            book.pump_sets().next().and_then(|s| s.last_switch_over),
            Some(clock.now())
        );
        assert_eq!(
            book.record_switch_over("B1", clock.now(), "x", clock.now()),
            Err(MaintenanceError::Derived("B1".into())),
            "a read pair is not recorded by hand"
        );
    }
}
