//! What the core decided, and the sinks it goes to: metrics, the store (journal, history,
//! book snapshots) and the live broadcast for the dashboard and SSE.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sitewatch_core::alarms::AlarmEvent;
use sitewatch_core::compliance::ComplianceItem;
use sitewatch_core::incidents::{
    HandoverEvent, HandoverId, IncidentEvent, IncidentId, RequestEvent, RequestId, RequestKind,
};
use sitewatch_core::inspections::{InspectionEvent, KeyInventory, KeyLoan};
use sitewatch_core::maintenance::MaintenanceEvent;
use sitewatch_core::patrol::{PatrolEvent, ScanRecord};
use sitewatch_core::points::PointEvent;
use std::sync::Arc;

use super::Books;
use super::EngineMetrics;
use super::live::LiveHub;
use crate::store::writer::{StoreItem, StoreSender, Ticket};
use crate::store::{DutyEntry, OutMessage, Reading, Record};

/// One decision of the core. Point samples are by far the most numerous (the live ring
/// holds thousands), so the rare, larger events are boxed to keep every one small.
#[derive(Debug, Clone)]
pub enum Output {
    /// From the points hub.
    Point(PointEvent),
    /// From the patrol book.
    Patrol(Box<PatrolEvent>),
    /// A judged scan.
    Scan(Box<ScanRecord>),
    /// From the vacant-unit book.
    Inspection(InspectionEvent),
    /// From the incident book.
    Incident(Box<IncidentEvent>),
    /// From the alarm engine.
    Alarm(Box<AlarmEvent>),
    /// The vacant list or the key register changed (not by an inspection).
    Vacant(Box<VacantChange>),
    /// From the service-request book, with the request's kind (metrics count by kind).
    Request(Box<RequestEvent>, RequestKind),
    /// From the hand-over book.
    Handover(Box<HandoverEvent>),
    /// A duty-log entry (值班记录), numbered by the hand-over book.
    DutyLog(Box<DutyEntry>),
    /// From the maintenance book (pump sets, plant tasks).
    Maintenance(Box<MaintenanceEvent>),
    /// From the compliance register.
    Compliance(Box<ComplianceChange>),
}

/// A change to the compliance register.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ComplianceChange {
    /// Items added or replaced.
    Put {
        /// The items.
        items: Vec<ComplianceItem>,
        /// Who.
        by: String,
    },
    /// An inspection done.
    Done {
        /// The item as it now stands.
        item: ComplianceItem,
        /// The site-local day.
        on: chrono::NaiveDate,
        /// Who recorded it.
        by: String,
    },
}

impl Output {
    /// A patrol event, boxed.
    pub fn patrol(ev: PatrolEvent) -> Self {
        Self::Patrol(Box::new(ev))
    }

    /// An incident event, boxed.
    pub fn incident(ev: IncidentEvent) -> Self {
        Self::Incident(Box::new(ev))
    }

    /// A hand-over event, boxed.
    pub fn handover(ev: HandoverEvent) -> Self {
        Self::Handover(Box::new(ev))
    }

    /// A vacant-list or key change, boxed.
    pub fn vacant(change: VacantChange) -> Self {
        Self::Vacant(Box::new(change))
    }
}

/// A change to the vacant list or the key register.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VacantChange {
    /// A unit joined or left the vacant list.
    Occupancy {
        /// Unit id.
        unit: String,
        /// Vacant now.
        vacant: bool,
    },
    /// A key set was signed out or back in.
    Key {
        /// The loan as it stands.
        loan: KeyLoan,
    },
    /// Key-register lines added or changed.
    Sets {
        /// Their ids.
        sets: Vec<String>,
    },
    /// The board counted.
    Inventory {
        /// The count, with what is missing.
        inventory: KeyInventory,
    },
}

/// Where decisions go.
#[derive(Debug)]
pub struct Sinks {
    /// Prometheus.
    pub metrics: EngineMetrics,
    /// The store writer.
    pub store: StoreSender,
    /// Live views.
    pub live: Arc<LiveHub>,
    /// `sitewatch/{site}` when events are published over MQTT; `None` keeps no outbox.
    pub mqtt_prefix: Option<String>,
    /// The paging queue when `[paging]` is set: alarm events are offered, never waited on.
    pub paging: Option<super::paging_queue::PagingQueue>,
    /// With `[central] history = "all"`, the forward buffer's gate: samples the site's
    /// history skips still travel to the centre (the writer forwards the rest).
    pub central_all: Option<Arc<crate::store::central::Gate>>,
}

