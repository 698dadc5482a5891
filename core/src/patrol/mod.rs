//! Guard patrols on NFC checkpoints (issue 6; rules.md §5, §13.20–21, §14): routes of
//! checkpoints, schedules in site time, tours with start windows and deadlines, scan
//! validation, findings and the daily patrol report (巡楼报告). Pure: every function takes
//! `now` and returns the events it decided on.

mod book;
mod config;
mod events;
mod findings;
mod judge;
mod report;
mod scans;
mod schedule;
mod tours;

pub use book::{PatrolBook, PatrolState, RecentScan, ScanOutcome, Subject};
pub use config::{
    Checkpoint, PatrolConfig, Route, RouteStop, Windows, normalise_code, normalise_uid,
};
pub use events::PatrolEvent;
pub use findings::{Finding, FindingAction, FindingType, IncidentCategory};
pub use report::{GuardFigures, PatrolReport, RouteFigures, StopMark, daily_report};
pub use scans::{Scan, ScanRecord, ScanResult, ScanSource, TagRef, WindowSide};
pub use schedule::{HoursWindow, ScheduleConfig, ScheduleRule};
pub use tours::{Stop, StopScan, Tour, TourId, TourProgress, TourStatus};

/// Why the patrol book could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatrolError {
    /// The patrol config has problems; each is one line.
    #[error("patrol config has {} problem(s): {}", problems.len(), problems.join("; "))]
    Config {
        /// Every problem found.
        problems: Vec<String>,
    },
}

#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tour_tests;
