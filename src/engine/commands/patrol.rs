//! The patrol book's commands: a guard's finding (its action may open an incident).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::patrol::{Finding, FindingAction, PatrolEvent};

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle, flow};

/// A change to the patrol book (scans have their own, [`super::ScanCmd`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatrolCmd {
    /// A finding a guard reported (the writer keeps it with the patrol book's journal).
    Finding(Finding),
}

pub(super) fn command(books: &mut Books, cmd: PatrolCmd, now: DateTime<Utc>) -> Handled {
    let PatrolCmd::Finding(finding) = cmd;
    let ev = books.patrol.finding(finding);
    let action = match &ev {
        PatrolEvent::FindingRecorded { action, .. } => Some(*action),
        _ => None,
    };
    let out = flow::patrol(books, vec![ev], now);
    Ok((Answer::Finding(action), out))
}

impl EngineHandle {
    /// Records a finding; the action it leads to.
    pub async fn finding(&self, finding: Finding) -> Result<Option<FindingAction>, CommandError> {
        let cmd = EngineCommand::Patrol(PatrolCmd::Finding(finding));
        match self.command(cmd).await? {
            Answer::Finding(action) => Ok(action),
            _ => Err(CommandError::Mismatch),
        }
    }
}
