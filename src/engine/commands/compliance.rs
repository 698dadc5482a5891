//! The compliance register's commands (rules.md §13.24, §13.15): items put (added,
//! imported: all in one step) and an inspection recorded (the next date one interval on).
//! The engine decides; the writer keeps the items and the inspection with the journal
//! entry (`Record::ComplianceItems`, `Record::ComplianceDone`) before the answer.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::compliance::ComplianceItem;

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, ComplianceChange, EngineHandle, Output};

/// A change to the compliance register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceCmd {
    /// Items added or replaced.
    Put {
        /// The items.
        items: Vec<ComplianceItem>,
        /// Who changes the register.
        by: String,
    },
    /// An inspection done.
    Done {
        /// The item.
        id: String,
        /// The site-local day.
        on: NaiveDate,
        /// A new certificate file, if one came.
        certificate: Option<i64>,
        /// Who records it.
        by: String,
    },
}

pub(super) fn command(books: &mut Books, cmd: ComplianceCmd, now: DateTime<Utc>) -> Handled {
    let change = match cmd {
        ComplianceCmd::Put { items, by } => {
            books.compliance.put(items.clone());
            ComplianceChange::Put { items, by }
        }
        ComplianceCmd::Done {
            id,
            on,
            certificate,
            by,
        } => {
            let item = books.compliance.done(&id, on, certificate, now)?;
            ComplianceChange::Done { item, on, by }
        }
    };
    let items = match &change {
        ComplianceChange::Put { items, .. } => items.clone(),
        ComplianceChange::Done { item, .. } => vec![item.clone()],
    };
    let out = vec![Output::Compliance(Box::new(change))];
    Ok((Answer::Compliance(items), out))
}

impl EngineHandle {
    /// A compliance-register step; the items as they now stand.
    pub async fn compliance(
        &self,
        cmd: ComplianceCmd,
    ) -> Result<Vec<ComplianceItem>, CommandError> {
        match self.command(EngineCommand::Compliance(cmd)).await? {
            Answer::Compliance(items) => Ok(items),
            _ => Err(CommandError::Mismatch),
        }
    }
}
