//! The alarm engine's commands: an operator's acknowledge, shelve, suppress, out of
//! service, and the flags other books set (a unit's vacancy).

use chrono::{DateTime, Utc};
use sitewatch_core::alarms::{AlarmCommand, AlarmEvent};

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle, flow};

/// Runs an alarm command; its transitions go on to the incident policy.
pub(super) fn command(books: &mut Books, cmd: AlarmCommand, now: DateTime<Utc>) -> Handled {
    let events = books.alarms.command(cmd, now)?;
    let out = flow::alarms(books, events.clone(), now);
    Ok((Answer::Alarm(events), out))
}

/// A level's coverage from the rota: raises or clears its `nobody_on_call` alarm, which
/// goes on like any other.
pub(super) fn coverage(
    books: &mut Books,
    level: &str,
    uncovered: bool,
    now: DateTime<Utc>,
) -> (Answer, Vec<crate::engine::Output>) {
    let events = books.alarms.on_coverage(level, uncovered, now);
    let out = flow::alarms(books, events.clone(), now);
    (Answer::Alarm(events), out)
}

/// The central forward buffer's fill: raises or clears its alarm.
pub(super) fn forward_buffer(
    books: &mut Books,
    filling: bool,
    now: DateTime<Utc>,
) -> (Answer, Vec<crate::engine::Output>) {
    let events = books.alarms.on_forward_buffer(filling, now);
    let out = flow::alarms(books, events.clone(), now);
    (Answer::Alarm(events), out)
}

impl EngineHandle {
    /// Tells the alarm engine whether the central forward buffer is 80 % full. Does not
    /// wait for the store.
    pub async fn forward_buffer(&self, filling: bool) -> Result<(), CommandError> {
        self.decide(EngineCommand::ForwardBuffer { filling })
            .await
            .map(drop)
    }

    /// Tells the alarm engine whether `level` has nobody on call. Does not wait for the
    /// store: the paging task must not stall on a database outage.
    pub async fn coverage(&self, level: &str, uncovered: bool) -> Result<(), CommandError> {
        let cmd = EngineCommand::Coverage {
            level: level.to_owned(),
            uncovered,
        };
        self.decide(cmd).await.map(drop)
    }

    /// Runs an alarm command; the transitions it caused.
    pub async fn alarm(&self, cmd: AlarmCommand) -> Result<Vec<AlarmEvent>, CommandError> {
        match self.command(EngineCommand::Alarm(cmd)).await? {
            Answer::Alarm(events) => Ok(events),
            _ => Err(CommandError::Mismatch),
        }
    }
}
