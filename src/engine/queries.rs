//! Reads of the books, as data: each [`EngineQuery`] carries its question and the channel
//! its typed answer goes back on, and is answered here at the engine's `now`. The typed
//! helpers on [`EngineHandle`] build them; callers filter and page the answer themselves.

use chrono::{DateTime, NaiveDate, Utc};
use sitewatch_core::alarms::{Alarm, Suppression};
use sitewatch_core::incidents::{
    ClockView, FollowUpDue, Handover, HandoverId, Incident, IncidentId, Kpi, KpiTargets, RequestId,
    ServiceRequest, follow_ups_due, service_kpis,
};
use sitewatch_core::inspections::{DueUnit, KeyRegister};
use sitewatch_core::maintenance::MaintenanceBook;
use sitewatch_core::patrol::{PatrolReport, Subject, Tour, TourProgress};
use sitewatch_core::points::{DeviceState, PointState};
use tokio::sync::oneshot;

use super::{Books, EngineHandle};

type Reply<T> = oneshot::Sender<T>;

/// A question to the engine with the channel for its answer.
#[derive(Debug)]
pub enum EngineQuery {
    /// Whether the engine answers at all (`/readyz`).
    Alive(Reply<()>),
    /// Every point's current state.
    Points(Reply<Vec<PointState>>),
    /// Every device's current state.
    Devices(Reply<Vec<DeviceState>>),
    /// Every alarm (`all`), or the standing ones.
    Alarms {
        /// Normal alarms too.
        all: bool,
        /// The answer.
        reply: Reply<Vec<Alarm>>,
    },
    /// One alarm.
    Alarm(String, Reply<Option<Alarm>>),
    /// The suppression windows in force.
    Suppressions(Reply<Vec<Suppression>>),
    /// Every incident (`all`), or the open ones.
    Incidents {
        /// Closed and cancelled ones too.
        all: bool,
        /// The answer.
        reply: Reply<Vec<Incident>>,
    },
    /// One incident.
    Incident(IncidentId, Reply<Option<Incident>>),
    /// One incident with its running clocks.
    IncidentClocks(IncidentId, Reply<Option<(Incident, Vec<ClockView>)>>),
    /// Every running incident clock with its time left.
    Board(Reply<Vec<ClockView>>),
    /// Every service request, with the engine's `now` (for overdue and running clocks).
    Requests(Reply<(Vec<ServiceRequest>, DateTime<Utc>)>),
    /// One service request, with the engine's `now`.
    Request(RequestId, Reply<Option<(ServiceRequest, DateTime<Utc>)>>),
    /// The requests linked to an incident; `None` when there is no such incident.
    IncidentRequests(IncidentId, Reply<Option<Vec<ServiceRequest>>>),
    /// Follow-up calls waiting to be made, soonest due first.
    FollowUpsDue(Reply<Vec<FollowUpDue>>),
    /// The service KPIs of `[from, to)`.
    Kpis {
        /// From (inclusive).
        from: DateTime<Utc>,
        /// To (exclusive).
        to: DateTime<Utc>,
        /// `[kpis]`.
        targets: KpiTargets,
        /// The answer.
        reply: Reply<Vec<Kpi>>,
    },
    /// Hand-overs started in `[from, to)`, by number.
    Handovers {
        /// From (inclusive).
        from: DateTime<Utc>,
        /// To (exclusive).
        to: DateTime<Utc>,
        /// The answer.
        reply: Reply<Vec<(HandoverId, Handover)>>,
    },
    /// One hand-over.
    Handover(HandoverId, Reply<Option<Handover>>),
    /// Vacant units due for inspection.
    InspectionsDue(Reply<Vec<DueUnit>>),
    /// The key register and the maintenance book as they stand.
    Registers(Reply<Box<Registers>>),
    /// The tours of a site-local date (today when `None`).
    Tours(Option<NaiveDate>, Reply<Vec<Tour>>),
    /// The tour in progress for a guard or a route.
    NextCheckpoint(Subject, Reply<Option<TourProgress>>),
    /// The patrol report of a site-local date (today when `None`).
    PatrolReport(Option<NaiveDate>, Reply<PatrolReport>),
}

/// The key register and the maintenance book, with the engine's time.
#[derive(Debug)]
pub struct Registers {
    /// The key register.
    pub keys: KeyRegister,
    /// Hours after sign-out a loan with no expected return is due back.
    pub key_hours: u32,
    /// Pump sets and plant tasks.
    pub maintenance: MaintenanceBook,
    /// The engine's now.
    pub now: DateTime<Utc>,
    /// The site-local day.
    pub today: NaiveDate,
}

