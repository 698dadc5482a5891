//! Service requests (报修, 投诉, suggestions) in the engine: taking one in, each step, and
//! the link to an incident, which crosses into the incident book (an intake naming an
//! incident that does not exist is refused; a link may open one sourced from the request).
//! Every change goes out as [`Output::Request`]: journal, MQTT, live view, metrics and the
//! request's snapshot, like an incident's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{
    IncidentError, IncidentId, IncidentSource, NewIncident, NewRequest, RequestEvent, RequestId,
    ServiceError, ServiceRequest,
};

use super::{Books, Output};

/// A change to the service requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestCommand {
    /// Take in a request, naming the incident it came from if any.
    TakeIn {
        /// What the desk took in.
        new: NewRequest,
        /// The incident it came from.
        incident: Option<IncidentId>,
    },
    /// One step on a request (acknowledge, dispatch, complete, follow up, …).
    Step {
        /// The request.
        id: RequestId,
        /// Who, what, and a note.
        step: sitewatch_core::incidents::RequestCommand,
    },
    /// Link a request to the incident it came from, or open one from it.
    Link {
        /// The request.
        id: RequestId,
        /// Who links it.
        actor: String,
        /// The incident.
        to: LinkTo,
    },
}

/// The incident a request is linked to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LinkTo {
    /// One that exists.
    Incident {
        /// Its number.
        incident: IncidentId,
    },
    /// A new one, opened at the request's unit and sourced from it.
    Open {
        /// Its category.
        category: String,
        /// Its title.
        title: String,
    },
}

/// The request after a command, and the events the command caused.
#[derive(Debug, Clone)]
pub struct RequestAnswer {
    /// The request as it stands now.
    pub request: ServiceRequest,
    /// What changed.
    pub events: Vec<RequestEvent>,
}

/// Why a request command was refused; a refused command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    /// The request's own rules.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The incident named does not exist.
    #[error("incident {0} not found")]
    UnknownIncident(IncidentId),
    /// The incident to open was refused (an unknown category).
    #[error(transparent)]
    Incident(#[from] IncidentError),
}

/// What [`handle`] gives back: the answer, and the outputs for the sinks.
pub(super) type Handled = (Result<RequestAnswer, RequestRefusal>, Vec<Output>);

/// Applies `cmd` to the books at `now`.
pub(super) fn handle(books: &mut Books, cmd: RequestCommand, now: DateTime<Utc>) -> Handled {
    let result = match cmd {
        RequestCommand::TakeIn { new, incident } => take_in(books, new, incident, now),
        RequestCommand::Step { id, step } => {
            let cal = books.incidents.calendar();
            books
                .requests
                .apply(id, step, cal, now)
                .map(|events| (id, events, Vec::new()))
                .map_err(RequestRefusal::from)
        }
        RequestCommand::Link { id, actor, to } => link(books, id, &actor, to, now),
    };
    match result {
        Ok((id, events, mut out)) => {
            out.extend(outputs(books, &events));
            let request = books.requests.get(id).cloned();
            let answer = request.map(|request| RequestAnswer { request, events });
            (answer.ok_or(ServiceError::NotFound(id).into()), out)
        }
        Err(refusal) => (Err(refusal), Vec::new()),
    }
}

/// A request's number, its events, and what else the command set off (an incident opened).
type Done = (RequestId, Vec<RequestEvent>, Vec<Output>);

fn take_in(
    books: &mut Books,
    new: NewRequest,
    incident: Option<IncidentId>,
    now: DateTime<Utc>,
) -> Result<Done, RequestRefusal> {
    if let Some(incident) = incident {
        known_incident(books, incident)?;
    }
    let cal = books.incidents.calendar();
    let (id, events) = books.requests.take_in(new, incident, cal, now)?;
    Ok((id, events, Vec::new()))
}

fn link(
    books: &mut Books,
    id: RequestId,
    actor: &str,
    to: LinkTo,
    now: DateTime<Utc>,
) -> Result<Done, RequestRefusal> {
    let unit = books.requests.check_link(id)?.unit.clone();
    let (incident, opened) = match to {
        LinkTo::Incident { incident } => (known_incident(books, incident)?, Vec::new()),
        LinkTo::Open { category, title } => {
            let new = NewIncident {
                category,
                title,
                location: unit,
                reported_by: actor.to_owned(),
                occurred_at: None,
                source: IncidentSource::ServiceRequest(id),
            };
            let (incident, events) = books.incidents.open(new, now)?;
            (incident, events.into_iter().map(Output::incident).collect())
        }
    };
    let events = books.requests.link(id, incident, actor, now)?;
    Ok((id, events, opened))
}

fn known_incident(books: &Books, incident: IncidentId) -> Result<IncidentId, RequestRefusal> {
    books
        .incidents
        .get(incident)
        .map(|i| i.id)
        .ok_or(RequestRefusal::UnknownIncident(incident))
}

/// Request events as outputs, each with its request's kind (metrics count by kind).
pub(super) fn outputs(books: &Books, events: &[RequestEvent]) -> Vec<Output> {
    events
        .iter()
        .filter_map(|ev| {
            let kind = books.requests.get(ev.request)?.kind;
            Some(Output::Request(Box::new(ev.clone()), kind))
        })
        .collect()
}
