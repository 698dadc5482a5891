//! The vacant-unit book: the units on the vacant list, when each was last inspected and
//! its meter readings then, when the next inspection is due, and what a submitted
//! inspection leads to.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::checklist::{ChecklistItem, ItemResult, MeterCheck, MeterReadings, check_meter};
use super::keys::{KeyLoan, KeyRegister};
use super::{InspectionConfig, InspectionError};
use crate::patrol::IncidentCategory;

/// A unit on the vacant list, from the unit register's occupancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VacantUnit {
    /// Unit id.
    pub unit: String,
    /// Vacant since (move-out with fees settled, 003:575).
    pub vacant_since: DateTime<Utc>,
}

/// What is kept of a unit's last inspection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LastInspection {
    /// When it was submitted.
    pub at: DateTime<Utc>,
    /// Meter readings then; the base the next inspection compares with.
    pub meters: MeterReadings,
}

/// Everything the book keeps across a restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VacantState {
    /// Vacant units by id.
    pub units: BTreeMap<String, VacantUnit>,
    /// Last inspection by unit.
    pub last: BTreeMap<String, LastInspection>,
    /// Units whose overdue notice went out, with the due time it was for.
    pub overdue_reported: BTreeMap<String, DateTime<Utc>>,
    /// The key register.
    pub keys: KeyRegister,
}

/// Whether a unit's inspection is due or already overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    /// The interval has passed.
    Due,
    /// The overdue limit has passed.
    Overdue,
}

/// A unit that needs inspecting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DueUnit {
    /// Unit id.
    pub unit: String,
    /// When the inspection fell due.
    pub due_at: DateTime<Utc>,
    /// When it is (or was) overdue.
    pub overdue_at: DateTime<Utc>,
    /// Due or overdue.
    pub state: DueState,
}

/// A submitted inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// Stable id.
    pub id: String,
    /// Unit id.
    pub unit: String,
    /// Who inspected.
    pub inspector: String,
    /// The key set drawn for it (§13.23).
    pub key_set: Option<String>,
    /// One answer per checklist item.
    pub items: Vec<ItemResult>,
    /// Meter readings taken.
    pub meters: MeterReadings,
}

/// What the caller does after an inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum InspectionAction {
    /// Open an incident for the failed items of one category.
    OpenIncident {
        /// Incident category.
        category: IncidentCategory,
        /// Unit id.
        unit: String,
        /// The failed items.
        items: Vec<ChecklistItem>,
        /// The inspector's notes on them.
        notes: Vec<String>,
    },
}

/// Events for the board, the alarm engine and metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InspectionEvent {
    /// An inspection went past its overdue limit.
    InspectionOverdue {
        /// Unit id.
        unit: String,
        /// When it fell due.
        due_at: DateTime<Utc>,
    },
    /// A meter moved in an empty unit; the caller raises it through the alarm engine.
    MeterMoved {
        /// Unit id.
        unit: String,
        /// `water` or `power`.
        meter: String,
        /// Last inspection's reading.
        from: f64,
        /// This reading.
        to: f64,
    },
    /// An inspection was recorded.
    InspectionRecorded {
        /// The inspection with the checklist as judged (meter items corrected).
        inspection: Box<Inspection>,
        /// Whether every item passed.
        passed: bool,
    },
}

/// What a submitted inspection led to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionOutcome {
    /// Incidents to open.
    pub actions: Vec<InspectionAction>,
    /// Events to publish.
    pub events: Vec<InspectionEvent>,
}

/// Vacant units, their inspections and the key register for one site.
#[derive(Debug, Clone)]
pub struct VacantBook {
    config: InspectionConfig,
    state: VacantState,
    /// Ids of the inspections recorded, so a resend is refused, not judged twice. Not part
    /// of the snapshot: the store's inspections table holds them (`remember` at start).
    recorded: BTreeSet<String>,
}

