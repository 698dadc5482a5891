//! Scan intake, the same for a guard's phone (HTTP) and a fixed reader (MQTT): the scan
//! goes to the engine, which judges it; the store writer keeps the scan and its verdict in
//! one row of one transaction (with the patrol book's snapshot and journal), and the
//! sender is answered once that is written. Nothing is dropped: invalid scans are kept
//! with their verdict, and a reader's scan waits however long the database is away, its
//! MQTT message acknowledged only once kept.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sitewatch_core::clock::Clock;
use sitewatch_core::patrol::{Scan, ScanSource, TagRef};
use tokio::sync::mpsc;

use crate::devices::mqtt::ReaderScan;
use crate::devices::nfc::NfcScan;
use crate::engine::EngineHandle;
pub use crate::engine::ScanAnswer;
use crate::store::writer::WriteStatus;

/// Why a scan could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The scan was judged but not written within [`PHONE_WAIT`] (the database is failing):
    /// the caller answers 5xx so the phone resends; the writer keeps trying meanwhile.
    #[error("the scan is not stored yet; send it again shortly")]
    NotStored,
    /// The engine has stopped, or the writer gave up at shutdown.
    #[error("engine unavailable")]
    Unavailable,
}

/// Longest a phone waits for its scan to be written before it is told to send it again.
const PHONE_WAIT: Duration = Duration::from_secs(5);

/// Judges one scan from a phone and answers once it is stored: with whether the scan was
/// new (`false` for a resent queue: judged `resent`, the first verdict stays; but when
/// none is stored, an older version's row, this verdict is saved).
pub async fn take(
    writes: &WriteStatus,
    engine: &EngineHandle,
    scan: Scan,
    phone_guard: bool,
) -> Result<(ScanAnswer, bool), IntakeError> {
    let kept = writes.scan_kept(&scan.id);
    let answer = engine
        .scan(scan, phone_guard)
        .await
        .map_err(|_| IntakeError::Unavailable)?;
    match tokio::time::timeout(PHONE_WAIT, kept).await {
        Ok(Ok(fresh)) => Ok((answer, fresh)),
        Ok(Err(_)) => Err(IntakeError::Unavailable),
        Err(_) => Err(IntakeError::NotStored),
    }
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

/// Takes reader scans from the MQTT source until it stops. Each is judged once and waits
/// until the writer has kept it, however long the database is away (the broker keeps its
/// message unacknowledged meanwhile, and the scans behind it wait; the writer counts each
/// failed try in `sitewatch_scan_store_retries_total`): never dropped. Its receipt
/// acknowledges its message once stored. Ends when the engine or the writer has stopped.
pub async fn run_readers(
    mut rx: mpsc::Receiver<ReaderScan>,
    writes: WriteStatus,
    engine: EngineHandle,
    clock: Arc<dyn Clock>,
) {
    while let Some(ReaderScan { scan, receipt }) = rx.recv().await {
        let scan = from_reader(scan, clock.now());
        let kept = writes.scan_kept(&scan.id);
        if engine.scan(scan, false).await.is_err() || kept.await.is_err() {
            return;
        }
        receipt.kept();
    }
}
