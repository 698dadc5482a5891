//! The snapshot task: checks the clock every second; when a cut-off has passed and its
//! period is not stored, reads every meter from the engine and stores the rows.

use std::sync::Arc;
use std::time::Duration;

use sitewatch_core::clock::Clock;
use tokio_util::sync::CancellationToken;

use super::{Snapshot, due_period, is_meter};
use crate::config::BillingConfig;
use crate::config::Config;
use crate::engine::EngineHandle;
use crate::store::Store;

/// Runs until `cancel`.
pub async fn run(
    config: Arc<Config>,
    store: Store,
    engine: EngineHandle,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) {
    let tz = config.site.tz();
    let billing: &BillingConfig = &config.billing;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut taken: Vec<String> = store.snapshot_periods().await.unwrap_or_default();
    let started = std::time::Instant::now();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let done = |p: &str| taken.iter().any(|t| t == p);
        let Some(period) = due_period(clock.now(), tz, billing.cutoff_day, &done) else {
            continue;
        };
        // Just started: give the meters a first poll, so a snapshot taken late (the daemon
        // was down at the cut-off) holds readings rather than blanks.
        if started.elapsed() < FIRST_READ_GRACE && !meters_read(&engine).await {
            continue;
        }
        match take(&config, &store, &engine, &period, clock.now()).await {
            Ok(n) => {
                tracing::info!(period, meters = n, "meter snapshot taken");
                taken.push(period);
            }
            Err(e) => tracing::warn!(period, error = %e, "meter snapshot failed; trying again"),
        }
    }
}

/// How long after start a due snapshot waits for every meter's first reading.
const FIRST_READ_GRACE: Duration = Duration::from_secs(300);

async fn meters_read(engine: &EngineHandle) -> bool {
    engine
        .read(|b, _| {
            b.hub
                .points()
                .filter(|p| is_meter(&p.unit))
                .all(|p| p.value.is_some())
        })
        .await
        .unwrap_or(false)
}

async fn take(
    config: &Config,
    store: &Store,
    engine: &EngineHandle,
    period: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let points = engine
        .points()
        .await
        .ok_or_else(|| anyhow::anyhow!("engine stopped"))?;
    let rows: Vec<Snapshot> = points
        .into_iter()
        .filter(|p| is_meter(&p.unit))
        .map(|p| Snapshot {
            period: period.to_owned(),
            unit: config
                .devices
                .iter()
                .find(|d| *d.config.id == *p.device)
                .and_then(|d| d.config.unit.clone()),
            device: p.device.to_string(),
            point: p.id.to_string(),
            value: p.value,
            measure: p.unit.to_string(),
            quality: p.quality.as_str().to_owned(),
            read_at: p.updated_at,
            taken_at: now,
        })
        .collect();
    store.insert_snapshots(&rows).await?;
    Ok(rows.len())
}
