//! Scan intake, the same for a guard's phone (HTTP) and a fixed reader (MQTT): the scan is
//! stored as received, then judged by the patrol book, then its verdict stored. Nothing is
//! dropped: invalid scans are kept with their verdict, and a reader's scan that cannot be
//! stored yet is retried until it is, its MQTT message acknowledged only then.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sitewatch_core::clock::Clock;
use sitewatch_core::patrol::{Scan, ScanRecord, ScanSource, TagRef, TourProgress};
use tokio::sync::mpsc;

use crate::devices::mqtt::ReaderScan;
use crate::devices::nfc::NfcScan;
use crate::engine::{EngineHandle, Output};
use crate::metrics::Registry;
use crate::store::{Store, StoreError};

/// The verdict on a scan and where the guard's tour stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScanAnswer {
    /// The scan with its verdict.
    pub record: ScanRecord,
    /// The tour it counted for.
    #[schema(value_type = Option<Object>)]
    pub progress: Option<TourProgress>,
}

/// Why a scan could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The database failed; the caller should answer 5xx so the sender retries.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine has stopped.
    #[error("engine unavailable")]
    Unavailable,
}

/// Stores, judges and records one scan. `fresh` is false when the same scan id was
/// stored before (a resent queue): it is judged (`resent`) and the stored verdict stays;
/// but when none is stored (saving the first one failed and the phone was answered 5xx),
/// this verdict is saved, as a restart's judging of pending scans would.
pub async fn take(
    store: &Store,
    engine: &EngineHandle,
    scan: Scan,
    phone_guard: bool,
) -> Result<(ScanAnswer, bool), IntakeError> {
    let fresh = store.insert_scan(&scan).await?;
    let answer = judge(engine, scan, phone_guard)
        .await
        .ok_or(IntakeError::Unavailable)?;
    if fresh {
        store.set_scan_result(&answer.record).await?;
    } else {
        store.set_missing_scan_result(&answer.record).await?;
    }
    Ok((answer, fresh))
}

async fn judge(engine: &EngineHandle, scan: Scan, phone_guard: bool) -> Option<ScanAnswer> {
    engine
        .act(move |b, now| {
            if let (true, ScanSource::Phone { token }) = (phone_guard, &scan.source) {
                b.patrol.register_token(token, &scan.guard);
            }
            let outcome = b.patrol.scan(scan, now);
            let mut out = vec![Output::Scan(Box::new(outcome.record.clone()))];
            out.extend(outcome.events.into_iter().map(Output::patrol));
            (
                ScanAnswer {
                    record: outcome.record,
                    progress: outcome.progress,
                },
                out,
            )
        })
        .await
}

/// A fixed reader's scan as the patrol book takes it.
pub fn from_reader(nfc: NfcScan, received_at: DateTime<Utc>) -> Scan {
    let id = nfc.id.clone().unwrap_or_else(|| {
        format!(
            "{}:{}:{}",
            nfc.reader,
            nfc.tag_uid,
            nfc.at.timestamp_millis()
        )
    });
    Scan {
        id,
        tag: TagRef::Uid(nfc.tag_uid),
        source: ScanSource::Reader { reader: nfc.reader },
        guard: nfc.guard.unwrap_or_default(),
        scanned_at: nfc.at,
        received_at,
    }
}

/// First wait after a failed store of a reader scan; doubles up to [`MAX_RETRY_WAIT`].
const MIN_RETRY_WAIT: Duration = Duration::from_millis(200);
/// Longest wait between attempts to store a reader scan.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// One warning per this long while a reader scan cannot be stored.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// What the reader scans' intake shows in `/metrics`.
#[derive(Debug, Clone)]
pub struct ScanMetrics(prometheus::IntCounter);

impl ScanMetrics {
    /// Creates and registers the intake's counter in `r`.
    pub fn register(r: &Registry) -> Self {
        Self(r.int_counter(
            "sitewatch_scan_store_retries_total",
            "Failed attempts to store a reader's scan; each is retried until stored.",
        ))
    }
}

/// Takes reader scans from the MQTT source until it stops. A scan that cannot be stored
/// is retried until it is (the broker keeps it unacknowledged meanwhile, and the scans
/// behind it wait): never dropped. Its receipt acknowledges its message once stored.
pub async fn run_readers(
    mut rx: mpsc::Receiver<ReaderScan>,
    store: Store,
    engine: EngineHandle,
    clock: Arc<dyn Clock>,
    metrics: ScanMetrics,
) {
    while let Some(ReaderScan { scan, receipt }) = rx.recv().await {
        let scan = from_reader(scan, clock.now());
        if keep(&store, &engine, scan, &metrics).await.is_err() {
            return;
        }
        receipt.kept();
    }
}

/// Takes one reader scan as [`take`] does, each write retried until it succeeds, so the
/// scan is judged once however long the database is away; an error only when the engine
/// has stopped.
async fn keep(
    store: &Store,
    engine: &EngineHandle,
    scan: Scan,
    metrics: &ScanMetrics,
) -> Result<(), IntakeError> {
    let id = scan.id.clone();
    let fresh = until_stored(&id, metrics, || store.insert_scan(&scan)).await;
    let answer = judge(engine, scan, false)
        .await
        .ok_or(IntakeError::Unavailable)?;
    if fresh {
        until_stored(&id, metrics, || store.set_scan_result(&answer.record)).await;
    }
    Ok(())
}

/// Runs `write` until it succeeds, waiting 200 ms doubling to 10 s between attempts, each
/// failure counted and a warning logged once a minute.
async fn until_stored<T, F, Fut>(scan: &str, metrics: &ScanMetrics, mut write: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut wait = MIN_RETRY_WAIT;
    let mut warned: Option<Instant> = None;
    let mut failures = 0u64;
    loop {
        let error = match write().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        metrics.0.inc();
        failures += 1;
        if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            tracing::warn!(scan, failures, error = %error, "reader scan not stored yet; retrying until it is (its message stays unacknowledged)");
            warned = Some(Instant::now());
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_RETRY_WAIT);
    }
}
