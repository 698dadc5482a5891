//! The site's shift hand-overs as one book: it numbers them, draws each up from the open
//! items the caller gathered, and applies the outgoing shift's notes and the incoming
//! shift's acknowledgements and completion. Every change comes back as a
//! [`HandoverEvent`] for the caller to journal and publish.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::handover::{Handover, HandoverError, HandoverItem};

/// A hand-over's number.
pub type HandoverId = i64;

/// A step on a hand-over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HandoverAction {
    /// The outgoing shift's note for the whole shift.
    Note {
        /// The note.
        text: String,
    },
    /// A handling note on one item (加注处理意见).
    ItemNote {
        /// The item.
        reference: String,
        /// The note.
        text: String,
    },
    /// The incoming shift verified one item.
    Acknowledge {
        /// The item.
        reference: String,
    },
    /// The incoming shift takes over; every item must be acknowledged.
    Complete,
}

/// What happened to a hand-over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverEvent {
    /// The hand-over.
    pub handover: HandoverId,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub kind: HandoverEventKind,
}

/// The kinds of hand-over event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HandoverEventKind {
    /// Drawn up with this many open items.
    Started {
        /// Items handed over.
        items: usize,
    },
    /// A step was taken.
    Step {
        /// The step.
        action: HandoverAction,
    },
}

/// Every hand-over of the site, by number.
#[derive(Debug, Clone, Default)]
pub struct HandoverBook {
    handovers: BTreeMap<HandoverId, Handover>,
    next_id: HandoverId,
    /// The number the next duty-log entry (值班记录) gets: the book numbers them, so an
    /// entry is written with its journal entry and answered with its number.
    next_log: i64,
}

impl HandoverBook {
    /// Hand-overs kept from before a restart; numbering goes on after the highest.
    pub fn restore(handovers: Vec<(HandoverId, Handover)>) -> Self {
        let next_id = handovers.iter().map(|(id, _)| id + 1).max().unwrap_or(1);
        Self {
            handovers: handovers.into_iter().collect(),
            next_id,
            next_log: 1,
        }
    }

    /// Duty-log numbering goes on after `last`, the highest number kept.
    pub fn resume_log_after(&mut self, last: i64) {
        self.next_log = last.max(0) + 1;
    }

    /// The number for a new duty-log entry.
    pub fn number_log_entry(&mut self) -> i64 {
        let n = self.next_log.max(1);
        self.next_log = n + 1;
        n
    }

    /// Draws up a hand-over of `items` by `outgoing` at `now`, with an overall note when
    /// one is given (a blank one is left out).
    pub fn start(
        &mut self,
        outgoing: &str,
        note: Option<String>,
        items: Vec<HandoverItem>,
        now: DateTime<Utc>,
    ) -> (HandoverId, Vec<HandoverEvent>) {
        let id = self.next_id.max(1);
        let mut handover = Handover::start(outgoing, items, now);
        let event = |kind| HandoverEvent {
            handover: id,
            at: now,
            actor: outgoing.to_owned(),
            kind,
        };
        let mut events = vec![event(HandoverEventKind::Started {
            items: handover.entries.len(),
        })];
        if let Some(text) = note.filter(|n| !n.trim().is_empty()) {
            handover.notes.push(text.clone());
            let action = HandoverAction::Note { text };
            events.push(event(HandoverEventKind::Step { action }));
        }
        self.handovers.insert(id, handover);
        self.next_id = id + 1;
        (id, events)
    }

    /// Takes one step on hand-over `id` by `actor`. A refused step changes nothing.
    pub fn apply(
        &mut self,
        id: HandoverId,
        actor: &str,
        action: HandoverAction,
        now: DateTime<Utc>,
    ) -> Result<Vec<HandoverEvent>, HandoverError> {
        let h = self
            .handovers
            .get_mut(&id)
            .ok_or(HandoverError::NotFound(id))?;
        match &action {
            HandoverAction::Note { text } => h.add_note(non_empty(text)?),
            HandoverAction::ItemNote { reference, text } => {
                h.add_item_note(reference, non_empty(text)?)
            }
            HandoverAction::Acknowledge { reference } => h.acknowledge(reference, actor, now),
            HandoverAction::Complete => h.complete(actor, now),
        }?;
        Ok(vec![HandoverEvent {
            handover: id,
            at: now,
            actor: actor.to_owned(),
            kind: HandoverEventKind::Step { action },
        }])
    }

    /// One hand-over.
    pub fn get(&self, id: HandoverId) -> Option<&Handover> {
        self.handovers.get(&id)
    }

    /// Hand-overs started in `[from, to)`, by number.
    pub fn started_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(HandoverId, &Handover)> {
        self.handovers
            .iter()
            .filter(|(_, h)| from <= h.started_at && h.started_at < to)
            .map(|(id, h)| (*id, h))
            .collect()
    }
}

fn non_empty(text: &str) -> Result<&str, HandoverError> {
    if text.trim().is_empty() {
        return Err(HandoverError::EmptyNote);
    }
    Ok(text)
}
