//! Shift hand-overs (交接班, rules.md §1.5, §13.19) in the engine. What a hand-over lists is
//! decided here, from the books at that moment: alarms still unacknowledged, open
//! incidents, and open repairs and complaints (overdue deadlines and follow-ups flagged).
//! Every change goes out as [`Output::Handover`], with the hand-over's snapshot.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{
    Handover, HandoverAction, HandoverError, HandoverId, HandoverItem, alarm_items,
};

use super::{Books, Output};

/// A change to the hand-overs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HandoverCommand {
    /// The outgoing shift draws up a hand-over of every open item now.
    Start {
        /// The outgoing duty person.
        outgoing: String,
        /// A note for the whole shift.
        note: Option<String>,
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
#[derive(Debug, Clone)]
pub struct HandoverAnswer {
    /// Its number.
    pub id: HandoverId,
    /// The record as it stands now.
    pub handover: Handover,
}

/// Applies `cmd` to the books at `now`: the answer, and the outputs for the sinks.
pub(super) fn handle(
    books: &mut Books,
    cmd: HandoverCommand,
    now: DateTime<Utc>,
) -> (Result<HandoverAnswer, HandoverError>, Vec<Output>) {
    let done = match cmd {
        HandoverCommand::Start { outgoing, note } => {
            let items = open_items(books, now);
            Ok(books.handovers.start(&outgoing, note, items, now))
        }
        HandoverCommand::Step { id, actor, action } => books
            .handovers
            .apply(id, &actor, action, now)
            .map(|events| (id, events)),
    };
    match done {
        Ok((id, events)) => {
            let answer = books
                .handovers
                .get(id)
                .cloned()
                .map(|handover| HandoverAnswer { id, handover });
            let out = events.into_iter().map(Output::handover).collect();
            (answer.ok_or(HandoverError::NotFound(id)), out)
        }
        Err(e) => (Err(e), Vec::new()),
    }
}

/// Every open item at `now`: alarms waiting for an acknowledgement, open incidents, open
/// repairs and complaints.
fn open_items(books: &Books, now: DateTime<Utc>) -> Vec<HandoverItem> {
    let mut items = alarm_items(&books.alarms);
    items.extend(books.incidents.handover_items(now));
    items.extend(books.requests.handover_items(now));
    items
}
