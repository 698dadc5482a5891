//! The central office (issue 23): `sitewatch central --config central.toml` consumes
//! every site's records from NATS JetStream into a central PostgreSQL database and serves
//! the fleet's figures. Sites forward with `outbox::jetstream`; nothing here runs on a
//! site.

pub mod auth;
mod commands;
pub mod config;
pub mod consumer;
pub mod db;
mod fleet;
mod metrics;

use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

pub use config::CentralConfig;
pub use metrics::FleetMetrics;

/// Runs the centre until `cancel`: the consumer and the HTTP server (`/metrics`,
/// `/api/v1/fleet`).
pub async fn run(config: CentralConfig, cancel: CancellationToken) -> anyhow::Result<()> {
    let pool = db::connect(&config.database.url).await?;
    let registry = Arc::new(crate::metrics::Registry::new());
    let metrics = FleetMetrics::register(&registry);
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("Failed to listen on {}", config.http.listen))?;
    tracing::info!(url = %format!("http://{}/", listener.local_addr()?), "sitewatch central serving");
    let consumer = consumer::Consumer {
        url: config.nats.url.clone(),
        pool: pool.clone(),
        metrics,
    };
    let task = tokio::spawn(consumer.run(cancel.clone()));
    let state = fleet::State {
        pool,
        registry,
        link_down_after: config.fleet.link_down_after,
    };
    let commands = commands::Commands {
        client: commands_client(&config.nats.url).await?,
        pool: state.pool.clone(),
        timeout: config.fleet.command_timeout,
        metrics: commands::CommandFigures::register(&state.registry),
    };
    let app = fleet::router(state).merge(commands::router(commands));
    axum::serve(listener, app)
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await?;
    let _ = task.await;
    Ok(())
}

/// The NATS client commands to sites go out on; it connects (and reconnects) by itself,
/// and a command sent while it cannot is answered "not delivered".
async fn commands_client(url: &str) -> anyhow::Result<async_nats::Client> {
    async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(std::time::Duration::from_secs(2))
        .max_reconnects(None)
        .connect(url)
        .await
        .context("Failed to use the central NATS url")
}
