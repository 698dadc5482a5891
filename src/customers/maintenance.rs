//! Plant maintenance from a spreadsheet's CSV (rules.md §13.13): the tasks (`id, equipment,
//! kind, name` and `interval_months, last_done, next_due`; a §13.13 kind takes its interval
//! by default: control circuits 1 month, lubrication 3, drive train 12, overhaul 24) and
//! the pump sets (`id, name` and `run_a, run_b`, the pumps' run-state points). All or
//! nothing, bad lines named.

use sitewatch_core::maintenance::{MaintenanceTask, PumpSet, TaskKind};

use super::RowProblem;
use super::sheet::{Cells, Sheet, count, day, get, required};

const TASK_COLUMNS: [&str; 7] = [
    "id",
    "equipment",
    "kind",
    "name",
    "interval_months",
    "last_done",
    "next_due",
];
const TASK_REQUIRED: [&str; 4] = ["id", "equipment", "kind", "name"];
const SET_COLUMNS: [&str; 4] = ["id", "name", "run_a", "run_b"];
const SET_REQUIRED: [&str; 2] = ["id", "name"];

/// Parses and checks a file of tasks.
pub fn parse_tasks(text: &str) -> Result<Vec<MaintenanceTask>, Vec<RowProblem>> {
    Sheet {
        columns: &TASK_COLUMNS,
        required: &TASK_REQUIRED,
        row: task,
        id: |t: &MaintenanceTask| &t.id,
    }
    .parse(text)
}

/// Parses and checks a file of pump sets.
pub fn parse_pump_sets(text: &str) -> Result<Vec<PumpSet>, Vec<RowProblem>> {
    Sheet {
        columns: &SET_COLUMNS,
        required: &SET_REQUIRED,
        row: pump_set,
        id: |s: &PumpSet| &s.id,
    }
    .parse(text)
}

fn task(cells: &Cells) -> Result<MaintenanceTask, String> {
    let kind = required(cells, "kind")?;
    let kind = TaskKind::parse(&kind).ok_or_else(|| {
        let known: Vec<&str> = TaskKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind `{kind}` (one of {})", known.join(", "))
    })?;
    let interval_months = match count(cells, "interval_months", "months")? {
        Some(n) => n,
        None => kind
            .default_months()
            .ok_or("an `other` task gives its `interval_months`")?,
    };
    let mut t = MaintenanceTask {
        id: required(cells, "id")?,
        equipment: required(cells, "equipment")?,
        kind,
        name: required(cells, "name")?,
        interval_months,
        last_done: day(cells, "last_done")?,
        next_due: chrono::NaiveDate::MIN,
    };
    t.next_due = match (day(cells, "next_due")?, t.last_done) {
        (Some(d), _) => d,
        (None, Some(last)) => t.after(last),
        (None, None) => return Err("give `next_due` or `last_done`".into()),
    };
    Ok(t)
}

fn pump_set(cells: &Cells) -> Result<PumpSet, String> {
    let point = |c: &str| Some(get(cells, c).to_owned()).filter(|p| !p.is_empty());
    let (run_a, run_b) = (point("run_a"), point("run_b"));
    if run_a.is_some() != run_b.is_some() {
        return Err("give both `run_a` and `run_b`, or neither".into());
    }
    Ok(PumpSet {
        id: required(cells, "id")?,
        name: required(cells, "name")?,
        run_a,
        run_b,
        last_switch_over: None,
        runner: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_takes_its_kind_s_interval_and_a_bad_line_is_named() {
        let good = "id,equipment,kind,name,last_done\n\
                    P1-ctl,B1,control_circuits,Control circuits,2026-11-15\n\
                    P1-ovh,B1,overhaul,Overhaul,2025-06-30\n";
        let tasks = parse_tasks(good).expect("good");
        let due: Vec<String> = tasks.iter().map(|t| t.next_due.to_string()).collect();
        assert_eq!(due, ["2026-12-15", "2027-06-30"]);
        let bad = "id,equipment,kind,name,last_done\n\
                   P1-x,B1,other,Paint,2026-01-01\n";
        let problems = parse_tasks(bad).expect_err("no interval");
        assert_eq!(problems[0].line, 2, "{problems:?}");
    }
}
