//! Wiring: `App::build(config)` connects, migrates and binds; `run_until_stopped` spawns
//! sources, the engine and the sinks, and on cancel drains them in pipeline order.

mod books;
mod supervisor;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sitewatch_core::clock::Clock;
use sitewatch_core::points::PointId;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use self::supervisor::Supervisor;
use crate::config::Config;
use crate::config::central::HistoryLevel;
use crate::devices::modbus::{self, Bus};
use crate::devices::mqtt::MqttMetrics;
use crate::devices::mqtt::{self, MqttSource};
use crate::engine::{Engine, EngineMetrics, LiveHub, ServiceMetrics, Sinks};
use crate::estate::Estate;
use crate::health::TaskHealth;
use crate::http::{self, AppState, HttpMetrics};
use crate::metrics::Registry;
use crate::notify::NotifyMetrics;
use crate::outbox::commands::{CommandMetrics, CommandTask};
use crate::outbox::jetstream::{Bounds, Forwarder};
use crate::outbox::mqtt::{Publisher, topic_prefix};
use crate::outbox::{CentralMetrics, OutboxMetrics};
use crate::store::central::{Feed, Gate, History};
use crate::store::{PointKeys, Store, StoreMetrics, writer};

/// How long shutdown may take before the rest is abandoned.
const GRACE: Duration = Duration::from_secs(10);
/// How long the store writer keeps trying after the stop: a second less than [`GRACE`],
/// so its count of rows not written is logged before the rest is abandoned.
const WRITER_GRACE: Duration = GRACE.saturating_sub(Duration::from_secs(1));

/// A built daemon, listening but not yet running.
#[derive(Debug)]
pub struct App {
    config: Config,
    listener: TcpListener,
    store: Store,
    figures: Figures,
    clock: Arc<dyn Clock>,
    tick: Option<Duration>,
    extra: Vec<ExtraTask>,
    /// The estate's gateways and meter register (issue 24).
    estate: Arc<Estate>,
}

/// A task run beside the daemon's own, under the same supervisor.
struct ExtraTask {
    name: String,
    task: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

impl std::fmt::Debug for ExtraTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraTask")
            .field("name", &self.name)
            .finish()
    }
}

