//! The incident book: the aggregate the engine owns. It numbers incidents, applies
//! commands, turns alarms into incidents by policy (one open incident per alarm), ticks
//! the clocks, and answers the board and `/metrics`.
//!
//! Ids: the book keeps a counter. It starts at 1 and, after [`IncidentBook::restore`], at
//! one past the highest restored id, so the store's rows and the book agree without the
//! caller passing ids in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IncidentError;
use super::attachments::AttachmentLimits;
use super::calendar::{CalendarConfig, WorkingCalendar};
use super::category::{CategoryConfig, CategorySpec};
use super::event::{IncidentAction, IncidentCommand, IncidentEvent, SYSTEM_ACTOR};
use super::incident::{
    ClockView, Incident, IncidentId, IncidentSource, IncidentState, NewIncident,
};
use super::policy::{AlarmDecision, AlarmPolicyConfig, AlarmSignal};
use super::sla::{SlaAnchor, SlaKind, SlaRule};

/// Everything the incident workflow is configured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Categories, departments and their clocks.
    pub catalogue: CategoryConfig,
    /// What the insurer clock counts from: `occurrence` (default, rules.md §13.4, seed
    /// 004:157) or `resolved` ("事故发生处理后", seed 004:171).
    pub insurer_anchor: SlaAnchor,
    /// Which alarms open incidents.
    pub alarm_policy: AlarmPolicyConfig,
    /// Working days and the site time zone.
    pub calendar: CalendarConfig,
    /// Attachment size and type limits.
    pub attachments: AttachmentLimits,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        Self {
            catalogue: CategoryConfig::default(),
            insurer_anchor: SlaAnchor::Occurrence,
            alarm_policy: AlarmPolicyConfig::default(),
            calendar: CalendarConfig::default(),
            attachments: AttachmentLimits::default(),
        }
    }
}

/// A configuration the book refuses, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid incidents config: {}", problems.join("; "))]
pub struct IncidentConfigError {
    /// Each problem, one sentence each.
    pub problems: Vec<String>,
}

/// Counts for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFigures {
    /// Open incidents by (category, state).
    pub open: BTreeMap<(String, IncidentState), u64>,
    /// Breached clocks by SLA over every incident the book holds.
    pub breaches: BTreeMap<SlaKind, u64>,
}

/// All incidents of a site and the rules they run by.
#[derive(Debug, Clone)]
pub struct IncidentBook {
    config: IncidentsConfig,
    calendar: WorkingCalendar,
    incidents: BTreeMap<IncidentId, Incident>,
    next_id: IncidentId,
    /// High-priority alarms waiting out their unacknowledged time. Not persisted: after a
    /// restart the engine feeds the active alarms in again through `on_alarm`.
    waiting: BTreeMap<String, AlarmSignal>,
}

impl IncidentBook {
    /// An empty book, after checking the config.
    pub fn new(config: IncidentsConfig) -> Result<Self, IncidentConfigError> {
        let calendar = WorkingCalendar::new(&config.calendar);
        let mut problems = category_problems(&config);
        if let Err(e) = &calendar {
            problems.push(e.to_string());
        }
        match calendar {
            Ok(calendar) if problems.is_empty() => Ok(Self {
                config,
                calendar,
                incidents: BTreeMap::new(),
                next_id: 1,
                waiting: BTreeMap::new(),
            }),
            _ => Err(IncidentConfigError { problems }),
        }
    }

    /// An alarm's category: the hint itself when it names a catalogue category (a rule
    /// that says `category = "equipment_damage"`), else the policy's hint table.
    fn category_for_alarm(&self, hint: &str) -> String {
        if self.config.catalogue.get(hint).is_some() {
            return hint.to_owned();
        }
        self.config.alarm_policy.category_for(hint)
    }

