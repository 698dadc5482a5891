//! Everything that changes the books, as data: one [`EngineCommand`] per change, grouped by
//! the book it is addressed to, each handled by one function in that book's file here
//! (`alarms`, `incidents`, …). A handler decides against the books at the engine's `now`
//! and returns a typed [`Answer`] and the outputs for the sinks; callers (HTTP handlers,
//! the CLI, timers, later a central office) only build a command and map the answer or the
//! [`CommandError`] to their own error type. Commands are serialisable so they can be
//! recorded or travel; nothing but data crosses the engine's channel.
//!
//! To add a command: a variant in the book's own enum (or a new book's enum and a variant
//! here), its handler beside the others in that book's file, and a typed helper on
//! [`super::EngineHandle`] there.

mod alarms;
mod compliance;
mod fire_tests;
mod handovers;
mod incidents;
mod inspections;
mod maintenance;
mod patrol;
mod requests;
mod scans;
mod vacancy;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::alarms::{AlarmCommand, AlarmError, AlarmEvent};
use sitewatch_core::incidents::{
    HandoverError, Incident, IncidentError, IncidentEvent, IncidentId, ServiceError,
};
use sitewatch_core::inspections::{InspectionError, KeyError, KeyInventory, KeyLoan};
use sitewatch_core::maintenance::{MaintenanceError, MaintenanceEvent};
use sitewatch_core::patrol::FindingAction;

pub use compliance::ComplianceCmd;
pub use fire_tests::FireTestCmd;
pub use handovers::{HandoverAnswer, HandoverCmd};
pub use incidents::IncidentCmd;
pub use inspections::{InspectionCmd, InspectionVerdict};
pub use maintenance::MaintenanceCmd;
pub use patrol::PatrolCmd;
pub(crate) use requests::outputs as request_outputs;
pub use requests::{LinkTo, RequestAnswer, RequestCmd};
pub use scans::{ScanAnswer, ScanCmd};
pub use vacancy::VacancyCmd;
pub(crate) use vacancy::set_vacant;

use super::{Books, Output};
use crate::store::writer::NotKept;

/// A change to the books.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "book", content = "command", rename_all = "snake_case")]
pub enum EngineCommand {
    /// An operator's alarm command (acknowledge, shelve, suppress, …).
    Alarm(AlarmCommand),
    /// Whether an escalation level has nobody on call (the paging task's rota).
    Coverage {
        /// The level.
        level: String,
        /// True while nobody is on call there.
        uncovered: bool,
    },
    /// Whether the central forward buffer is 80 % full (the forwarder's measure).
    ForwardBuffer {
        /// True while it is.
        filling: bool,
    },
    /// Opening an incident or a workflow step on one.
    Incident(IncidentCmd),
    /// A guard's finding.
    Patrol(PatrolCmd),
    /// A patrol scan to judge.
    Scan(ScanCmd),
    /// An inspection of a vacant unit, or a key set signed out or in.
    Inspection(InspectionCmd),
    /// The unit register's vacant list.
    Vacancy(VacancyCmd),
    /// A fire-system test a notice announced.
    FireTest(FireTestCmd),
    /// Compliance-register items put, or an inspection recorded.
    Compliance(ComplianceCmd),
    /// Pump sets and plant maintenance tasks: put, done, a switch-over recorded.
    Maintenance(MaintenanceCmd),
    /// A service request taken in, a step on one, or its link to an incident.
    Request(RequestCmd),
    /// A shift hand-over drawn up, or a step on one.
    Handover(HandoverCmd),
}

