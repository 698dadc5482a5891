//! The service-request book's commands (报修, 投诉, suggestions): taking one in, each step,
//! and the link to an incident, which crosses into the incident book (an intake naming an
//! incident that does not exist is refused; a link may open one sourced from the request).
//! Every change goes out as [`Output::Request`]: journal, MQTT, live view, metrics and the
//! request's snapshot, like an incident's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{
    IncidentId, IncidentSource, NewIncident, NewRequest, RequestCommand, RequestEvent, RequestId,
    ServiceRequest,
};

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle, Output};

/// A change to the service-request book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestCmd {
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
        step: RequestCommand,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkTo {
    /// One that exists.
    Incident(IncidentId),
    /// A new one, opened at the request's unit and sourced from it.
    Open {
        /// Its category.
        category: String,
        /// Its title.
        title: String,
    },
}

/// The request after a command, and the events the command caused.
#[derive(Debug, Clone, Serialize)]
pub struct RequestAnswer {
    /// The request as it stands now.
    pub request: ServiceRequest,
    /// What changed.
    pub events: Vec<RequestEvent>,
}

pub(super) fn command(books: &mut Books, cmd: RequestCmd, now: DateTime<Utc>) -> Handled {
    let (id, events, mut out) = match cmd {
        RequestCmd::TakeIn { new, incident } => take_in(books, new, incident, now)?,
        RequestCmd::Step { id, step } => {
            let cal = books.incidents.calendar();
            let events = books.requests.apply(id, step, cal, now)?;
            (id, events, Vec::new())
        }
        RequestCmd::Link { id, actor, to } => link(books, id, &actor, to, now)?,
    };
    out.extend(outputs(books, &events));
    let request = books
        .requests
        .get(id)
        .cloned()
        .ok_or(CommandError::Mismatch)?;
    let answer = RequestAnswer { request, events };
    Ok((Answer::Request(Box::new(answer)), out))
}

/// A request's number, its events, and what else the command set off (an incident opened).
type Done = (RequestId, Vec<RequestEvent>, Vec<Output>);

fn take_in(
    books: &mut Books,
    new: NewRequest,
    incident: Option<IncidentId>,
    now: DateTime<Utc>,
) -> Result<Done, CommandError> {
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
) -> Result<Done, CommandError> {
    let unit = books.requests.check_link(id)?.unit.clone();
    let (incident, opened) = match to {
        LinkTo::Incident(incident) => (known_incident(books, incident)?, Vec::new()),
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

fn known_incident(books: &Books, incident: IncidentId) -> Result<IncidentId, CommandError> {
    books
        .incidents
        .get(incident)
        .map(|i| i.id)
        .ok_or(CommandError::UnknownIncident(incident))
}

/// Request events as outputs, each with its request's kind (metrics count by kind).
pub(crate) fn outputs(books: &Books, events: &[RequestEvent]) -> Vec<Output> {
    events
        .iter()
        .filter_map(|ev| {
            let kind = books.requests.get(ev.request)?.kind;
            Some(Output::Request(Box::new(ev.clone()), kind))
        })
        .collect()
}

impl EngineHandle {
    /// A change to the service requests: the request after it and the events it caused.
    pub async fn request(&self, cmd: RequestCmd) -> Result<RequestAnswer, CommandError> {
        match self.command(EngineCommand::Request(cmd)).await? {
            Answer::Request(answer) => Ok(*answer),
            _ => Err(CommandError::Mismatch),
        }
    }
}
