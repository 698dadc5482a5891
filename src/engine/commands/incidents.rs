//! The incident book's commands: opening an incident by hand and a workflow step on one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{
    Incident, IncidentCommand, IncidentEvent, IncidentId, NewIncident,
};

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle, Output};

/// A change to the incident book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentCmd {
    /// Opens an incident (repair request, complaint, emergency report, a request's own).
    Open(NewIncident),
    /// One workflow step on incident `id`.
    Apply {
        /// The incident.
        id: IncidentId,
        /// The step.
        command: IncidentCommand,
    },
}

pub(super) fn command(books: &mut Books, cmd: IncidentCmd, now: DateTime<Utc>) -> Handled {
    match cmd {
        IncidentCmd::Open(new) => open(books, new, now),
        IncidentCmd::Apply { id, command } => apply(books, id, command, now),
    }
}

fn open(books: &mut Books, new: NewIncident, now: DateTime<Utc>) -> Handled {
    let (id, events) = books.incidents.open(new, now)?;
    let incident = books
        .incidents
        .get(id)
        .cloned()
        .ok_or(CommandError::Mismatch)?;
    Ok((Answer::IncidentOpened(Box::new(incident)), outputs(events)))
}

fn apply(books: &mut Books, id: IncidentId, cmd: IncidentCommand, now: DateTime<Utc>) -> Handled {
    let events = books.incidents.apply(id, cmd, now)?;
    Ok((Answer::Incident(events.clone()), outputs(events)))
}

fn outputs(events: Vec<IncidentEvent>) -> Vec<Output> {
    events.into_iter().map(Output::incident).collect()
}

impl EngineHandle {
    /// Opens an incident; the incident as opened.
    pub async fn open_incident(&self, new: NewIncident) -> Result<Incident, CommandError> {
        let cmd = EngineCommand::Incident(IncidentCmd::Open(new));
        match self.command(cmd).await? {
            Answer::IncidentOpened(incident) => Ok(*incident),
            _ => Err(CommandError::Mismatch),
        }
    }

    /// One workflow step on incident `id`; the events it caused.
    pub async fn incident_step(
        &self,
        id: IncidentId,
        command: IncidentCommand,
    ) -> Result<Vec<IncidentEvent>, CommandError> {
        let cmd = EngineCommand::Incident(IncidentCmd::Apply { id, command });
        match self.command(cmd).await? {
            Answer::Incident(events) => Ok(events),
            _ => Err(CommandError::Mismatch),
        }
    }
}