/// What a command did, typed per command.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Answer {
    /// The alarm transitions it caused.
    Alarm(Vec<AlarmEvent>),
    /// The incident opened.
    IncidentOpened(Box<Incident>),
    /// The incident events a workflow step caused.
    Incident(Vec<IncidentEvent>),
    /// The action a finding leads to; `resent` when its id was already kept.
    Finding { action: FindingAction, resent: bool },
    /// A scan's verdict.
    Scan(Box<ScanAnswer>),
    /// An inspection's verdict.
    Inspection(InspectionVerdict),
    /// A key loan as it stands after the step.
    Key(KeyLoan),
    /// The key sets put.
    KeySets(Vec<String>),
    /// The board's inventory as kept.
    KeyInventory(Box<KeyInventory>),
    /// What a maintenance step did.
    Maintenance(Box<MaintenanceEvent>),
    /// The units whose vacancy changed.
    Vacancy(Vec<String>),
    /// A fire-system test is planned.
    Planned,
    /// Compliance items as they now stand.
    Compliance(Vec<sitewatch_core::compliance::ComplianceItem>),
    /// A service request after the command, with the events it caused.
    Request(Box<RequestAnswer>),
    /// A hand-over after the command.
    Handover(Box<HandoverAnswer>),
    /// A duty-log entry as kept.
    DutyLog(crate::store::DutyEntry),
}

/// Why a command was refused, by the book that refused it.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The engine has stopped.
    #[error("engine unavailable")]
    Unavailable,
    /// The alarm engine refused.
    #[error(transparent)]
    Alarm(#[from] AlarmError),
    /// The incident book refused.
    #[error(transparent)]
    Incident(#[from] IncidentError),
    /// The vacant book refused an inspection.
    #[error(transparent)]
    Inspection(#[from] InspectionError),
    /// The key register refused.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The maintenance book refused.
    #[error(transparent)]
    Maintenance(#[from] MaintenanceError),
    /// The compliance register refused.
    #[error(transparent)]
    Compliance(#[from] sitewatch_core::compliance::ComplianceError),
    /// The service-request book refused.
    #[error(transparent)]
    Request(#[from] ServiceError),
    /// A request named an incident the incident book does not hold.
    #[error("incident {0} not found")]
    UnknownIncident(IncidentId),
    /// The hand-over book refused.
    #[error(transparent)]
    Handover(#[from] HandoverError),
    /// The change was made but the store has not kept it within the caller's wait (the
    /// database is away): it is written when the database returns, so the caller must not
    /// make it again.
    #[error("the change was made but is not stored yet: {0}")]
    NotStored(NotKept),
    /// The engine answered a command with another command's answer (a bug).
    #[error("the engine's answer does not fit the command")]
    Mismatch,
}

/// A handler's result: its answer and what it decided, or why not (nothing changed then).
pub(super) type Handled = Result<(Answer, Vec<Output>), CommandError>;

/// Runs one command against the books at `now`.
pub(super) fn handle(books: &mut Books, cmd: EngineCommand, now: DateTime<Utc>) -> Handled {
    match cmd {
        EngineCommand::Alarm(cmd) => alarms::command(books, cmd, now),
        EngineCommand::Coverage { level, uncovered } => {
            Ok(alarms::coverage(books, &level, uncovered, now))
        }
        EngineCommand::ForwardBuffer { filling } => Ok(alarms::forward_buffer(books, filling, now)),
        EngineCommand::Incident(cmd) => incidents::command(books, cmd, now),
        EngineCommand::Patrol(cmd) => patrol::command(books, cmd, now),
        EngineCommand::Scan(cmd) => scans::command(books, cmd, now),
        EngineCommand::Inspection(cmd) => inspections::command(books, cmd, now),
        EngineCommand::Vacancy(cmd) => vacancy::command(books, cmd, now),
        EngineCommand::FireTest(cmd) => fire_tests::command(books, cmd, now),
        EngineCommand::Compliance(cmd) => compliance::command(books, cmd, now),
        EngineCommand::Maintenance(cmd) => maintenance::command(books, cmd, now),
        EngineCommand::Request(cmd) => requests::command(books, cmd, now),
        EngineCommand::Handover(cmd) => handovers::command(books, cmd, now),
    }
}
