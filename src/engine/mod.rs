//! The one task that owns the pure core. Sources send facts in; callers send jobs (a
//! closure run against the books with `now`); the core's decisions go out to the sinks
//! (metrics, store, live view) in the order they were made. No locks: only this task
//! touches the books.

mod flow;
mod live;
mod metrics;
mod outputs;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use sitewatch_core::alarms::AlarmEngine;
use sitewatch_core::clock::Clock;
use sitewatch_core::incidents::IncidentBook;
use sitewatch_core::inspections::VacantBook;
use sitewatch_core::patrol::PatrolBook;
use sitewatch_core::points::{DeviceState, PointState, PointsHub, SourceEvent};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use flow::{PATROL_DEVICE, category_id, patrol_point};
pub use live::{LiveEvent, LiveHub, PointValue};
pub use metrics::EngineMetrics;
pub use outputs::{AlarmSnapshot, Output, Sinks, VacantChange};

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
    /// Alarms after ISA-18.2.
    pub alarms: AlarmEngine,
    /// Incident category per alarm rule id.
    pub alarm_categories: BTreeMap<String, String>,
}

/// A job for the engine: runs against the books at `now`, returns what it decided.
pub type Job = Box<dyn FnOnce(&mut Books, DateTime<Utc>) -> Vec<Output> + Send>;

/// Cheap-clone handle for asking the engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    jobs: mpsc::Sender<Job>,
}

impl EngineHandle {
    /// Runs `f` in the engine; its outputs go to the sinks, its value comes back.
    /// `None` when the engine has stopped.
    pub async fn act<T, F>(&self, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Books, DateTime<Utc>) -> (T, Vec<Output>) + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |books, now| {
            let (value, out) = f(books, now);
            let _ = tx.send(value);
            out
        });
        self.jobs.send(job).await.ok()?;
        rx.await.ok()
    }

    /// Reads from the books without changing them.
    pub async fn read<T, F>(&self, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(&Books, DateTime<Utc>) -> T + Send + 'static,
    {
        self.act(move |b, now| (f(b, now), Vec::new())).await
    }

    /// Every point's current state.
    pub async fn points(&self) -> Option<Vec<PointState>> {
        self.read(|b, _| b.hub.points().cloned().collect()).await
    }

    /// Every device's current state.
    pub async fn devices(&self) -> Option<Vec<DeviceState>> {
        self.read(|b, _| b.hub.devices().cloned().collect()).await
    }
}

/// Channels the engine reads.
#[derive(Debug)]
pub struct Inputs {
    /// Facts from sources.
    pub sources: mpsc::Receiver<SourceEvent>,
    /// Jobs from callers.
    pub jobs: mpsc::Receiver<Job>,
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
        let (job_tx, jobs) = mpsc::channel(256);
        (
            EngineHandle { jobs: job_tx },
            source_tx,
            Inputs { sources, jobs },
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
                Some(job) = inputs.jobs.recv() => {
                    let now = self.clock.now();
                    let out = job(&mut self.books, now);
                    let out = self.follow(out, now);
                    self.sinks.emit(&self.books, out, now);
                }
                _ = tick.tick() => self.tick(),
            }
        }
        inputs.sources.close();
        while let Some(ev) = inputs.sources.recv().await {
            self.sources(ev, &mut inputs.sources);
        }
    }

    /// A job's own outputs, plus what they set off in other books (a finding opens an
    /// incident, an acknowledgement reaches the incident policy).
    fn follow(&mut self, outputs: Vec<Output>, now: DateTime<Utc>) -> Vec<Output> {
        let mut out = Vec::new();
        for o in outputs {
            match o {
                Output::Patrol(ev) => out.extend(flow::patrol(&mut self.books, vec![*ev], now)),
                Output::Alarm(ev) => out.extend(flow::alarms(&mut self.books, vec![*ev], now)),
                other => out.push(other),
            }
        }
        out
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
        self.sinks.metrics.books(&self.books, now);
        self.sinks.emit(&self.books, out, now);
    }
}