impl Sinks {
    /// Sends each output to every sink, then snapshots the books that changed. `now` is
    /// the engine clock's time, stamped on entries whose event carries none. Never waits:
    /// the store takes its items into its backlog whatever the database is doing.
    pub fn emit(&self, books: &Books, outputs: Vec<Output>, now: DateTime<Utc>) -> Option<Ticket> {
        self.keep(books, outputs, Vec::new(), now)
    }

    /// [`Sinks::emit`], with records for tables of their own in the same store message,
    /// so they are written with the journal and snapshots of the same decisions. The
    /// ticket says when the store has kept them; `None` when there was nothing to keep.
    pub fn keep(
        &self,
        books: &Books,
        outputs: Vec<Output>,
        records: Vec<Record>,
        now: DateTime<Utc>,
    ) -> Option<Ticket> {
        let mut items = Vec::new();
        self.stage(books, outputs, now, &mut items);
        items.extend(records.into_iter().map(StoreItem::Record));
        self.store.send(items)
    }

    /// Metrics and live views at once; what the store keeps goes into `items`, for the
    /// caller to send in one message (several engine steps may share it). The snapshots of
    /// the books that changed come last.
    pub fn stage(
        &self,
        books: &Books,
        outputs: Vec<Output>,
        now: DateTime<Utc>,
        items: &mut Vec<StoreItem>,
    ) {
        let mut changed = Changed::default();
        for out in outputs {
            self.metrics.output(&out);
            log_device(&out);
            changed.note(&out);
            match (&self.paging, &out) {
                (Some(q), Output::Alarm(ev)) => {
                    let raised = books.alarms.alarm(&ev.alarm).and_then(|a| a.raised_at);
                    q.offer(ev, raised);
                }
                (Some(q), Output::Incident(ev)) => {
                    q.offer_incident(ev, books.incidents.get(ev.incident));
                }
                _ => {}
            }
            items.extend(store_item(&out, now));
            items.extend(self.central_sample(&out, now));
            items.extend(record(&out, now).map(StoreItem::Record));
            if let Some(prefix) = self.mqtt_prefix.as_deref() {
                let messages = mqtt_messages(prefix, &out);
                items.extend(messages.into_iter().map(|m| StoreItem::Outbox(now, m)));
            }
            self.live.publish(out);
        }
        items.extend(changed.snapshots(books, now));
    }
}

impl Sinks {
    /// A sample the site's history skips, for the centre when it takes every sample.
    fn central_sample(&self, out: &Output, now: DateTime<Utc>) -> Option<StoreItem> {
        let gate = self.central_all.as_ref()?;
        let Output::Point(PointEvent::Sample {
            point,
            value,
            at,
            record: false,
            ..
        }) = out
        else {
            return None;
        };
        let reading = Reading {
            point: point.clone(),
            at: *at,
            value: *value,
        };
        gate.history(1)
            .then(|| crate::store::central::reading_row(&reading))
            .flatten()
            .map(|m| StoreItem::Outbox(now, m))
    }
}

/// One log line when a device stops answering and one when it answers again; the engine
/// decides both once per change, so the log is as quiet as the plant.
fn log_device(out: &Output) {
    if let Output::Point(PointEvent::Device {
        device, up, reason, ..
    }) = out
    {
        match (up, reason) {
            (true, _) => tracing::info!(device = %device, "device communication recovered"),
            (false, reason) => tracing::warn!(
                device = %device,
                reason = reason.as_deref().unwrap_or("unknown"),
                "device communication lost"
            ),
        }
    }
}

#[derive(Default)]
struct Changed {
    patrol: bool,
    vacant: bool,
    alarms: bool,
    maintenance: bool,
    incidents: std::collections::BTreeSet<IncidentId>,
    requests: std::collections::BTreeSet<RequestId>,
    handovers: std::collections::BTreeSet<HandoverId>,
}