    /// The site calendar the book counts working days on.
    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// Opens an incident and starts its clocks.
    pub fn open(
        &mut self,
        new: NewIncident,
        now: DateTime<Utc>,
    ) -> Result<(IncidentId, Vec<IncidentEvent>), IncidentError> {
        let spec = self
            .config
            .catalogue
            .get(&new.category)
            .ok_or_else(|| IncidentError::UnknownCategory(new.category.clone()))?;
        let rules = rules_for(spec, self.config.insurer_anchor);
        let id = self.next_id;
        let (incident, events) = Incident::open(id, new, spec, &rules, &self.calendar, now);
        self.incidents.insert(id, incident);
        self.next_id += 1;
        Ok((id, events))
    }

    /// Applies a command to incident `id`. Attachments are checked against the limits.
    pub fn apply(
        &mut self,
        id: IncidentId,
        cmd: IncidentCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<IncidentEvent>, IncidentError> {
        if let IncidentAction::Attach(file) = &cmd.action
            && let Some(reason) = self.config.attachments.refusal(file)
        {
            return Err(IncidentError::AttachmentRefused(reason));
        }
        let incident = self
            .incidents
            .get_mut(&id)
            .ok_or(IncidentError::NotFound(id))?;
        let IncidentAction::RaiseToAccident { category } = &cmd.action else {
            return incident.apply(cmd, &self.calendar, now);
        };
        let spec = self
            .config
            .catalogue
            .get(category)
            .ok_or_else(|| IncidentError::UnknownCategory(category.clone()))?;
        if !spec.accident {
            return Err(IncidentError::NotAnAccident(category.clone()));
        }
        let rules = rules_for(spec, self.config.insurer_anchor);
        incident.raise(cmd, spec, &rules, &self.calendar, now)
    }

    /// Feeds an alarm's current state. A trip of an alarm whose incident is still open
    /// attaches to it; otherwise the policy decides whether to open one now, later, or never.
    pub fn on_alarm(&mut self, signal: AlarmSignal, now: DateTime<Utc>) -> Vec<IncidentEvent> {
        if let Some(incident) = self.open_incident_for_alarm_mut(&signal.alarm_id) {
            let event = incident.attach_alarm(&signal.alarm_id, signal.raised_at, now);
            self.waiting.remove(&signal.alarm_id);
            return event.into_iter().collect();
        }
        match self.config.alarm_policy.decide(&signal, now) {
            AlarmDecision::OpenNow => {
                self.waiting.remove(&signal.alarm_id);
                self.open_from_alarm(signal, now)
            }
            AlarmDecision::OpenAt(_) => {
                self.waiting.insert(signal.alarm_id.clone(), signal);
                Vec::new()
            }
            AlarmDecision::Never => {
                self.waiting.remove(&signal.alarm_id);
                Vec::new()
            }
        }
    }

    /// Opens incidents for alarms whose wait ran out, and breaches overdue clocks.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<IncidentEvent> {
        let due: Vec<String> = self
            .waiting
            .iter()
            .filter(|(_, s)| self.config.alarm_policy.decide(s, now) == AlarmDecision::OpenNow)
            .map(|(id, _)| id.clone())
            .collect();
        let mut events = Vec::new();
        for id in due {
            if let Some(signal) = self.waiting.remove(&id) {
                events.extend(self.on_alarm(signal, now));
            }
        }
        for incident in self.incidents.values_mut() {
            events.extend(incident.tick(now));
        }
        events
    }

    /// Incidents not yet closed or cancelled, by id.
    pub fn open_incidents(&self) -> Vec<&Incident> {
        self.incidents
            .values()
            .filter(|i| i.state.is_open())
            .collect()
    }

    /// Every incident the book holds, open or not, by id.
    pub fn all_incidents(&self) -> Vec<&Incident> {
        self.incidents.values().collect()
    }

    /// Incident `id`, open or not.
    pub fn get(&self, id: IncidentId) -> Option<&Incident> {
        self.incidents.get(&id)
    }