impl VacantBook {
    /// A book resumed from `state` (use `VacantState::default()` for a new site).
    pub fn new(config: InspectionConfig, state: VacantState) -> Result<Self, InspectionError> {
        if config.interval_days == 0 || config.overdue_after_days < config.interval_days {
            return Err(InspectionError::Config(
                "need 0 < interval_days <= overdue_after_days".to_owned(),
            ));
        }
        Ok(Self {
            config,
            state,
            recorded: BTreeSet::new(),
        })
    }

    /// Inspections recorded before (kept in the store), refused if sent again.
    pub fn remember(&mut self, ids: impl IntoIterator<Item = String>) {
        self.recorded.extend(ids);
    }

    /// The state to persist.
    pub fn snapshot(&self) -> VacantState {
        self.state.clone()
    }

    /// Replaces the vacant list from the unit register. Units no longer vacant leave the
    /// schedule; their history goes with them, since the next vacancy starts afresh.
    pub fn set_vacant(&mut self, units: Vec<VacantUnit>) {
        self.state.units = units.into_iter().map(|u| (u.unit.clone(), u)).collect();
        let units = &self.state.units;
        self.state.last.retain(|id, _| units.contains_key(id));
        self.state
            .overdue_reported
            .retain(|id, _| units.contains_key(id));
    }

    /// The key register.
    pub fn keys(&self) -> &KeyRegister {
        &self.state.keys
    }

    /// The key register, to sign keys out and in.
    pub fn keys_mut(&mut self) -> &mut KeyRegister {
        &mut self.state.keys
    }

    /// Key sets past their return (their expected return, else out longer than the
    /// configured limit), longest overdue first.
    pub fn keys_overdue(&self, now: DateTime<Utc>) -> Vec<&KeyLoan> {
        self.state
            .keys
            .overdue(self.config.key_out_alert_hours, now)
    }

    /// Hours after sign-out a loan with no expected return is due back.
    pub fn key_out_hours(&self) -> u32 {
        self.config.key_out_alert_hours
    }

    /// Whether a key set is still out `key_alarm_after_hours` past its return: the
    /// alarm's condition (rules.md §13.23; the grace is the product's choice, §14 style).
    pub fn keys_alarm(&self, now: DateTime<Utc>) -> bool {
        let grace = Duration::hours(i64::from(self.config.key_alarm_after_hours));
        self.keys_overdue(now)
            .iter()
            .any(|l| now > l.due_back(self.config.key_out_alert_hours) + grace)
    }

    /// When a unit's next inspection falls due and turns overdue: counted from its last
    /// inspection, or from the day it became vacant.
    pub fn due_dates(&self, unit: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let vacant = self.state.units.get(unit)?;
        let base = self
            .state
            .last
            .get(unit)
            .map_or(vacant.vacant_since, |l| l.at);
        Some((
            base + Duration::days(i64::from(self.config.interval_days)),
            base + Duration::days(i64::from(self.config.overdue_after_days)),
        ))
    }

