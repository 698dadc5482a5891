//! The central office (issue 23): `sitewatch central --config central.toml` consumes
//! every site's records from NATS JetStream into a central PostgreSQL database and serves
//! the fleet's figures. Sites forward with `outbox::jetstream`; nothing here runs on a
//! site.

pub mod auth;
mod command_log;
mod commands;
pub mod config;
pub mod consumer;
pub mod db;
pub mod figures;
mod fleet;
mod metrics;
mod page;
mod site_detail;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::middleware::from_fn_with_state;
use sitewatch_core::clock::{Clock, SystemClock};
use tokio_util::sync::CancellationToken;

pub use config::CentralConfig;
pub use metrics::FleetMetrics;

/// Runs the centre until `cancel`: the consumer and the HTTP server (`/metrics`,
/// `/api/v1/fleet`).
pub async fn run(config: CentralConfig, cancel: CancellationToken) -> anyhow::Result<()> {
    run_with(config, Arc::new(SystemClock), cancel).await
}

/// [`run`] on `clock`.
pub async fn run_with(
    config: CentralConfig,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
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
        metrics: metrics.clone(),
    };
    let task = tokio::spawn(consumer.run(cancel.clone()));
    let auth = auth::CentreAuth {
        pool: pool.clone(),
        limits: Arc::new(crate::http::AuthState::new(Vec::new())),
        metrics,
        clock: clock.clone(),
    };
    let state = fleet::State {
        pool,
        link_down: fleet::link_down_gauge(&registry),
        registry,
        link_down_after: config.fleet.link_down_after,
        sites: Arc::new(config.sites.clone()),
        started: clock.now(),
        clock: clock.clone(),
    };
    let commands = commands::Commands {
        client: commands_client(&config.nats.url).await?,
        pool: state.pool.clone(),
        timeout: config.fleet.command_timeout,
        metrics: commands::CommandFigures::register(&state.registry),
    };
    let app = router(state, auth, commands).into_make_service_with_connect_info::<SocketAddr>();
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

/// Every route of the centre behind the sign-in layer (which lets `/metrics`, `/healthz`
/// and the log-in form through). A new route is merged here, before the layer.
fn router(state: fleet::State, auth: auth::CentreAuth, commands: commands::Commands) -> Router {
    fleet::router(state)
        .merge(page::router())
        .merge(site_detail::router(commands.pool.clone()))
        .merge(commands::router(commands))
        .merge(auth::router(auth.clone()))
        .layer(from_fn_with_state(auth, auth::layer))
}
