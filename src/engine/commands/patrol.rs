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
    let id = finding.id.clone();
    match books.patrol.finding(finding) {
        Some(ev @ PatrolEvent::FindingRecorded { action, .. }) => {
            let out = flow::patrol(books, vec![ev], now);
            Ok((
                Answer::Finding {
                    action,
                    resent: false,
                },
                out,
            ))
        }
        // A resend: answered as the first time, acted on once.
        _ => {
            let kept = books.patrol.kept_finding(&id).map(|(_, action)| action);
            let action = kept.ok_or(CommandError::Mismatch)?;
            Ok((
                Answer::Finding {
                    action,
                    resent: true,
                },
                Vec::new(),
            ))
        }
    }
}

impl EngineHandle {
    /// Records a finding; the action it leads to, and whether it was a resend of one
    /// already kept (then nothing new is done).
    pub async fn finding(&self, finding: Finding) -> Result<(FindingAction, bool), CommandError> {
        let cmd = EngineCommand::Patrol(PatrolCmd::Finding(finding));
        match self.command(cmd).await? {
            Answer::Finding { action, resent } => Ok((action, resent)),
            _ => Err(CommandError::Mismatch),
        }
    }
}