    /// Units due or overdue at `now`, most overdue first.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<DueUnit> {
        let mut out: Vec<DueUnit> = self
            .state
            .units
            .keys()
            .filter_map(|id| {
                let (due_at, overdue_at) = self.due_dates(id)?;
                let state = if now > overdue_at {
                    DueState::Overdue
                } else {
                    DueState::Due
                };
                (now >= due_at).then(|| DueUnit {
                    unit: id.clone(),
                    due_at,
                    overdue_at,
                    state,
                })
            })
            .collect();
        out.sort_by_key(|d| d.due_at);
        out
    }

    /// Overdue notices, once per due date.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<InspectionEvent> {
        let mut out = Vec::new();
        for due in self
            .due(now)
            .into_iter()
            .filter(|d| d.state == DueState::Overdue)
        {
            if self.state.overdue_reported.get(&due.unit) == Some(&due.due_at) {
                continue;
            }
            self.state
                .overdue_reported
                .insert(due.unit.clone(), due.due_at);
            out.push(InspectionEvent::InspectionOverdue {
                unit: due.unit,
                due_at: due.due_at,
            });
        }
        out
    }

    /// Records an inspection: checks it is complete, fails meter items whose reading moved
    /// or is missing, and opens one incident per category of failed items.
    pub fn submit(
        &mut self,
        mut inspection: Inspection,
        now: DateTime<Utc>,
    ) -> Result<InspectionOutcome, InspectionError> {
        self.check_submission(&inspection)?;
        self.recorded.insert(inspection.id.clone());
        let previous = self.state.last.get(&inspection.unit).map(|l| l.meters);
        let mut events = self.judge_meters(&mut inspection, previous);
        let actions = self.incidents(&inspection);
        self.state.last.insert(
            inspection.unit.clone(),
            LastInspection {
                at: now,
                meters: inspection.meters,
            },
        );
        self.state.overdue_reported.remove(&inspection.unit);
        let passed = inspection.items.iter().all(|i| i.pass);
        events.push(InspectionEvent::InspectionRecorded {
            inspection: Box::new(inspection),
            passed,
        });
        Ok(InspectionOutcome { actions, events })
    }

    /// The checklist first (the phone's own mistake), then the book's state, then a resend.
    fn check_submission(&self, inspection: &Inspection) -> Result<(), InspectionError> {
        let missing: Vec<ChecklistItem> = ChecklistItem::ALL
            .into_iter()
            .filter(|item| !inspection.items.iter().any(|r| r.item == *item))
            .collect();
        if !missing.is_empty() {
            return Err(InspectionError::Incomplete(missing));
        }
        if !self.state.units.contains_key(&inspection.unit) {
            return Err(InspectionError::NotVacant(inspection.unit.clone()));
        }
        match &inspection.key_set {
            Some(set) if self.state.keys.get(set).is_none() => {
                Err(InspectionError::UnknownKeySet(set.clone()))
            }
            _ if self.recorded.contains(&inspection.id) => {
                Err(InspectionError::AlreadyRecorded(inspection.id.clone()))
            }
            _ => Ok(()),
        }
    }

    /// The meter items are judged from the readings, whatever the inspector ticked.
    fn judge_meters(
        &self,
        inspection: &mut Inspection,
        previous: Option<MeterReadings>,
    ) -> Vec<InspectionEvent> {
        let tol = self.config.meter_tolerance;
        let prev = previous.unwrap_or_default();
        let checks = [
            (
                "water",
                ChecklistItem::WaterMeterUnchanged,
                check_meter(prev.water, inspection.meters.water, tol),
            ),
            (
                "power",
                ChecklistItem::PowerMeterUnchanged,
                check_meter(prev.power, inspection.meters.power, tol),
            ),
        ];
        let mut events = Vec::new();
        for (meter, item, check) in checks {
            let note = match check {
                MeterCheck::Unchanged => continue,
                MeterCheck::NotRead => format!("{meter} meter not read"),
                MeterCheck::Moved { from, to } => {
                    let unit = inspection.unit.clone();
                    events.push(InspectionEvent::MeterMoved {
                        unit,
                        meter: meter.to_owned(),
                        from,
                        to,
                    });
                    format!("{meter} meter moved from {from} to {to} since the last inspection")
                }
            };
            fail_item(inspection, item, note);
        }
        events
    }

    fn incidents(&self, inspection: &Inspection) -> Vec<InspectionAction> {
        let mut by_category: BTreeMap<IncidentCategory, (Vec<ChecklistItem>, Vec<String>)> =
            BTreeMap::new();
        for r in inspection.items.iter().filter(|r| !r.pass) {
            let entry = by_category
                .entry(r.item.category(&self.config.item_categories))
                .or_default();
            entry.0.push(r.item);
            entry.1.extend(r.note.clone());
        }
        by_category
            .into_iter()
            .map(
                |(category, (items, notes))| InspectionAction::OpenIncident {
                    category,
                    unit: inspection.unit.clone(),
                    items,
                    notes,
                },
            )
            .collect()
    }
}

fn fail_item(inspection: &mut Inspection, item: ChecklistItem, note: String) {
    if let Some(r) = inspection.items.iter_mut().find(|r| r.item == item) {
        r.pass = false;
        r.note = Some(match r.note.take() {
            Some(own) if !own.is_empty() => format!("{own}; {note}"),
            _ => note,
        });
    }
}