    /// Loads incidents from the store (replacing any with the same id) and moves the id
    /// counter past them.
    pub fn restore(&mut self, incidents: Vec<Incident>) {
        for incident in incidents {
            self.next_id = self.next_id.max(incident.id + 1);
            self.incidents.insert(incident.id, incident);
        }
    }

    /// Every running clock of every open incident, and the evidence clocks a closed
    /// accident still owes, soonest due first.
    pub fn board(&self, now: DateTime<Utc>) -> Vec<ClockView> {
        let mut clocks: Vec<ClockView> = self
            .incidents
            .values()
            .flat_map(|i| i.running_clocks(now))
            .collect();
        clocks.sort_by_key(|c| c.due_at);
        clocks
    }

    /// Counts for `/metrics`.
    pub fn figures(&self) -> IncidentFigures {
        let mut figures = IncidentFigures::default();
        for incident in self.incidents.values() {
            if incident.state.is_open() {
                *figures
                    .open
                    .entry((incident.category.clone(), incident.state))
                    .or_default() += 1;
            }
            for clock in incident.clocks.iter().filter(|c| c.breached) {
                *figures.breaches.entry(clock.sla).or_default() += 1;
            }
        }
        figures
    }

    fn open_incident_for_alarm_mut(&mut self, alarm_id: &str) -> Option<&mut Incident> {
        self.incidents
            .values_mut()
            .find(|i| i.state.is_open() && i.alarm_ids().any(|a| a == alarm_id))
    }

    fn open_from_alarm(&mut self, signal: AlarmSignal, now: DateTime<Utc>) -> Vec<IncidentEvent> {
        let new = NewIncident {
            category: self.category_for_alarm(&signal.category_hint),
            title: signal.message.clone(),
            location: signal.location.clone(),
            reported_by: SYSTEM_ACTOR.to_owned(),
            occurred_at: Some(signal.raised_at),
            source: IncidentSource::Alarm(signal.alarm_id.clone()),
        };
        // `new` checked every hint target and the fallback against the catalogue.
        let Ok((id, mut events)) = self.open(new, now) else {
            return Vec::new();
        };
        if let Some(incident) = self.incidents.get_mut(&id) {
            events.extend(incident.attach_alarm(&signal.alarm_id, signal.raised_at, now));
        }
        events
    }
}

/// A category's rules, with the site's insurer anchor applied.
fn rules_for(spec: &CategorySpec, insurer_anchor: SlaAnchor) -> Vec<SlaRule> {
    spec.clocks
        .iter()
        .map(|rule| match rule.sla {
            SlaKind::InsurerNotified => SlaRule {
                anchor: insurer_anchor,
                ..*rule
            },
            _ => *rule,
        })
        .collect()
}

/// Alarm hints and the fallback must name categories that exist.
fn category_problems(config: &IncidentsConfig) -> Vec<String> {
    let policy = &config.alarm_policy;
    policy
        .category_hints
        .iter()
        .map(|(hint, key)| (format!("alarm hint `{hint}`"), key))
        .chain(std::iter::once((
            "fallback_category".to_owned(),
            &policy.fallback_category,
        )))
        .filter(|(_, key)| config.catalogue.get(key).is_none())
        .map(|(what, key)| format!("{what} names unknown category `{key}`"))
        .chain(desk_hours_problems(&config.catalogue))
        .collect()
}

/// Desk hours belong to the service desk's requests (`[service]`); an incident's clock
/// runs round the clock, so a category clock asking for desk hours is refused rather than
/// silently counted round the clock.
fn desk_hours_problems(catalogue: &super::CategoryConfig) -> Vec<String> {
    let specs = catalogue.categories.iter().chain(&catalogue.extra);
    specs
        .flat_map(|c| c.clocks.iter().map(move |r| (c, r)))
        .filter(|(_, r)| r.desk_hours)
        .map(|(c, r)| {
            let sla = r.sla.as_str();
            format!("category `{}`: `{sla}` cannot count desk hours", c.key)
        })
        .collect()
}
