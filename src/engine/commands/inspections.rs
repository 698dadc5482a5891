//! The vacant book's commands: an inspection submitted (each category of failed items opens
//! an incident); the key register's lines put, key sets signed out (with their expected
//! return) and back in, and the board's inventory (rules.md §13.22–23).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{IncidentId, IncidentSource, NewIncident};
use sitewatch_core::inspections::{
    ChecklistItem, Inspection, InspectionAction, InspectionEvent, ItemResult, KeyInventory,
    KeyLoan, KeySetEntry,
};

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle, Output, VacantChange, category_id};

/// A change to the vacant book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectionCmd {
    /// An inspection of a vacant unit, as the inspector's phone sent it.
    Submit(Inspection),
    /// A key set signed out.
    SignOut {
        /// The key set.
        set: String,
        /// Who takes it.
        holder: String,
        /// Why.
        purpose: String,
        /// When it is due back; `None`: the configured hours after now.
        #[serde(default)]
        expected_back: Option<DateTime<Utc>>,
    },
    /// A key set signed back in.
    SignIn {
        /// The key set.
        set: String,
        /// Who takes it back.
        by: String,
    },
    /// Register lines added or changed (the API, a CSV import: all in one step).
    PutKeys(Vec<KeySetEntry>),
    /// The board counted.
    Inventory {
        /// The sets found hanging.
        on_board: BTreeSet<String>,
        /// Who counted.
        by: String,
    },
}

/// The inspection as judged.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = InspectionAnswer)]
pub struct InspectionVerdict {
    /// Every item passed.
    pub passed: bool,
    /// Incidents opened for failed items.
    #[schema(value_type = Vec<i64>)]
    pub incidents: Vec<IncidentId>,
    /// Checklist as judged (meter items corrected from the readings).
    pub items: Vec<ItemResult>,
}

pub(super) fn command(books: &mut Books, cmd: InspectionCmd, now: DateTime<Utc>) -> Handled {
    match cmd {
        InspectionCmd::Submit(inspection) => submit(books, inspection, now),
        InspectionCmd::SignOut {
            set,
            holder,
            purpose,
            expected_back,
        } => {
            let loan =
                (books.vacant.keys_mut()).sign_out(&set, &holder, &purpose, expected_back, now)?;
            Ok(key(loan))
        }
        InspectionCmd::SignIn { set, by } => {
            let loan = books.vacant.keys_mut().sign_in(&set, &by, now)?;
            Ok(key(loan))
        }
        InspectionCmd::PutKeys(entries) => {
            let sets: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
            for entry in entries {
                books.vacant.keys_mut().put(entry);
            }
            let out = vec![Output::vacant(VacantChange::Sets { sets: sets.clone() })];
            Ok((Answer::KeySets(sets), out))
        }
        InspectionCmd::Inventory { on_board, by } => {
            let inventory = books.vacant.keys_mut().inventory(&on_board, &by, now)?;
            let out = vec![Output::vacant(VacantChange::Inventory {
                inventory: inventory.clone(),
            })];
            Ok((Answer::KeyInventory(Box::new(inventory)), out))
        }
    }
}

fn key(loan: KeyLoan) -> (Answer, Vec<Output>) {
    let out = vec![Output::vacant(VacantChange::Key { loan: loan.clone() })];
    (Answer::Key(loan), out)
}

/// Submits to the book and opens an incident per category of failed items.
fn submit(books: &mut Books, inspection: Inspection, now: DateTime<Utc>) -> Handled {
    let (id, inspector) = (inspection.id.clone(), inspection.inspector.clone());
    let outcome = books.vacant.submit(inspection, now)?;
    let (mut passed, mut items) = (true, Vec::new());
    for ev in &outcome.events {
        if let InspectionEvent::InspectionRecorded {
            inspection,
            passed: p,
        } = ev
        {
            (passed, items) = (*p, inspection.items.clone());
        }
    }
    let mut out: Vec<Output> = outcome.events.into_iter().map(Output::Inspection).collect();
    let mut incidents = Vec::new();
    for action in outcome.actions {
        let new = failed_items_incident(action, &id, &inspector, now);
        match books.incidents.open(new, now) {
            Ok((iid, events)) => {
                incidents.push(iid);
                out.extend(events.into_iter().map(Output::incident));
            }
            Err(e) => tracing::warn!(error = %e, "inspection incident not opened"),
        }
    }
    let verdict = InspectionVerdict {
        passed,
        incidents,
        items,
    };
    Ok((Answer::Inspection(verdict), out))
}

/// The incident a category of failed items opens, titled with the items and notes.
fn failed_items_incident(
    action: InspectionAction,
    inspection: &str,
    inspector: &str,
    now: DateTime<Utc>,
) -> NewIncident {
    let InspectionAction::OpenIncident {
        category,
        unit,
        items,
        notes,
    } = action;
    let names: Vec<String> = items.iter().map(|i| item_name(*i)).collect();
    NewIncident {
        category: category_id(category).into(),
        title: format!(
            "空置房巡查不合格 {unit}: {} {}",
            names.join(", "),
            notes.join("; ")
        ),
        location: unit,
        reported_by: inspector.to_owned(),
        occurred_at: Some(now),
        source: IncidentSource::InspectionFinding(inspection.to_owned()),
    }
}

fn item_name(i: ChecklistItem) -> String {
    serde_json::to_value(i)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl EngineHandle {
    /// Submits an inspection; the verdict and the incidents it opened.
    pub async fn inspect(&self, inspection: Inspection) -> Result<InspectionVerdict, CommandError> {
        let cmd = EngineCommand::Inspection(InspectionCmd::Submit(inspection));
        match self.command(cmd).await? {
            Answer::Inspection(verdict) => Ok(verdict),
            _ => Err(CommandError::Mismatch),
        }
    }

    /// Register lines added or changed; their ids.
    pub async fn put_keys(&self, entries: Vec<KeySetEntry>) -> Result<Vec<String>, CommandError> {
        let cmd = EngineCommand::Inspection(InspectionCmd::PutKeys(entries));
        match self.command(cmd).await? {
            Answer::KeySets(ids) => Ok(ids),
            _ => Err(CommandError::Mismatch),
        }
    }

    /// The board counted; the inventory as kept.
    pub async fn key_inventory(
        &self,
        on_board: BTreeSet<String>,
        by: String,
    ) -> Result<KeyInventory, CommandError> {
        let cmd = EngineCommand::Inspection(InspectionCmd::Inventory { on_board, by });
        match self.command(cmd).await? {
            Answer::KeyInventory(inv) => Ok(*inv),
            _ => Err(CommandError::Mismatch),
        }
    }

    /// A key-register step (sign out or in); the loan as it stands.
    pub async fn key_step(&self, cmd: InspectionCmd) -> Result<KeyLoan, CommandError> {
        match self.command(EngineCommand::Inspection(cmd)).await? {
            Answer::Key(loan) => Ok(loan),
            _ => Err(CommandError::Mismatch),
        }
    }
}
