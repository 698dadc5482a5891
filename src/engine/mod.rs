//! The one task that owns the pure core. Sources send facts in; callers send commands
//! (`commands`: data, one handler per command beside the books it touches) and queries
//! (`queries`); the core's decisions go out to the sinks (metrics, store, live view) in the
//! order they were made. No locks: only this task touches the books.

mod commands;
mod due;
mod estate;
mod flow;
mod live;
mod metrics;
mod outputs;
pub mod paging_queue;
mod queries;
mod service_metrics;

use std::sync::Arc;
use std::time::Duration;

use std::collections::BTreeMap;

use sitewatch_core::alarms::AlarmEngine;
use sitewatch_core::clock::Clock;
use sitewatch_core::incidents::{HandoverBook, IncidentBook, RequestBook};
use sitewatch_core::inspections::VacantBook;
use sitewatch_core::maintenance::MaintenanceBook;
use sitewatch_core::patrol::PatrolBook;
use sitewatch_core::points::{PointsHub, SourceEvent};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::store::writer::Ticket;

pub(crate) use commands::set_vacant;
pub use commands::{
    Answer, CommandError, ComplianceCmd, EngineCommand, FireTestCmd, HandoverAnswer, HandoverCmd,
    IncidentCmd, InspectionCmd, InspectionVerdict, LinkTo, MaintenanceCmd, PatrolCmd,
    RequestAnswer, RequestCmd, ScanAnswer, ScanCmd, VacancyCmd,
};
pub use due::{Compliance, FireTests, MeterReading, MonthKpis, month};
pub use estate::EstateBook;
pub use flow::category_id;
pub use live::{LiveEvent, LiveHub, PointValue};
pub use metrics::EngineMetrics;
pub use outputs::{AlarmSnapshot, ComplianceChange, Output, Sinks, VacantChange};
pub use queries::{EngineQuery, Registers};
pub use service_metrics::ServiceMetrics;

/// How often time-driven rules run.
const TICK: Duration = Duration::from_secs(1);
/// Most source events handled in one go when they queue up (an MQTT burst): their store
/// items go to the writer as one message instead of one each.
const SOURCE_BATCH: usize = 64;

/// Everything the core decides with.
#[derive(Debug)]
pub struct Books {
    /// Latest value and quality of every point.
    pub hub: PointsHub,
    /// Guard patrols.
    pub patrol: PatrolBook,
    /// Vacant-unit inspections and keys.
    pub vacant: VacantBook,
    /// Incidents and their SLA clocks.
    pub incidents: IncidentBook,
    /// Service requests (报修, 投诉, suggestions) and their deadlines.
    pub requests: RequestBook,
    /// Shift hand-overs.
    pub handovers: HandoverBook,
    /// Alarms after ISA-18.2.
    pub alarms: AlarmEngine,
    /// Incident category per alarm rule id.
    pub alarm_categories: BTreeMap<String, String>,
    /// Fire-system tests not yet put in place.
    pub fire_tests: FireTests,
    /// The compliance register's copy for the tick.
    pub compliance: Compliance,
    /// Pump sets (their last switch-over) and plant maintenance tasks (rules.md §13.13).
    pub maintenance: MaintenanceBook,
    /// The site's time zone (local days of the registers).
    pub tz: chrono_tz::Tz,
    /// The monthly meter reading.
    pub meters: MeterReading,
    /// The estate's register meters (issue 24).
    pub estate: EstateBook,
    /// The current month's KPIs for the gauges.
    pub kpis: MonthKpis,
}

/// Longest a caller waits for a command's decisions to be stored before it is told they
/// are not yet (as long as a phone waits for its scan).
pub const KEEP_WAIT: Duration = Duration::from_secs(5);

/// A command's answer as the engine gives it, before anything is known to be stored.
#[derive(Debug)]
pub struct Decided {
    /// What the command did.
    pub answer: Answer,
    /// Where its store items stand behind the write barrier; `None` when it changed
    /// nothing to keep.
    pub ticket: Option<Ticket>,
}

/// What callers send the engine.
pub enum Request {
    /// A change, with where its answer goes (boxed: commands are large, queries small).
    Command(
        Box<EngineCommand>,
        oneshot::Sender<Result<Decided, CommandError>>,
    ),
    /// A read; the query carries where its answer goes.
    Query(EngineQuery),
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Command(cmd, _) => f.debug_tuple("Command").field(cmd).finish(),
            Request::Query(query) => f.debug_tuple("Query").field(query).finish(),
        }
    }
}

/// Cheap-clone handle for asking the engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    requests: mpsc::Sender<Request>,
}

impl EngineHandle {
    /// Runs one command in the engine and answers once what it decided is stored: its
    /// answer, or why the book refused it (nothing changed then), or
    /// [`CommandError::Unavailable`] when the engine has stopped, or
    /// [`CommandError::NotStored`] when the change was made but the store has not kept it
    /// within [`KEEP_WAIT`] (it is written when the database returns). Only this task
    /// waits; the engine has moved on.
    pub async fn command(&self, cmd: EngineCommand) -> Result<Answer, CommandError> {
        let Decided { answer, ticket } = self.decide(cmd).await?;
        if let Some(ticket) = ticket {
            ticket.kept(KEEP_WAIT).await.map_err(|why| {
                tracing::warn!(reason = %why, "a command's change is not stored yet");
                CommandError::NotStored(why)
            })?;
        }
        Ok(answer)
    }

