//! Planned fire-system tests: a notice announces one; the engine's tick puts it in place
//! when its window begins (`engine::due`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle};
use crate::store::FireTest;

/// A change to the fire-test plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FireTestCmd {
    /// A test a notice announced (stored first, with its number).
    Plan(FireTest),
}

pub(super) fn command(books: &mut Books, cmd: FireTestCmd, _now: DateTime<Utc>) -> Handled {
    let FireTestCmd::Plan(test) = cmd;
    books.fire_tests.plan(test);
    Ok((Answer::Planned, Vec::new()))
}

impl EngineHandle {
    /// Plans a fire-system test announced by a notice.
    pub async fn plan_fire_test(&self, test: FireTest) -> Result<(), CommandError> {
        match self
            .command(EngineCommand::FireTest(FireTestCmd::Plan(test)))
            .await?
        {
            Answer::Planned => Ok(()),
            _ => Err(CommandError::Mismatch),
        }
    }
}