impl Changed {
    fn note(&mut self, out: &Output) {
        match out {
            Output::Patrol(_) | Output::Scan(_) => self.patrol = true,
            Output::Inspection(_) | Output::Vacant(_) => self.vacant = true,
            Output::Incident(ev) => {
                self.incidents.insert(ev.incident);
            }
            Output::Alarm(_) => self.alarms = true,
            Output::Maintenance(_) => self.maintenance = true,
            // Its tables are its state (`Record::Compliance*`), read back at start.
            Output::Compliance(_) => {}
            Output::Request(ev, _) => {
                self.requests.insert(ev.request);
            }
            Output::Handover(ev) => {
                self.handovers.insert(ev.handover);
            }
            Output::Point(_) | Output::DutyLog(_) => {}
        }
    }

    fn snapshots(&self, books: &Books, now: DateTime<Utc>) -> Vec<StoreItem> {
        let mut out = Vec::new();
        let mut push = |name: &str, body: Option<String>| {
            if let Some(body) = body {
                out.push(StoreItem::State(name.into(), body, now));
            }
        };
        if self.patrol {
            push(
                "patrol",
                serde_json::to_string(&books.patrol.snapshot()).ok(),
            );
        }
        if self.vacant {
            push(
                "vacant",
                serde_json::to_string(&books.vacant.snapshot()).ok(),
            );
        }
        if self.maintenance {
            push("maintenance", to_json(&books.maintenance));
        }
        if self.alarms {
            push(
                "alarms",
                serde_json::to_string(&AlarmSnapshot::of(books)).ok(),
            );
        }
        for id in &self.incidents {
            let body = books
                .incidents
                .get(*id)
                .and_then(|i| serde_json::to_string(i).ok());
            push(&format!("incident:{id}"), body);
        }
        for id in &self.requests {
            let body = books.requests.get(*id).and_then(to_json);
            push(&format!("request:{id}"), body);
        }
        for id in &self.handovers {
            let body = books.handovers.get(*id).and_then(to_json);
            push(&format!("handover:{id}"), body);
        }
        out
    }
}

fn to_json<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_string(v).ok()
}

fn journal(
    at: DateTime<Utc>,
    kind: &str,
    subject: &str,
    body: &impl Serialize,
) -> Option<StoreItem> {
    let body = serde_json::to_string(body).ok()?;
    Some(StoreItem::Event(at, kind.into(), subject.into(), body))
}

fn store_item(out: &Output, now: DateTime<Utc>) -> Option<StoreItem> {
    match out {
        Output::Point(PointEvent::Sample {
            point,
            value,
            at,
            record: true,
            slot,
        }) => Some(StoreItem::Reading(
            Reading {
                point: point.clone(),
                at: *at,
                value: *value,
            },
            *slot,
        )),
        // Every point has one on every start, and history keeps its value: 20,000 rows a
        // start at a large site that say nothing the readings do not.
        Output::Point(PointEvent::Quality {
            first_value: true, ..
        }) => None,
        Output::Point(ev @ PointEvent::Quality { point, at, .. }) => {
            journal(*at, "point_quality", point, ev)
        }
        Output::Point(ev @ PointEvent::Device { device, at, .. }) => {
            journal(*at, "device", device, ev)
        }
        Output::Point(_) => None,
        Output::Patrol(ev) => journal(now, "patrol", &patrol_subject(ev), ev),
        // Scans have their own table; the API answers once the row is written.
        Output::Scan(rec) => Some(StoreItem::Record(Record::Scan(rec.clone()))),
        Output::Inspection(ev) => journal(now, "inspection", "", ev),
        Output::Vacant(ev) => journal(now, "vacant", "", ev),
        Output::Incident(ev) => journal(ev.at, "incident", &ev.incident.to_string(), ev),
        Output::Alarm(ev) => journal(ev.at, "alarm", &ev.alarm, ev.as_ref()),
        Output::Request(ev, _) => journal(ev.at, "request", &ev.request.to_string(), ev),
        Output::Handover(ev) => journal(ev.at, "handover", &ev.handover.to_string(), ev),
        Output::DutyLog(entry) => journal(entry.at, "duty_log", &entry.id.to_string(), entry),
        Output::Maintenance(ev) => journal(now, "maintenance", maintenance_subject(ev), ev),
        Output::Compliance(ev) => {
            let subject = match ev.as_ref() {
                ComplianceChange::Done { item, .. } => item.id.as_str(),
                ComplianceChange::Put { .. } => "",
            };
            journal(now, "compliance", subject, ev.as_ref())
        }
    }
}

