//! Shift hand-over (交接班, rules.md §1.5, §13.19): the outgoing shift lists every open item
//! and notes how to handle it (加注处理意见, seed 001:759); the incoming shift acknowledges
//! each item; the completed record is kept (交接班记录, seed 000:249).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::book::IncidentBook;
use super::service::ServiceRequest;
use crate::alarms::AlarmEngine;

/// One open item handed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HandoverItem {
    /// A stable reference such as `incident:12`, `request:40` or `alarm:fp-1`.
    pub reference: String,
    /// One line for the list.
    pub summary: String,
    /// Whether a deadline of the item is already past.
    pub overdue: bool,
}

/// An item on a hand-over with its notes and acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HandoverEntry {
    /// The item.
    pub item: HandoverItem,
    /// The outgoing shift's handling notes.
    pub notes: Vec<String>,
    /// Who in the incoming shift acknowledged it, and when (`[name, time]`).
    #[schema(value_type = Option<Vec<String>>)]
    pub acknowledged: Option<(String, DateTime<Utc>)>,
}

/// A hand-over record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Handover {
    /// The outgoing duty person.
    pub outgoing: String,
    /// When the list was drawn up.
    pub started_at: DateTime<Utc>,
    /// Notes for the whole shift.
    pub notes: Vec<String>,
    /// The items.
    pub entries: Vec<HandoverEntry>,
    /// Who took over and when, once every item is acknowledged (`[name, time]`).
    #[schema(value_type = Option<Vec<String>>)]
    pub completed: Option<(String, DateTime<Utc>)>,
}

/// Why a hand-over step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandoverError {
    /// No item with this reference.
    #[error("no hand-over item `{0}`")]
    UnknownItem(String),
    /// The hand-over is already complete.
    #[error("the hand-over is already complete")]
    AlreadyComplete,
    /// Items still unacknowledged.
    #[error("items not acknowledged: {}", .0.join(", "))]
    Unacknowledged(Vec<String>),
    /// The outgoing person tried to take over their own shift's items.
    #[error("`{0}` handed over; the incoming shift acknowledges and takes over")]
    SamePerson(String),
    /// No hand-over has this number.
    #[error("hand-over {0} not found")]
    NotFound(i64),
    /// A note that says nothing.
    #[error("a note must say something")]
    EmptyNote,
}

impl Handover {
    /// Draws up a hand-over of `items` at `now`.
    pub fn start(outgoing: &str, items: Vec<HandoverItem>, now: DateTime<Utc>) -> Self {
        let entries = items.into_iter().map(|item| HandoverEntry {
            item,
            notes: Vec::new(),
            acknowledged: None,
        });
        Self {
            outgoing: outgoing.to_owned(),
            started_at: now,
            notes: Vec::new(),
            entries: entries.collect(),
            completed: None,
        }
    }

    /// Adds a note for the whole shift.
    pub fn add_note(&mut self, text: &str) -> Result<(), HandoverError> {
        self.check_open()?;
        self.notes.push(text.to_owned());
        Ok(())
    }

    /// Adds a handling note to one item.
    pub fn add_item_note(&mut self, reference: &str, text: &str) -> Result<(), HandoverError> {
        self.check_open()?;
        self.entry_mut(reference)?.notes.push(text.to_owned());
        Ok(())
    }

    /// The incoming shift acknowledges one item; the first acknowledgement stands.
    pub fn acknowledge(
        &mut self,
        reference: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), HandoverError> {
        self.check_open()?;
        self.check_incoming(by)?;
        self.entry_mut(reference)?
            .acknowledged
            .get_or_insert_with(|| (by.to_owned(), now));
        Ok(())
    }

    /// References not yet acknowledged.
    pub fn outstanding(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e.acknowledged.is_none())
            .map(|e| e.item.reference.clone())
            .collect()
    }

    /// Completes the hand-over; every item must be acknowledged first.
    pub fn complete(&mut self, incoming: &str, now: DateTime<Utc>) -> Result<(), HandoverError> {
        self.check_open()?;
        self.check_incoming(incoming)?;
        let outstanding = self.outstanding();
        if !outstanding.is_empty() {
            return Err(HandoverError::Unacknowledged(outstanding));
        }
        self.completed = Some((incoming.to_owned(), now));
        Ok(())
    }

    fn check_open(&self) -> Result<(), HandoverError> {
        match self.completed {
            Some(_) => Err(HandoverError::AlreadyComplete),
            None => Ok(()),
        }
    }

    /// The incoming shift verifies each item (予以核实, rules.md §1.5), so the person who
    /// handed over cannot acknowledge for them.
    fn check_incoming(&self, by: &str) -> Result<(), HandoverError> {
        if by == self.outgoing {
            return Err(HandoverError::SamePerson(by.to_owned()));
        }
        Ok(())
    }

    fn entry_mut(&mut self, reference: &str) -> Result<&mut HandoverEntry, HandoverError> {
        self.entries
            .iter_mut()
            .find(|e| e.item.reference == reference)
            .ok_or_else(|| HandoverError::UnknownItem(reference.to_owned()))
    }
}

impl IncidentBook {
    /// Every open incident as a hand-over item.
    pub fn handover_items(&self, now: DateTime<Utc>) -> Vec<HandoverItem> {
        self.open_incidents()
            .into_iter()
            .map(|i| HandoverItem {
                reference: format!("incident:{}", i.id),
                summary: format!(
                    "[{}] {} ({}) at {}",
                    i.category, i.title, i.state, i.location
                ),
                overdue: i.clocks.iter().any(|c| c.is_running() && now > c.due_at),
            })
            .collect()
    }
}

impl ServiceRequest {
    /// This request as a hand-over item, if it is still open.
    pub fn handover_item(&self, now: DateTime<Utc>) -> Option<HandoverItem> {
        self.state.is_open().then(|| HandoverItem {
            reference: format!("request:{}", self.id),
            summary: format!("{} {} ({})", self.unit, self.summary, self.state),
            overdue: self.is_overdue(now),
        })
    }
}

/// Every alarm still waiting for an acknowledgement, as a hand-over item (rules.md §13.19
/// lists unacknowledged alarms among the open items). Waiting is overdue once escalated.
pub fn alarm_items(alarms: &AlarmEngine) -> Vec<HandoverItem> {
    alarms
        .alarms()
        .filter(|a| a.state.is_unacknowledged())
        .map(|a| HandoverItem {
            reference: format!("alarm:{}", a.id),
            summary: format!(
                "[{}] {} ({})",
                a.priority.as_str(),
                a.message,
                a.state.as_str()
            ),
            overdue: a.escalation_level > 0,
        })
        .collect()
}
