//! The site's service requests as one book, like the incident book: it numbers them, takes
//! them in with their clocks, applies every step, links a request to its incident once, and
//! chases overdue deadlines (催办) once a minute of business time ([`RequestBook::run_due`]).
//! Every change comes back as [`RequestEvent`]s for the caller to journal and publish.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::calendar::{Desk, WorkingCalendar};
use super::handover::HandoverItem;
use super::incident::IncidentId;
use super::service::{
    NewRequest, RequestId, RequestState, ServiceConfig, ServiceError, ServiceRequest,
};
use super::service_event::{RequestCommand, RequestEvent, RequestEventKind};
use super::service_flow::Clocks;

/// Business time between two deadline checks (the chase).
pub const CHASE_EVERY: chrono::Duration = chrono::Duration::seconds(60);
/// The window of the follow-up rate (回访率, rules.md §13.17).
pub const FOLLOW_UP_RATE_WINDOW: chrono::Duration = chrono::Duration::days(30);

/// Counts for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFigures {
    /// Requests by (kind, state).
    pub by_state: BTreeMap<(&'static str, RequestState), u64>,
    /// Open requests past a deadline, by kind (every kind present, zero included).
    pub overdue: BTreeMap<&'static str, u64>,
    /// Repairs and complaints completed within [`FOLLOW_UP_RATE_WINDOW`].
    pub completed: usize,
    /// Of `completed`, those followed up.
    pub followed_up: usize,
}

/// Every service request of the site and the deadlines new ones get.
#[derive(Debug, Clone)]
pub struct RequestBook {
    config: ServiceConfig,
    desk: Desk,
    requests: BTreeMap<RequestId, ServiceRequest>,
    next_id: RequestId,
    last_chase: Option<DateTime<Utc>>,
}

impl RequestBook {
    /// An empty book giving new requests the clocks of `config` (`[service]`), its desk
    /// hours counted in `tz`, the site's zone.
    pub fn new(config: ServiceConfig, tz: chrono_tz::Tz) -> Self {
        Self {
            desk: Desk::new(config.desk_hours, tz),
            config,
            requests: BTreeMap::new(),
            next_id: 1,
            last_chase: None,
        }
    }

    /// Puts back requests kept from before a restart; numbering goes on after the highest.
    pub fn restore(&mut self, requests: Vec<ServiceRequest>) {
        for r in requests {
            self.next_id = self.next_id.max(r.id + 1);
            self.requests.insert(r.id, r);
        }
    }

    /// Takes in a request at `now`, with the clocks of its kind, naming `incident` when it
    /// came from one (the caller checks that the incident exists).
    pub fn take_in(
        &mut self,
        new: NewRequest,
        incident: Option<IncidentId>,
        calendar: &WorkingCalendar,
        now: DateTime<Utc>,
    ) -> Result<(RequestId, Vec<RequestEvent>), ServiceError> {
        if incident.is_some() && !new.kind.is_work() {
            return Err(ServiceError::NotLinkable);
        }
        let actor = new.received_by.clone();
        let id = self.next_id;
        let (mut request, mut events) =
            ServiceRequest::new(id, new, &self.config, self.clocks(calendar), now);
        if let Some(incident) = incident {
            events.extend(request.link_incident(incident, &actor, now)?);
        }
        self.requests.insert(id, request);
        self.next_id += 1;
        Ok((id, events))
    }

