//! Scan intake, the same for a guard's phone (HTTP) and a fixed reader (MQTT): the scan is
//! stored as received, then judged by the patrol book, then its verdict stored. Nothing is
//! dropped: invalid scans are kept with their verdict.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sitewatch_core::clock::Clock;
use sitewatch_core::patrol::{Scan, ScanRecord, ScanSource, TagRef, TourProgress};
use tokio::sync::mpsc;

use crate::devices::nfc::NfcScan;
use crate::engine::{EngineHandle, Output};
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
/// stored before (a resent queue): it is judged (`resent`) but the stored verdict stays.
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

/// Takes reader scans from the MQTT source until it stops; a failed store write is
/// retried a few times, then logged loudly (the reader's scan is in the broker log only).
pub async fn run_readers(
    mut rx: mpsc::Receiver<NfcScan>,
    store: Store,
    engine: EngineHandle,
    clock: std::sync::Arc<dyn Clock>,
) {
    while let Some(nfc) = rx.recv().await {
        let scan = from_reader(nfc, clock.now());
        for attempt in 1..=5u64 {
            match take(&store, &engine, scan.clone(), false).await {
                Ok(_) => break,
                Err(IntakeError::Unavailable) => return,
                Err(e) => {
                    tracing::warn!(scan = %scan.id, attempt, error = %e, "reader scan not stored yet; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
                }
            }
        }
    }
}