/// The task or pump set a maintenance event is about.
fn maintenance_subject(ev: &MaintenanceEvent) -> &str {
    match ev {
        MaintenanceEvent::TaskDone { done, .. } => &done.task,
        MaintenanceEvent::SwitchedOver { set, .. } => set,
        MaintenanceEvent::TasksPut { .. } | MaintenanceEvent::PumpSetsPut { .. } => "",
    }
}

/// A decision that also has a table of its own beside its journal entry: a guard's finding,
/// an inspection, a key loan. Written in the journal's transaction, so the caller's 2xx
/// means both are kept.
fn record(out: &Output, now: DateTime<Utc>) -> Option<Record> {
    match out {
        Output::Inspection(InspectionEvent::InspectionRecorded { inspection, .. }) => {
            Some(Record::Inspection {
                inspection: inspection.clone(),
                at: now,
            })
        }
        Output::Patrol(ev) => match ev.as_ref() {
            PatrolEvent::FindingRecorded { finding, .. } => {
                Some(Record::Finding(Box::new(finding.clone())))
            }
            _ => None,
        },
        Output::Vacant(change) => match change.as_ref() {
            VacantChange::Key { loan } => Some(Record::KeyLoan(Box::new(loan.clone()))),
            VacantChange::Inventory { inventory } => {
                Some(Record::KeyInventory(Box::new(inventory.clone())))
            }
            VacantChange::Occupancy { .. } | VacantChange::Sets { .. } => None,
        },
        Output::DutyLog(entry) => Some(Record::DutyEntry(entry.clone())),
        Output::Maintenance(ev) => match ev.as_ref() {
            MaintenanceEvent::TaskDone { done, .. } => {
                Some(Record::MaintenanceDone(Box::new(done.clone())))
            }
            _ => None,
        },
        Output::Compliance(ev) => Some(match ev.as_ref() {
            ComplianceChange::Put { items, by } => Record::ComplianceItems {
                items: items.clone(),
                by: by.clone(),
                at: now,
            },
            ComplianceChange::Done { item, on, by } => Record::ComplianceDone {
                item: Box::new(item.clone()),
                on: *on,
                by: by.clone(),
                at: now,
            },
        }),
        _ => None,
    }
}

/// The tour an event is about, for the journal's subject column.
fn patrol_subject(ev: &PatrolEvent) -> String {
    json(ev)
        .get("tour")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// What goes out over MQTT (architecture, "Interfaces"): every alarm transition as the
/// alarm's retained state and as an event; incidents, scans, patrol events, service
/// requests and hand-overs as events. Point values
/// are published straight from the live feed, not through the outbox: a lost one is
/// replaced by the next.
fn mqtt_messages(prefix: &str, out: &Output) -> Vec<OutMessage> {
    let msg = |target: String, payload: serde_json::Value, retain: bool| OutMessage {
        channel: "mqtt".into(),
        target,
        payload: payload.to_string(),
        retain,
    };
    let event = |kind: &str, data: serde_json::Value| {
        msg(
            format!("{prefix}/events"),
            serde_json::json!({"kind": kind, "data": data}),
            false,
        )
    };
    match out {
        Output::Alarm(ev) => vec![
            msg(
                format!("{prefix}/alarms/{}", ev.alarm),
                json(ev.as_ref()),
                true,
            ),
            event("alarm", json(ev.as_ref())),
        ],
        Output::Incident(ev) => vec![event("incident", json(ev))],
        Output::Scan(rec) => vec![event("scan", json(rec.as_ref()))],
        Output::Patrol(ev) => vec![event("patrol", json(ev))],
        Output::Request(ev, _) => vec![event("request", json(ev))],
        Output::Handover(ev) => vec![event("handover", json(ev))],
        _ => Vec::new(),
    }
}

/// What of the alarm engine must survive a restart: every standing alarm and every
/// suppression window.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct AlarmSnapshot {
    /// Alarms not in normal, or masked.
    pub alarms: Vec<sitewatch_core::alarms::Alarm>,
    /// Active suppression windows.
    pub suppressions: Vec<sitewatch_core::alarms::Suppression>,
}

impl AlarmSnapshot {
    fn of(books: &Books) -> Self {
        Self {
            alarms: books.alarms.standing().cloned().collect(),
            suppressions: books.alarms.suppressions().to_vec(),
        }
    }
}