impl EngineQuery {
    /// Answers against the books at `now`. A caller that stopped waiting is no error.
    pub(super) fn answer(self, b: &Books, now: DateTime<Utc>) {
        let today = |date: Option<NaiveDate>| {
            date.unwrap_or_else(|| now.with_timezone(&b.patrol.time_zone()).date_naive())
        };
        let _ = match self {
            EngineQuery::Alive(r) => r.send(()).map_err(drop),
            EngineQuery::Points(r) => r.send(b.hub.points().cloned().collect()).map_err(drop),
            EngineQuery::Devices(r) => r.send(b.hub.devices().cloned().collect()).map_err(drop),
            EngineQuery::Alarms { all, reply } => {
                let list = if all {
                    b.alarms.alarms().cloned().collect()
                } else {
                    b.alarms.standing().cloned().collect()
                };
                reply.send(list).map_err(drop)
            }
            EngineQuery::Alarm(id, r) => r.send(b.alarms.alarm(&id).cloned()).map_err(drop),
            EngineQuery::Suppressions(r) => r.send(b.alarms.suppressions().to_vec()).map_err(drop),
            EngineQuery::Incidents { all, reply } => {
                let list = match all {
                    true => b.incidents.all_incidents(),
                    false => b.incidents.open_incidents(),
                };
                reply
                    .send(list.into_iter().cloned().collect())
                    .map_err(drop)
            }
            EngineQuery::Incident(id, r) => r.send(b.incidents.get(id).cloned()).map_err(drop),
            EngineQuery::IncidentClocks(id, r) => {
                let found = b
                    .incidents
                    .get(id)
                    .map(|i| (i.clone(), i.running_clocks(now)));
                r.send(found).map_err(drop)
            }
            EngineQuery::Board(r) => r.send(b.incidents.board(now)).map_err(drop),
            EngineQuery::Requests(r) => r
                .send((b.requests.all().cloned().collect(), now))
                .map_err(drop),
            EngineQuery::Request(id, r) => {
                let found = b.requests.get(id).map(|req| (req.clone(), now));
                r.send(found).map_err(drop)
            }
            EngineQuery::IncidentRequests(id, r) => {
                let found = b.incidents.get(id).map(|_| {
                    let linked = b.requests.of_incident(id).into_iter();
                    linked.cloned().collect()
                });
                r.send(found).map_err(drop)
            }
            EngineQuery::FollowUpsDue(r) => r
                .send(follow_ups_due(&b.incidents, &b.requests, now))
                .map_err(drop),
            EngineQuery::Kpis {
                from,
                to,
                targets,
                reply,
            } => reply
                .send(service_kpis(b.requests.all(), from, to, &targets))
                .map_err(drop),
            EngineQuery::Handovers { from, to, reply } => {
                let list = b.handovers.started_between(from, to).into_iter();
                let list = list.map(|(id, h)| (id, h.clone())).collect();
                reply.send(list).map_err(drop)
            }
            EngineQuery::Handover(id, r) => r.send(b.handovers.get(id).cloned()).map_err(drop),
            EngineQuery::InspectionsDue(r) => r.send(b.vacant.due(now)).map_err(drop),
            EngineQuery::Registers(r) => r
                .send(Box::new(Registers {
                    keys: b.vacant.keys().clone(),
                    key_hours: b.vacant.key_out_hours(),
                    maintenance: b.maintenance.clone(),
                    now,
                    today: sitewatch_core::compliance::site_day(now, b.tz),
                }))
                .map_err(drop),
            EngineQuery::Tours(date, r) => r.send(b.patrol.tours_on(today(date))).map_err(drop),
            EngineQuery::NextCheckpoint(who, r) => {
                r.send(b.patrol.next_for(&who, now)).map_err(drop)
            }
            EngineQuery::PatrolReport(date, r) => {
                r.send(b.patrol.daily_report(today(date))).map_err(drop)
            }
        };
    }
}

/// A unit not vacant, or an unknown key set: what the book would refuse before it is
/// worth storing the inspection.
impl EngineHandle {
    /// Whether the engine is running and answering.
    pub async fn alive(&self) -> bool {
        self.ask(EngineQuery::Alive).await.is_some()
    }

    /// Every point's current state.
    pub async fn points(&self) -> Option<Vec<PointState>> {
        self.ask(EngineQuery::Points).await
    }

