//! The hand-over book's commands (交接班, rules.md §1.5, §13.19). What a hand-over lists is
//! decided here, from the books at that moment: alarms still unacknowledged, open
//! incidents, and open repairs and complaints (overdue deadlines and follow-ups flagged).
//! Every change goes out as [`Output::Handover`], with the hand-over's snapshot.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{Handover, HandoverAction, HandoverId, HandoverItem, alarm_items};

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle, Output};
use crate::store::DutyEntry;

/// A change to the hand-over book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverCmd {
    /// The outgoing shift draws up a hand-over of every open item now.
    Start {
        /// The outgoing duty person.
        outgoing: String,
        /// A note for the whole shift.
        note: Option<String>,
    },
    /// An entry in the duty log (值班记录) of a shift.
    Log {
        /// Who writes it.
        author: String,
        /// The shift, e.g. `2026-11-24 early`.
        shift: String,
        /// What happened.
        text: String,
    },
    /// A note, an acknowledgement or the completion.
    Step {
        /// The hand-over.
        id: HandoverId,
        /// Who takes the step.
        actor: String,
        /// Which step.
        action: HandoverAction,
    },
}

/// A hand-over after a command.
#[derive(Debug, Clone, Serialize)]
pub struct HandoverAnswer {
    /// Its number.
    pub id: HandoverId,
    /// The record as it stands now.
    pub handover: Handover,
}

pub(super) fn command(books: &mut Books, cmd: HandoverCmd, now: DateTime<Utc>) -> Handled {
    let (id, events) = match cmd {
        HandoverCmd::Log {
            author,
            shift,
            text,
        } => return Ok(log(books, author, shift, text, now)),
        HandoverCmd::Start { outgoing, note } => {
            let items = open_items(books, now);
            books.handovers.start(&outgoing, note, items, now)
        }
        HandoverCmd::Step { id, actor, action } => {
            (id, books.handovers.apply(id, &actor, action, now)?)
        }
    };
    let handover = books
        .handovers
        .get(id)
        .cloned()
        .ok_or(CommandError::Mismatch)?;
    let out = events.into_iter().map(Output::handover).collect();
    let answer = HandoverAnswer { id, handover };
    Ok((Answer::Handover(Box::new(answer)), out))
}

/// A duty-log entry, numbered by the hand-over book; its row is a store record written
/// with its journal entry, so the caller's answer means it is kept.
fn log(
    books: &mut Books,
    author: String,
    shift: String,
    text: String,
    now: DateTime<Utc>,
) -> (Answer, Vec<Output>) {
    let entry = DutyEntry {
        id: books.handovers.number_log_entry(),
        author,
        shift,
        text,
        at: now,
    };
    let out = vec![Output::DutyLog(Box::new(entry.clone()))];
    (Answer::DutyLog(entry), out)
}

/// Every open item at `now`: alarms waiting for an acknowledgement, open incidents, open
/// repairs and complaints.
fn open_items(books: &Books, now: DateTime<Utc>) -> Vec<HandoverItem> {
    let mut items = alarm_items(&books.alarms);
    items.extend(books.incidents.handover_items(now));
    items.extend(books.requests.handover_items(now));
    items
}

impl EngineHandle {
    /// Writes a duty-log entry; the entry as kept, with its number.
    pub async fn duty_log(&self, cmd: HandoverCmd) -> Result<DutyEntry, CommandError> {
        match self.command(EngineCommand::Handover(cmd)).await? {
            Answer::DutyLog(entry) => Ok(entry),
            _ => Err(CommandError::Mismatch),
        }
    }

    /// A change to the hand-overs: the hand-over after it.
    pub async fn handover(&self, cmd: HandoverCmd) -> Result<HandoverAnswer, CommandError> {
        match self.command(EngineCommand::Handover(cmd)).await? {
            Answer::Handover(answer) => Ok(*answer),
            _ => Err(CommandError::Mismatch),
        }
    }
}
