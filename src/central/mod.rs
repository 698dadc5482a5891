//! The central office (issue 23): `sitewatch central --config central.toml` consumes
//! every site's records from NATS JetStream into a central PostgreSQL database and serves
//! the fleet's figures. Sites forward with `outbox::jetstream`; nothing here runs on a
//! site.

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
    axum::serve(listener, fleet::router(state))
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await?;
    let _ = task.await;
    Ok(())
}