    /// Runs one command in the engine and answers as soon as it has decided, with the
    /// ticket of its store items: for a caller with a receipt of its own (a scan).
    pub async fn decide(&self, cmd: EngineCommand) -> Result<Decided, CommandError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::Command(Box::new(cmd), tx))
            .await
            .map_err(|_| CommandError::Unavailable)?;
        rx.await.map_err(|_| CommandError::Unavailable)?
    }

    /// Asks the engine a question built by `query` around its reply channel; `None` when
    /// the engine has stopped.
    pub(crate) async fn ask<T>(
        &self,
        query: impl FnOnce(oneshot::Sender<T>) -> EngineQuery,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(Request::Query(query(tx))).await.ok()?;
        rx.await.ok()
    }
}

/// Channels the engine reads.
#[derive(Debug)]
pub struct Inputs {
    /// Facts from sources.
    pub sources: mpsc::Receiver<SourceEvent>,
    /// Commands and queries from callers.
    pub requests: mpsc::Receiver<Request>,
}

/// The engine task's state.
#[derive(Debug)]
pub struct Engine {
    books: Books,
    clock: Arc<dyn Clock>,
    sinks: Sinks,
    tick: Duration,
}

impl Engine {
    /// An engine over `books`, reporting to `sinks`.
    pub fn new(books: Books, clock: Arc<dyn Clock>, sinks: Sinks) -> Self {
        Self {
            books,
            clock,
            sinks,
            tick: TICK,
        }
    }

    /// Runs time-driven rules every `tick` instead of every second (tests use less).
    pub fn with_tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// Channels for a new engine: the handle for callers, the sender for sources and
    /// the receivers for [`Engine::run`].
    pub fn channels() -> (EngineHandle, mpsc::Sender<SourceEvent>, Inputs) {
        let (source_tx, sources) = mpsc::channel(4096);
        let (request_tx, requests) = mpsc::channel(256);
        (
            EngineHandle {
                requests: request_tx,
            },
            source_tx,
            Inputs { sources, requests },
        )
    }

    /// Runs until `cancel`, then handles what the sources already sent and stops; the
    /// store sink then sees its channel close and flushes. Nothing here waits on storage:
    /// the only awaits are for input.
    pub async fn run(mut self, mut inputs: Inputs, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(self.tick);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                Some(ev) = inputs.sources.recv() => self.sources(ev, &mut inputs.sources),
                Some(request) = inputs.requests.recv() => self.request(request),
                _ = tick.tick() => self.tick(),
            }
        }
        inputs.sources.close();
        while let Some(ev) = inputs.sources.recv().await {
            self.sources(ev, &mut inputs.sources);
        }
    }

    /// A caller's command or query, at the engine's `now`.
    fn request(&mut self, request: Request) {
        let now = self.clock.now();
        match request {
            Request::Command(cmd, reply) => {
                match commands::handle(&mut self.books, *cmd, now) {
                    Ok((answer, out)) => {
                        // Sent first, so the answer carries the items' place in the store.
                        let ticket = self.sinks.emit(&self.books, out, now);
                        let _ = reply.send(Ok(Decided { answer, ticket }));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::Query(query) => query.answer(&self.books, now),
        }
    }

    /// `first` and whatever else sources already queued, up to [`SOURCE_BATCH`], each at
    /// its own `now` and in order; then their store items in one message.
    fn sources(&mut self, first: SourceEvent, rx: &mut mpsc::Receiver<SourceEvent>) {
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(ev) = next.take() {
            let now = self.clock.now();
            let out = flow::source(&mut self.books, ev, now);
            self.sinks.stage(&self.books, out, now, &mut items);
            handled += 1;
            if handled < SOURCE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        self.sinks.store.send(items);
    }

    fn tick(&mut self) {
        let now = self.clock.now();
        let b = &mut self.books;
        let events = b.hub.tick(now);
        let mut out = flow::points(b, events, now);
        let events = b.alarms.tick(now);
        out.extend(flow::alarms(b, events, now));
        let events = b.patrol.tick(now);
        out.extend(flow::patrol(b, events, now));
        out.extend(b.vacant.tick(now).into_iter().map(Output::Inspection));
        out.extend(b.incidents.tick(now).into_iter().map(Output::incident));
        let (events, mut records) = b.fire_tests.run_due(&mut b.alarms, now);
        out.extend(flow::alarms(b, events, now));
        let events = b.compliance.run_due(&mut b.alarms, now);
        out.extend(flow::alarms(b, events, now));
        out.extend(flow::registers(b, now));
        out.extend(flow::estate(b, now));
        records.extend(b.meters.run_due_with(&b.hub, b.estate.estate(), now));
        let chased = b.requests.run_due(now);
        out.extend(commands::request_outputs(b, &chased));
        if let Some(kpis) = b.kpis.run_due(&b.requests, now) {
            self.sinks.metrics.kpis(&kpis);
        }
        self.sinks.metrics.books(&self.books, now);
        self.sinks.keep(&self.books, out, records, now);
    }
}

#[cfg(test)]
mod desk_tests;
#[cfg(test)]
mod tests;