    /// Applies one step to request `id`. A refused step changes nothing.
    pub fn apply(
        &mut self,
        id: RequestId,
        cmd: RequestCommand,
        calendar: &WorkingCalendar,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, ServiceError> {
        let clocks = Clocks {
            calendar,
            desk: &self.desk,
        };
        let request = self
            .requests
            .get_mut(&id)
            .ok_or(ServiceError::NotFound(id))?;
        request.apply(cmd, clocks, now)
    }

    fn clocks<'a>(&'a self, calendar: &'a WorkingCalendar) -> Clocks<'a> {
        Clocks {
            calendar,
            desk: &self.desk,
        }
    }

    /// The desk hours the book's clocks pause outside.
    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    /// Whether request `id` may be linked to an incident now (before one is opened for it).
    pub fn check_link(&self, id: RequestId) -> Result<&ServiceRequest, ServiceError> {
        let request = self.get(id).ok_or(ServiceError::NotFound(id))?;
        request.check_link()?;
        Ok(request)
    }

    /// Links request `id` to `incident` (the caller checks that the incident exists).
    pub fn link(
        &mut self,
        id: RequestId,
        incident: IncidentId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, ServiceError> {
        self.get_mut(id)?.link_incident(incident, actor, now)
    }

    /// The periodic deadline check: once [`CHASE_EVERY`] of business time has passed since
    /// the last one, every open request breaches its overdue clocks (once each) and gets a
    /// chaser per breach. Between checks it returns nothing.
    pub fn run_due(&mut self, now: DateTime<Utc>) -> Vec<RequestEvent> {
        if self.last_chase.is_some_and(|l| now - l < CHASE_EVERY) {
            return Vec::new();
        }
        self.last_chase = Some(now);
        self.requests
            .values_mut()
            .flat_map(|r| r.tick(now))
            .collect()
    }

    /// One request.
    pub fn get(&self, id: RequestId) -> Option<&ServiceRequest> {
        self.requests.get(&id)
    }

    fn get_mut(&mut self, id: RequestId) -> Result<&mut ServiceRequest, ServiceError> {
        self.requests.get_mut(&id).ok_or(ServiceError::NotFound(id))
    }

    /// Every request, by number.
    pub fn all(&self) -> impl Iterator<Item = &ServiceRequest> {
        self.requests.values()
    }

    /// A person's open work: the open requests given to `person`, by number.
    pub fn open_work_of<'a>(&'a self, person: &'a str) -> impl Iterator<Item = &'a ServiceRequest> {
        self.all()
            .filter(move |r| r.state.is_open() && r.assigned_to.as_deref() == Some(person))
    }

    /// The requests linked to `incident`, by number.
    pub fn of_incident(&self, incident: IncidentId) -> Vec<&ServiceRequest> {
        self.all()
            .filter(|r| r.incident == Some(incident))
            .collect()
    }

    /// Open repairs and complaints as hand-over items (suggestions are answered by the
    /// office, not handed over).
    pub fn handover_items(&self, now: DateTime<Utc>) -> Vec<HandoverItem> {
        self.all()
            .filter(|r| r.kind.is_work())
            .filter_map(|r| r.handover_item(now))
            .collect()
    }

    /// The figures `/metrics` shows at `now`.
    pub fn figures(&self, now: DateTime<Utc>) -> ServiceFigures {
        let mut f = ServiceFigures::default();
        for kind in KINDS {
            f.overdue.insert(kind, 0);
        }
        for r in self.all() {
            let kind = r.kind.as_str();
            *f.by_state.entry((kind, r.state)).or_default() += 1;
            if r.is_overdue(now) {
                *f.overdue.entry(kind).or_default() += 1;
            }
            let recent = r
                .completion
                .as_ref()
                .is_some_and(|c| now - c.at <= FOLLOW_UP_RATE_WINDOW);
            if r.kind.is_work() && recent {
                f.completed += 1;
                f.followed_up += usize::from(r.follow_up.is_some());
            }
        }
        f
    }
}

/// Every kind, so a gauge shows zero rather than nothing.
const KINDS: [&str; 3] = ["repair", "complaint", "suggestion"];

impl ServiceRequest {
    /// Whether this request may name an incident: a repair or complaint not linked yet.
    pub fn check_link(&self) -> Result<(), ServiceError> {
        if !self.kind.is_work() {
            return Err(ServiceError::NotLinkable);
        }
        match self.incident {
            Some(incident) => Err(ServiceError::AlreadyLinked {
                id: self.id,
                incident,
            }),
            None => Ok(()),
        }
    }

    /// Names the incident this request came from or opened; linked once.
    pub fn link_incident(
        &mut self,
        incident: IncidentId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, ServiceError> {
        self.check_link()?;
        self.incident = Some(incident);
        let event = RequestEvent {
            request: self.id,
            at: now,
            actor: actor.to_owned(),
            note: String::new(),
            kind: RequestEventKind::IncidentLinked { incident },
        };
        self.timeline.push(event.clone());
        Ok(vec![event])
    }

    /// Whether it waits for its follow-up call (回访): a repair or complaint completed and
    /// not yet followed up.
    pub fn awaits_follow_up(&self) -> bool {
        self.state == RequestState::Completed && self.kind.is_work()
    }
}