impl App {
    /// Connects to and migrates the database and binds the HTTP listener.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        // rustls picks its crypto provider by itself only when exactly one is linked; say
        // which, so a dependency that links another cannot make TLS connects panic.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = Store::connect(&config.database.url)
            .await
            .with_context(|| format!("Failed to open database {}", redact(&config.database.url)))?;
        store
            .migrate()
            .await
            .context("Failed to migrate the database")?;
        crate::accounts::check_listen(&store, config.http.listen).await?;
        if config.uses_mqtt() {
            mqtt::options(&config).context("Failed to configure MQTT")?;
        }
        let listener = TcpListener::bind(config.http.listen)
            .await
            .with_context(|| format!("Failed to listen on {}", config.http.listen))?;
        let figures = Figures::register(&Registry::new());
        let estate = Arc::new(Estate::new(&config, figures.registry.clone()));
        load_meters(&estate, &store).await?;
        Ok(App {
            estate,
            config,
            listener,
            store,
            figures,
            clock,
            tick: None,
            extra: Vec::new(),
        })
    }

    /// Runs the engine's time-driven rules (staleness) every `tick`; tests use less than
    /// the default second.
    pub fn with_tick(mut self, tick: Duration) -> Self {
        self.tick = Some(tick);
        self
    }

    /// Runs `task` beside the daemon's own tasks and under their supervisor: like them it
    /// should run until the stop, and an earlier end is reported (tests end one on purpose).
    pub fn also_run(
        mut self,
        name: &str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.extra.push(ExtraTask {
            name: name.to_owned(),
            task: Box::pin(task),
        });
        self
    }

    /// The database it keeps records in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The address the HTTP server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.config.http.listen)
    }

    /// Runs until `cancel` fires, then stops sources, lets the engine and the store sink
    /// drain, and returns once everything is written or the grace period is over.
    pub async fn run_until_stopped(mut self, cancel: CancellationToken) -> anyhow::Result<()> {
        let health = TaskHealth::default();
        let tasks = Supervisor::new(&self.figures.registry, cancel.clone(), health.clone());
        let (handle, source_tx, inputs) = Engine::channels();
        let (scan_tx, scan_rx) = tokio::sync::mpsc::channel(256);
        let mqtt = self.mqtt_source(scan_tx, &source_tx)?;
        let (store_tx, store_rx) = writer::channel(
            self.config.database.backlog_bytes(),
            self.figures.store.clone(),
        );
        let writes = store_tx.status();
        let live = Arc::new(LiveHub::default());
        let books = books::load(&self.config, &self.store, &self.estate, self.clock.now()).await?;
        let devices: Vec<&str> = books.hub.devices().map(|d| d.id.as_str()).collect();
        let points: Vec<PointId> = books.hub.points().map(|p| p.id.clone()).collect();
        self.figures.engine.declare(&devices, &points);
        // One task per connection: devices behind one gateway or serial line share it.
        let buses: Vec<Bus> = modbus::group(&self.config.devices)
            .into_iter()
            .filter_map(|devices| {
                Bus::new(
                    devices,
                    source_tx.clone(),
                    self.figures.registry.clone(),
                    |id| {
                        books
                            .hub
                            .point(&id)
                            .map_or_else(|| id.into(), |p| p.id.clone())
                    },
                )
            })
            .collect();
        let paging = crate::paging::Paging::from_config(&self.config)
            .context("Failed to configure paging")?
            .map(Arc::new);
        if let Some(p) = &paging {
            p.load_orders(&self.store).await?;
        }
        let (paging_queue, paging_rx) = match &paging {
            Some(_) => {
                let (q, rx) =
                    crate::paging::PagingQueue::new(self.figures.paging.dropped_counter());
                (Some(q), Some(rx))
            }
            None => (None, None),
        };
        let central = self.central_feed();
        if let Some(feed) = &central {
            // Registers, notices and deliveries are written beside the writer: they
            // put their central rows in with them.
            self.store.set_central(feed.clone());
        }
        let sinks = Sinks {
            central_all: central
                .as_ref()
                .filter(|f| f.history == History::All)
                .map(|f| f.gate.clone()),
            metrics: self.figures.engine.clone(),
            store: store_tx,
            paging: paging_queue,
            live: live.clone(),
            mqtt_prefix: self
                .config
                .mqtt
                .url
                .as_ref()
                .map(|_| topic_prefix(&self.config)),
        };
        let engine = Engine::new(books, self.clock.clone(), sinks);
        let engine = match self.tick {
            Some(t) => engine.with_tick(t),
            None => engine,
        };
        let keys = PointKeys::for_hub(&self.store, &points)
            .await
            .context("Failed to read the points' history keys")?;
        let writer = writer::Writer {
            store: self.store.clone(),
            rx: store_rx,
            metrics: self.figures.store.clone(),
            keys,
            central: central.clone(),
        };
        tasks.spawn("store_writer", writer.run(cancel.clone(), WRITER_GRACE));
        tasks.spawn("engine", engine.run(inputs, cancel.clone()));
        tasks.spawn(
            "memory_release",
            crate::memory::release_free_pages(cancel.clone()),
        );
        for bus in buses {
            tasks.spawn(format!("modbus {}", bus.key()), bus.run(cancel.clone()));
        }
        for (g, gateway) in self.estate.gateways().iter().enumerate() {
            let sweep = crate::estate::sweep::run(
                self.estate.clone(),
                g,
                self.clock.clone(),
                self.figures.registry.clone(),
                cancel.clone(),
            );
            tasks.spawn(format!("gateway {}", gateway.id), sweep);
        }
        if let Some(source) = mqtt {
            tasks.spawn("mqtt_source", source.run(cancel.clone()));
            // The intake ends when the source does, so it runs only beside one.
            tasks.spawn(
                "scan_intake",
                crate::scans::run_readers(
                    scan_rx,
                    writes.clone(),
                    handle.clone(),
                    self.clock.clone(),
                ),
            );
        }
        if self.config.mqtt.url.is_some() {
            let publisher = Publisher::new(
                &self.config,
                self.store.clone(),
                live.clone(),
                self.figures.outbox.clone(),
                self.clock.clone(),
                writes.early_outbox(),
            )
            .context("Failed to configure the MQTT publisher")?;
            tasks.spawn("mqtt_publisher", publisher.run(cancel.clone()));
        }
        if let (Some(c), Some(feed)) = (&self.config.central, &central) {
            let forwarder = Forwarder {
                url: c.url.clone(),
                site: c.site_id(&self.config.site.id).to_owned(),
                store: self.store.clone(),
                gate: feed.gate.clone(),
                bounds: Bounds {
                    bytes: c.buffer_bytes(),
                    age: c.max_age,
                },
                metrics: CentralMetrics::register(&self.figures.registry),
                clock: self.clock.clone(),
                engine: handle.clone(),
            };
            tasks.spawn("central_forwarder", forwarder.run(cancel.clone()));
            // Commands down from the centre, on the same server.
            let commands = CommandTask {
                url: c.url.clone(),
                site: c.site_id(&self.config.site.id).to_owned(),
                engine: handle.clone(),
                metrics: CommandMetrics::register(&self.figures.registry),
                clock: self.clock.clone(),
            };
            tasks.spawn("central_commands", commands.run(cancel.clone()));
        }
        if let (Some(paging), Some(input)) = (&paging, paging_rx) {
            let parts = crate::paging::Parts {
                paging: paging.clone(),
                input,
                store: self.store.clone(),
                engine: handle.clone(),
                metrics: self.figures.paging.clone(),
                clock: self.clock.clone(),
            };
            let task = crate::paging::PagingTask::new(parts, &self.config)
                .context("Failed to configure paging")?;
            tasks.spawn("paging", task.run(cancel.clone()));
        }
        for w in &self.config.warnings.0 {
            tracing::warn!(problem = %w, "config warning");
        }
        drop(source_tx);
        let state = AppState {
            paging,
            engine: handle,
            store: self.store.clone(),
            writes,
            metrics: self.figures.http.clone(),
            site: Arc::new(self.config.site.clone()),
            devices: Arc::new(self.config.devices.clone()),
            checkpoints: Arc::new(self.config.patrol.checkpoints.clone()),
            estate: self.estate.clone(),
            live,
            clock: self.clock.clone(),
            shutdown: cancel.clone(),
            auth: Arc::new(http::AuthState::new(
                self.config.http.trusted_proxies.clone(),
            )),
            kpis: self.config.kpis,
            billing: self.config.billing.clone(),
            notify: self.notify_sender(&tasks, &cancel)?,
            tasks: health,
        };
        let router = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(self.listener, router)
            .with_graceful_shutdown(cancel.clone().cancelled_owned());
        tasks.spawn_fallible("http_server", async move { server.await });
        for extra in std::mem::take(&mut self.extra) {
            tasks.spawn(extra.name, extra.task);
        }
        tasks.close();
        cancel.cancelled().await;
        tracing::info!("stopping: draining sources, engine and store");
        if tokio::time::timeout(GRACE, tasks.wait()).await.is_err() {
            tracing::warn!(grace = ?GRACE, "shutdown grace period over; abandoning the rest");
        }
        self.store.close().await;
        Ok(())
    }
}

