//! The compliance register's copy in the engine: items the API stored (added, imported,
//! an inspection recorded) are handed over so the tick judges them (`engine::due`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::compliance::ComplianceItem;

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle};

/// A change to the compliance copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceCmd {
    /// Items as stored.
    Put(Vec<ComplianceItem>),
}

pub(super) fn command(books: &mut Books, cmd: ComplianceCmd, _now: DateTime<Utc>) -> Handled {
    let ComplianceCmd::Put(items) = cmd;
    books.compliance.put(items);
    Ok((Answer::Planned, Vec::new()))
}

impl EngineHandle {
    /// Hands stored compliance items to the engine's copy.
    pub async fn put_compliance(&self, items: Vec<ComplianceItem>) -> Result<(), CommandError> {
        match self
            .command(EngineCommand::Compliance(ComplianceCmd::Put(items)))
            .await?
        {
            Answer::Planned => Ok(()),
            _ => Err(CommandError::Mismatch),
        }
    }
}