    /// Every device's current state.
    pub async fn devices(&self) -> Option<Vec<DeviceState>> {
        self.ask(EngineQuery::Devices).await
    }

    /// Every alarm (`all`), or only the standing ones.
    pub async fn alarms(&self, all: bool) -> Option<Vec<Alarm>> {
        self.ask(|reply| EngineQuery::Alarms { all, reply }).await
    }

    /// One alarm, `Some(None)` when there is no such alarm.
    pub async fn alarm_by_id(&self, id: &str) -> Option<Option<Alarm>> {
        let id = id.to_owned();
        self.ask(|r| EngineQuery::Alarm(id, r)).await
    }

    /// The suppression windows in force, oldest first.
    pub async fn suppressions(&self) -> Option<Vec<Suppression>> {
        self.ask(EngineQuery::Suppressions).await
    }

    /// Every incident (`all`), or only the open ones.
    pub async fn incidents(&self, all: bool) -> Option<Vec<Incident>> {
        self.ask(|reply| EngineQuery::Incidents { all, reply })
            .await
    }

    /// One incident, `Some(None)` when there is no such incident.
    pub async fn incident(&self, id: IncidentId) -> Option<Option<Incident>> {
        self.ask(|r| EngineQuery::Incident(id, r)).await
    }

    /// One incident and its running clocks.
    pub async fn incident_clocks(
        &self,
        id: IncidentId,
    ) -> Option<Option<(Incident, Vec<ClockView>)>> {
        self.ask(|r| EngineQuery::IncidentClocks(id, r)).await
    }

    /// The SLA board.
    pub async fn board(&self) -> Option<Vec<ClockView>> {
        self.ask(EngineQuery::Board).await
    }

    /// Every service request, with the engine's `now`.
    pub async fn requests(&self) -> Option<(Vec<ServiceRequest>, DateTime<Utc>)> {
        self.ask(EngineQuery::Requests).await
    }

    /// One service request with the engine's `now`, `Some(None)` when there is none.
    pub async fn request_by_id(
        &self,
        id: RequestId,
    ) -> Option<Option<(ServiceRequest, DateTime<Utc>)>> {
        self.ask(|r| EngineQuery::Request(id, r)).await
    }

    /// The requests linked to incident `id`, `Some(None)` when there is no such incident.
    pub async fn incident_requests(&self, id: IncidentId) -> Option<Option<Vec<ServiceRequest>>> {
        self.ask(|r| EngineQuery::IncidentRequests(id, r)).await
    }

    /// Follow-up calls waiting to be made, soonest due first.
    pub async fn follow_ups_due(&self) -> Option<Vec<FollowUpDue>> {
        self.ask(EngineQuery::FollowUpsDue).await
    }

    /// The service KPIs of `[from, to)` against `targets`.
    pub async fn kpis(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        targets: KpiTargets,
    ) -> Option<Vec<Kpi>> {
        self.ask(|reply| EngineQuery::Kpis {
            from,
            to,
            targets,
            reply,
        })
        .await
    }

    /// Hand-overs started in `[from, to)`, by number.
    pub async fn handovers(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<Vec<(HandoverId, Handover)>> {
        self.ask(|reply| EngineQuery::Handovers { from, to, reply })
            .await
    }

    /// One hand-over, `Some(None)` when there is none.
    pub async fn handover_by_id(&self, id: HandoverId) -> Option<Option<Handover>> {
        self.ask(|r| EngineQuery::Handover(id, r)).await
    }

    /// The key register and the maintenance book as they stand.
    pub async fn registers(&self) -> Option<Box<Registers>> {
        self.ask(EngineQuery::Registers).await
    }

    /// Vacant units due for inspection.
    pub async fn inspections_due(&self) -> Option<Vec<DueUnit>> {
        self.ask(EngineQuery::InspectionsDue).await
    }

    /// The tours of a site-local date (today when `None`).
    pub async fn tours(&self, date: Option<NaiveDate>) -> Option<Vec<Tour>> {
        self.ask(|r| EngineQuery::Tours(date, r)).await
    }

    /// The tour in progress for a guard or a route.
    pub async fn next_checkpoint(&self, who: Subject) -> Option<Option<TourProgress>> {
        self.ask(|r| EngineQuery::NextCheckpoint(who, r)).await
    }

    /// The patrol report of a site-local date (today when `None`).
    pub async fn patrol_report(&self, date: Option<NaiveDate>) -> Option<PatrolReport> {
        self.ask(|r| EngineQuery::PatrolReport(date, r)).await
    }
}
