//! The daily patrol report (巡楼报告, 000:143, 000:177): tours completed, checkpoints missed
//! or late, findings, per guard and per route, and the patrols-on-time figure (003:525).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::book::PatrolBook;
use super::findings::Finding;
use super::tours::{Tour, TourId, TourStatus};

/// A checkpoint of a tour that was missed or late.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopMark {
    /// Tour id.
    pub tour: TourId,
    /// Route id.
    pub route: String,
    /// Checkpoint id.
    pub checkpoint: String,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    /// When it was done, if it was.
    pub done_at: Option<DateTime<Utc>>,
}

/// One route's day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteFigures {
    /// Tours scheduled.
    pub planned: usize,
    /// Tours with every checkpoint done.
    pub completed: usize,
    /// Completed tours started in the window with nothing late.
    pub on_time: usize,
    /// Tours closed with checkpoints missed.
    pub incomplete: usize,
    /// Checkpoints missed.
    pub missed_checkpoints: usize,
    /// Checkpoints done late.
    pub late_checkpoints: usize,
}

/// One guard's day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardFigures {
    /// Tours the guard scanned on.
    pub tours: usize,
    /// Valid checkpoint scans.
    pub scans: usize,
    /// Of those, scans after the checkpoint's due time.
    pub late_scans: usize,
    /// Findings recorded.
    pub findings: usize,
}

/// The report for one local date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatrolReport {
    /// The local date.
    pub date: NaiveDate,
    /// Tours scheduled to start that day.
    pub planned: usize,
    /// Tours completed.
    pub completed: usize,
    /// Tours completed on time.
    pub on_time: usize,
    /// Tours closed incomplete.
    pub incomplete: usize,
    /// On-time tours over closed tours; `None` when no tour has closed.
    pub on_time_ratio: Option<f64>,
    /// Checkpoints missed.
    pub missed: Vec<StopMark>,
    /// Checkpoints done late.
    pub late: Vec<StopMark>,
    /// Findings of the day.
    pub findings: Vec<Finding>,
    /// Figures per route.
    pub per_route: BTreeMap<String, RouteFigures>,
    /// Figures per guard.
    pub per_guard: BTreeMap<String, GuardFigures>,
}

/// Builds the report for `date` (site time) from tours and findings the caller holds.
pub fn daily_report(date: NaiveDate, tz: Tz, tours: &[Tour], findings: &[Finding]) -> PatrolReport {
    let on_date = |at: DateTime<Utc>| at.with_timezone(&tz).date_naive() == date;
    let tours: Vec<&Tour> = tours
        .iter()
        .filter(|t| on_date(t.scheduled_start))
        .collect();
    let findings: Vec<Finding> = findings.iter().filter(|f| on_date(f.at)).cloned().collect();
    let mut report = PatrolReport {
        date,
        planned: tours.len(),
        completed: count(&tours, |t| t.status == TourStatus::Completed),
        on_time: count(&tours, |t| t.on_time()),
        incomplete: count(&tours, |t| t.status == TourStatus::Incomplete),
        on_time_ratio: None,
        missed: tours
            .iter()
            .flat_map(|t| marks(t, |t, i| t.stops[i].missed))
            .collect(),
        late: tours.iter().flat_map(|t| marks(t, Tour::is_late)).collect(),
        findings: Vec::new(),
        per_route: BTreeMap::new(),
        per_guard: BTreeMap::new(),
    };
    let closed = report.completed + report.incomplete;
    report.on_time_ratio = (closed > 0).then(|| report.on_time as f64 / closed as f64);
    for tour in &tours {
        add_route(
            report.per_route.entry(tour.route.clone()).or_default(),
            tour,
        );
        add_guards(&mut report.per_guard, tour);
    }
    for f in &findings {
        report
            .per_guard
            .entry(f.guard.clone())
            .or_default()
            .findings += 1;
    }
    report.findings = findings;
    report
}

impl PatrolBook {
    /// The report for `date` from the tours and findings the book still holds
    /// (`keep_closed_hours`); older days come from the caller's store via [`daily_report`].
    pub fn daily_report(&self, date: NaiveDate) -> PatrolReport {
        let tours: Vec<Tour> = self.state.tours.values().cloned().collect();
        daily_report(date, self.tz, &tours, &self.state.findings)
    }
}

fn count(tours: &[&Tour], pred: impl Fn(&Tour) -> bool) -> usize {
    tours.iter().filter(|t| pred(t)).count()
}

fn marks(tour: &Tour, pick: impl Fn(&Tour, usize) -> bool) -> Vec<StopMark> {
    (0..tour.stops.len())
        .filter(|&i| pick(tour, i))
        .filter_map(|i| {
            let stop = tour.stops.get(i)?;
            Some(StopMark {
                tour: tour.id.clone(),
                route: tour.route.clone(),
                checkpoint: stop.checkpoint.clone(),
                due_at: tour.due_at(i),
                done_at: stop.done_at,
            })
        })
        .collect()
}

fn add_route(fig: &mut RouteFigures, tour: &Tour) {
    fig.planned += 1;
    fig.completed += usize::from(tour.status == TourStatus::Completed);
    fig.on_time += usize::from(tour.on_time());
    fig.incomplete += usize::from(tour.status == TourStatus::Incomplete);
    fig.missed_checkpoints += tour.stops.iter().filter(|s| s.missed).count();
    fig.late_checkpoints += (0..tour.stops.len()).filter(|&i| tour.is_late(i)).count();
}

fn add_guards(per_guard: &mut BTreeMap<String, GuardFigures>, tour: &Tour) {
    for guard in &tour.guards {
        per_guard.entry(guard.clone()).or_default().tours += 1;
    }
    for (i, stop) in tour.stops.iter().enumerate() {
        let due = tour.due_at(i);
        for scan in &stop.scans {
            let fig = per_guard.entry(scan.guard.clone()).or_default();
            fig.scans += 1;
            fig.late_scans += usize::from(scan.at > due);
        }
    }
}