/// Reads the meter register into the estate's table (issue 24); an import replaces it
/// while the daemon runs (`POST /api/v1/meters/import`).
async fn load_meters(estate: &Estate, store: &Store) -> anyhow::Result<()> {
    let meters = store
        .meters()
        .await
        .context("Failed to read the meter register")?;
    if meters.is_empty() {
        return Ok(());
    }
    let buildings = store
        .unit_buildings()
        .await
        .context("Failed to read the unit register")?;
    for reason in estate.load(&meters, &buildings) {
        tracing::warn!(%reason, "meter of the register left out");
    }
    let gateways = estate.gateways().len();
    tracing::info!(meters = meters.len(), gateways, "meter register read");
    Ok(())
}

impl App {
    /// The central feed when `[central]` is set: which history travels, and the buffer's
    /// gate (its refusals counted in `/metrics`).
    fn central_feed(&self) -> Option<Feed> {
        let c = self.config.central.as_ref()?;
        let history = match c.history {
            HistoryLevel::None => History::None,
            HistoryLevel::Recorded => History::Recorded,
            HistoryLevel::All => History::All,
        };
        Some(Feed {
            history,
            gate: Gate::register(&self.figures.registry),
        })
    }

    /// Starts the notice sender when `[notify]` is set; the planner for the HTTP side.
    fn notify_sender(
        &self,
        tasks: &Supervisor,
        cancel: &CancellationToken,
    ) -> anyhow::Result<crate::notify::Planner> {
        let Some(config) = &self.config.notify else {
            return Ok(crate::notify::Planner::default());
        };
        let planner = crate::notify::Planner {
            policy: Some(crate::register::plan::Policy::new(
                config,
                self.config.mqtt.url.is_some(),
                &self.config.site.id,
            )),
            wake: Arc::default(),
        };
        let sender = crate::notify::sender::Sender::new(
            config,
            self.store.clone(),
            self.figures.notify.clone(),
            self.clock.clone(),
            planner.wake.clone(),
        )
        .context("Failed to configure notice sending")?;
        tasks.spawn("notice_sender", sender.run(cancel.clone()));
        Ok(planner)
    }

    /// The MQTT source, when devices use MQTT or a broker is configured (NFC readers).
    fn mqtt_source(
        &self,
        scans: tokio::sync::mpsc::Sender<mqtt::ReaderScan>,
        sources: &tokio::sync::mpsc::Sender<sitewatch_core::points::SourceEvent>,
    ) -> anyhow::Result<Option<MqttSource>> {
        if !self.config.uses_mqtt() && self.config.mqtt.url.is_none() {
            return Ok(None);
        }
        let out = mqtt::Outputs {
            sources: sources.clone(),
            scans,
        };
        let source = MqttSource::new(
            &self.config,
            out,
            self.figures.mqtt.clone(),
            self.clock.clone(),
        )
        .context("Failed to configure MQTT")?;
        Ok(Some(source))
    }
}

/// Every module's figures, each registered once by its owner in the one registry.
#[derive(Debug, Clone)]
struct Figures {
    registry: Registry,
    engine: EngineMetrics,
    store: StoreMetrics,
    mqtt: MqttMetrics,
    outbox: OutboxMetrics,
    notify: NotifyMetrics,
    http: HttpMetrics,
    paging: crate::paging::PagingMetrics,
}

impl Figures {
    fn register(r: &Registry) -> Self {
        let service = ServiceMetrics::register(r);
        let notify = NotifyMetrics::register(r);
        Self {
            registry: r.clone(),
            engine: EngineMetrics::register(r, service.clone()),
            store: StoreMetrics::register(r),
            mqtt: MqttMetrics::register(r),
            outbox: OutboxMetrics::register(r),
            http: HttpMetrics::register(r, service, notify.clone()),
            paging: crate::paging::PagingMetrics::register(r),
            notify,
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
