//! The maintenance book's commands (rules.md §13.13): tasks and pump sets put (the API, a
//! CSV import), a task done with its running data, a switch-over recorded by hand for a
//! pair whose pumps are not read. A pair's run points must be points the site reads.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::compliance::site_day;
use sitewatch_core::maintenance::{
    MaintenanceError, MaintenanceEvent, MaintenanceTask, PumpSet, RunningData,
};

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle, Output};

/// A change to the maintenance book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceCmd {
    /// Tasks added or replaced, all in one step.
    PutTasks(Vec<MaintenanceTask>),
    /// Pump sets added or replaced, all in one step.
    PutPumpSets(Vec<PumpSet>),
    /// A task done.
    Done {
        /// The task.
        task: String,
        /// The site-local day.
        on: NaiveDate,
        /// Who did it.
        by: String,
        /// The running data read then.
        running: RunningData,
    },
    /// A switch-over recorded by hand.
    SwitchOver {
        /// The pump set.
        set: String,
        /// When duty passed.
        at: DateTime<Utc>,
        /// Who records it.
        by: String,
    },
}

pub(super) fn command(books: &mut Books, cmd: MaintenanceCmd, now: DateTime<Utc>) -> Handled {
    let ev = match cmd {
        MaintenanceCmd::PutTasks(tasks) => books.maintenance.put_tasks(tasks),
        MaintenanceCmd::PutPumpSets(sets) => {
            check_points(books, &sets)?;
            books.maintenance.put_pump_sets(sets)
        }
        MaintenanceCmd::Done {
            task,
            on,
            by,
            running,
        } => {
            let today = site_day(now, books.tz);
            (books.maintenance).done(&task, on, &by, running, today, now)?
        }
        MaintenanceCmd::SwitchOver { set, at, by } => {
            books.maintenance.record_switch_over(&set, at, &by, now)?
        }
    };
    let out = vec![Output::Maintenance(Box::new(ev.clone()))];
    Ok((Answer::Maintenance(Box::new(ev)), out))
}

/// Every run point named must be one the hub holds, or the pair would never switch.
fn check_points(books: &Books, sets: &[PumpSet]) -> Result<(), MaintenanceError> {
    for set in sets {
        for point in [&set.run_a, &set.run_b].into_iter().flatten() {
            if books.hub.point(point).is_none() {
                return Err(MaintenanceError::UnknownPoint {
                    set: set.id.clone(),
                    point: point.clone(),
                });
            }
        }
    }
    Ok(())
}

impl EngineHandle {
    /// A maintenance step; what it did.
    pub async fn maintenance(&self, cmd: MaintenanceCmd) -> Result<MaintenanceEvent, CommandError> {
        match self.command(EngineCommand::Maintenance(cmd)).await? {
            Answer::Maintenance(ev) => Ok(*ev),
            _ => Err(CommandError::Mismatch),
        }
    }
}
