//! The one task that owns the pure core. Sources send facts in, HTTP sends commands and
//! queries in; the core's decisions go out to the sinks (metrics, store, live view) in
//! the order they were made.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sitewatch_core::clock::Clock;
use sitewatch_core::points::{DeviceState, PointEvent, PointState, PointsHub, SourceEvent};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::devices::nfc::NfcScan;
use crate::metrics::Metrics;
use crate::store::Reading;
use crate::store::writer::StoreItem;

/// How often time-driven rules run.
const TICK: Duration = Duration::from_secs(1);

/// A request to the engine.
#[derive(Debug)]
pub enum Command {
    /// Every point's current state.
    Points(oneshot::Sender<Vec<PointState>>),
    /// Every device's current state.
    Devices(oneshot::Sender<Vec<DeviceState>>),
}

/// Cheap-clone handle for asking the engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
    scans: mpsc::Sender<NfcScan>,
}

impl EngineHandle {
    /// Every point's current state; `None` when the engine has stopped.
    pub async fn points(&self) -> Option<Vec<PointState>> {
        self.ask(Command::Points).await
    }

    /// Every device's current state; `None` when the engine has stopped.
    pub async fn devices(&self) -> Option<Vec<DeviceState>> {
        self.ask(Command::Devices).await
    }

    /// Where NFC scans go (fixed readers over MQTT now, phones over HTTP later).
    pub fn scan_sender(&self) -> mpsc::Sender<NfcScan> {
        self.scans.clone()
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.ok()?;
        rx.await.ok()
    }
}

/// An event for live views (dashboard, SSE).
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// Event kind (`point`, `quality`, `device`).
    pub kind: &'static str,
    /// The event.
    pub data: serde_json::Value,
}

/// The engine task's state.
#[derive(Debug)]
pub struct Engine {
    hub: PointsHub,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    store: mpsc::Sender<StoreItem>,
    live: broadcast::Sender<LiveEvent>,
    tick: Duration,
}

/// Channels the engine reads.
#[derive(Debug)]
pub struct Inputs {
    /// Facts from sources.
    pub sources: mpsc::Receiver<SourceEvent>,
    /// Commands and queries.
    pub commands: mpsc::Receiver<Command>,
    /// NFC scans, journalled until the patrol module takes them.
    pub scans: mpsc::Receiver<NfcScan>,
}

impl Engine {
    /// An engine over `hub`, reporting to the given sinks.
    pub fn new(
        hub: PointsHub,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        store: mpsc::Sender<StoreItem>,
        live: broadcast::Sender<LiveEvent>,
    ) -> Self {
        Self {
            hub,
            clock,
            metrics,
            store,
            live,
            tick: TICK,
        }
    }

    /// Runs time-driven rules every `tick` instead of every second (tests use less).
    pub fn with_tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// Channels for a new engine: the handle for callers, the senders for sources and
    /// the receivers for [`Engine::run`].
    pub fn channels() -> (EngineHandle, mpsc::Sender<SourceEvent>, Inputs) {
        let (source_tx, sources) = mpsc::channel(4096);
        let (cmd_tx, commands) = mpsc::channel(256);
        let (scan_tx, scans) = mpsc::channel(256);
        let handle = EngineHandle {
            commands: cmd_tx,
            scans: scan_tx,
        };
        let inputs = Inputs {
            sources,
            commands,
            scans,
        };
        (handle, source_tx, inputs)
    }

    /// Runs until `cancel`, then handles what the sources already sent and stops; the
    /// store sink then sees its channel close and flushes.
    pub async fn run(mut self, mut inputs: Inputs, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(self.tick);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                Some(ev) = inputs.sources.recv() => self.source(ev).await,
                Some(cmd) = inputs.commands.recv() => self.command(cmd),
                Some(scan) = inputs.scans.recv() => self.scan(scan).await,
                _ = tick.tick() => {
                    let out = self.hub.tick(self.clock.now());
                    self.emit(out).await;
                }
            }
        }
        inputs.sources.close();
        while let Some(ev) = inputs.sources.recv().await {
            self.source(ev).await;
        }
        while let Ok(scan) = inputs.scans.try_recv() {
            self.scan(scan).await;
        }
    }

    /// Journals a scan (kind `scan`, subject the reader) and shows it live.
    async fn scan(&mut self, scan: NfcScan) {
        tracing::info!(reader = %scan.reader, tag = %scan.tag_uid, "nfc scan");
        let body = serde_json::to_value(&scan).unwrap_or_default();
        let item = StoreItem::Event(scan.at, "scan".into(), scan.reader, body.to_string());
        let _ = self.store.send(item).await;
        let _ = self.live.send(LiveEvent {
            kind: "scan",
            data: body,
        });
    }

    async fn source(&mut self, ev: SourceEvent) {
        let out = self.hub.handle(ev, self.clock.now());
        self.emit(out).await;
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Points(reply) => {
                let _ = reply.send(self.hub.points().cloned().collect());
            }
            Command::Devices(reply) => {
                let _ = reply.send(self.hub.devices().cloned().collect());
            }
        }
    }

    async fn emit(&mut self, events: Vec<PointEvent>) {
        for ev in events {
            self.metrics.point_event(&ev);
            if let Some(item) = store_item(&ev) {
                // Backpressure, not loss: a slow store slows the engine.
                let _ = self.store.send(item).await;
            }
            let _ = self.live.send(live_event(&ev));
        }
    }
}

fn store_item(ev: &PointEvent) -> Option<StoreItem> {
    let journal = |at, kind: &str, subject: &str| {
        let body = serde_json::to_string(ev).unwrap_or_default();
        Some(StoreItem::Event(at, kind.into(), subject.into(), body))
    };
    match ev {
        PointEvent::Sample {
            point,
            value,
            at,
            record: true,
        } => Some(StoreItem::Reading(Reading {
            point: point.clone(),
            at: *at,
            value: *value,
        })),
        PointEvent::Quality { point, at, .. } => journal(*at, "point_quality", point),
        PointEvent::Device { device, at, .. } => journal(*at, "device", device),
        _ => None,
    }
}

fn live_event(ev: &PointEvent) -> LiveEvent {
    let kind = match ev {
        PointEvent::Sample { .. } => "point",
        PointEvent::Quality { .. } => "quality",
        PointEvent::Device { .. } => "device",
        PointEvent::Rejected { .. } => "rejected",
    };
    LiveEvent {
        kind,
        data: serde_json::to_value(ev).unwrap_or_default(),
    }
}
