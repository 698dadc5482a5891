//! Wiring: `App::build(config)` connects, migrates and binds; `run_until_stopped` spawns
//! sources, the engine and the sinks, and on cancel drains them in pipeline order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sitewatch_core::clock::Clock;
use sitewatch_core::points::PointsHub;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::devices::{self, modbus::Bus};
use crate::engine::Engine;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::store::{Store, writer};

/// How long shutdown may take before the rest is abandoned.
const GRACE: Duration = Duration::from_secs(10);

/// A built daemon, listening but not yet running.
#[derive(Debug)]
pub struct App {
    config: Config,
    listener: TcpListener,
    store: Store,
    metrics: Metrics,
    clock: Arc<dyn Clock>,
}

impl App {
    /// Connects to and migrates the database and binds the HTTP listener.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let store = Store::connect(&config.database.url)
            .await
            .with_context(|| format!("Failed to open database {}", redact(&config.database.url)))?;
        store
            .migrate()
            .await
            .context("Failed to migrate the database")?;
        let listener = TcpListener::bind(config.http.listen)
            .await
            .with_context(|| format!("Failed to listen on {}", config.http.listen))?;
        Ok(App {
            config,
            listener,
            store,
            metrics: Metrics::new(),
            clock,
        })
    }

    /// The address the HTTP server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.config.http.listen)
    }

    /// Runs until `cancel` fires, then stops sources, lets the engine and the store sink
    /// drain, and returns once everything is written or the grace period is over.
    pub async fn run_until_stopped(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let tasks = TaskTracker::new();
        let (handle, source_tx, inputs) = Engine::channels();
        let (store_tx, store_rx) = tokio::sync::mpsc::channel(8192);
        let (live, _) = broadcast::channel(1024);
        let (device_specs, point_specs) = devices::specs(&self.config.devices);
        for d in &self.config.devices {
            let ids: Vec<String> = point_specs
                .iter()
                .filter(|p| p.device == d.config.id)
                .map(|p| p.id.clone())
                .collect();
            self.metrics.declare(&d.config.id, &ids);
        }
        let hub = PointsHub::new(device_specs, point_specs);
        let engine = Engine::new(
            hub,
            self.clock.clone(),
            self.metrics.clone(),
            store_tx,
            live.clone(),
        );
        tasks.spawn(writer::run(
            self.store.clone(),
            store_rx,
            self.metrics.clone(),
        ));
        tasks.spawn(engine.run(inputs, cancel.clone()));
        // One task per connection: devices behind one gateway or serial line share it.
        for devices in devices::modbus::group(&self.config.devices) {
            if let Some(bus) = Bus::new(devices, source_tx.clone(), self.metrics.clone()) {
                tasks.spawn(bus.run(cancel.clone()));
            }
        }
        drop(source_tx);
        let state = AppState {
            engine: handle,
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            site: Arc::new(self.config.site.clone()),
            devices: Arc::new(self.config.devices.clone()),
            live,
        };
        let server = axum::serve(self.listener, http::router(state))
            .with_graceful_shutdown(cancel.clone().cancelled_owned());
        tasks.spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "http server failed");
            }
        });
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
