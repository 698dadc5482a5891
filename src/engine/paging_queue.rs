//! The engine's side of paging (the paging task in `crate::paging` takes the other end): a bounded queue the engine offers alarm events to without
//! ever waiting. When it is full the newest event gives way, is counted
//! (`sitewatch_paging_queue_dropped_total`), and the task is told to re-read the alarms
//! from the engine, so a lost raise or acknowledgement is still acted on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use sitewatch_core::alarms::{AlarmEvent, AlarmState, Priority, Transition};
use sitewatch_core::incidents::{
    Incident, IncidentEvent, IncidentEventKind, IncidentSource, IncidentState,
};
use tokio::sync::mpsc;

use prometheus::IntCounter;

/// Room for this many events: a flood of a thousand alarms raised at once fits.
const CAPACITY: usize = 4096;

/// One alarm event with its alarm's raise time.
#[derive(Debug, Clone)]
pub struct PagingInput {
    /// The event.
    pub event: AlarmEvent,
    /// When its alarm was raised (the step keys and time to acknowledge count from it).
    pub raised_at: Option<DateTime<Utc>>,
}

/// The engine's handle.
#[derive(Debug, Clone)]
pub struct PagingQueue {
    tx: mpsc::Sender<PagingInput>,
    lost: Arc<AtomicBool>,
    /// `sitewatch_paging_queue_dropped_total`, registered by the paging module.
    dropped: IntCounter,
}

/// The task's end.
#[derive(Debug)]
pub struct Receiver {
    /// The events, in the order the engine offered them.
    pub rx: mpsc::Receiver<PagingInput>,
    /// Set when an event gave way: the task re-reads the alarms from the engine.
    pub lost: Arc<AtomicBool>,
}

impl PagingQueue {
    /// A queue and its receiving end.
    pub fn new(dropped: IntCounter) -> (PagingQueue, Receiver) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let lost = Arc::new(AtomicBool::new(false));
        (
            PagingQueue {
                tx,
                lost: lost.clone(),
                dropped,
            },
            Receiver { rx, lost },
        )
    }

    /// Offers an event; never waits.
    pub fn offer(&self, event: &AlarmEvent, raised_at: Option<DateTime<Utc>>) {
        if !matters(&event.transition) {
            return;
        }
        let input = PagingInput {
            event: event.clone(),
            raised_at,
        };
        if self.tx.try_send(input).is_err() {
            self.lost.store(true, Ordering::Release);
            self.dropped.inc();
        }
    }
}

impl PagingQueue {
    /// Offers an incident event: an accident opened by hand (rules.md §13.8: an emergency
    /// goes to the superiors at once) is paged as an emergency alarm named
    /// `incident:{id}`; its leaving `reported` (dispatched, cancelled…) stops the pages.
    /// Incidents opened by an alarm are paged through that alarm.
    pub fn offer_incident(&self, ev: &IncidentEvent, incident: Option<&Incident>) {
        let Some(i) = incident else { return };
        let transition = match &ev.kind {
            IncidentEventKind::Opened {
                source: IncidentSource::Manual,
                ..
            } if i.accident => Transition::Raised,
            IncidentEventKind::StateChanged {
                from: IncidentState::Reported,
                ..
            } if paged(i) => Transition::Acknowledged,
            _ => return,
        };
        let event = AlarmEvent {
            alarm: incident_alarm(i.id),
            device: i.location.clone(),
            point: None,
            priority: Priority::Emergency,
            transition,
            state: AlarmState::UnackActive,
            at: ev.at,
            actor: Some(ev.actor.clone()),
            note: None,
            message: i.title.clone(),
            message_zh: None,
            value: None,
        };
        self.offer(&event, Some(i.reported_at));
    }
}

/// Whether an incident is paged: an accident opened by hand.
pub fn paged(i: &Incident) -> bool {
    i.accident && i.source == IncidentSource::Manual
}

/// The name an incident's pages carry in place of an alarm id.
pub fn incident_alarm(id: i64) -> String {
    format!("incident:{id}")
}

/// The transitions paging acts on: a raise or a step pages, the rest stop pages.
fn matters(t: &Transition) -> bool {
    matches!(
        t,
        Transition::Raised
            | Transition::Escalated { .. }
            | Transition::Acknowledged
            | Transition::Cleared
            | Transition::Shelved { .. }
            | Transition::Suppressed
            | Transition::OutOfService
    )
}
