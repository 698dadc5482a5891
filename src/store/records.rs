//! Decisions of the engine that have tables of their own (a judged scan, a guard's
//! finding, an inspection, a key loan or inventory, a maintenance task done, a fire test put in place, the meter snapshots of a cut-off), written by the store writer in the batch's
//! transaction with the journal and the book snapshots that go with them, so a record and
//! the state that decided it are kept together or not at all. They never give way.
//!
//! A caller that must not answer before its record is kept (a phone's scan, a reader's
//! message acknowledgement) asks for a receipt ([`Receipts`]) before it sends the command.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use sitewatch_core::compliance::ComplianceItem;
use sitewatch_core::inspections::{Inspection, KeyInventory, KeyLoan};
use sitewatch_core::maintenance::TaskDone;
use sitewatch_core::patrol::{Finding, ScanRecord};
use tokio::sync::oneshot;

use super::StoreError;
use crate::billing::Snapshot;

/// A decision with a table of its own.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A scan as received with its verdict, one row. A scan already stored (a resend) is
    /// not stored again; its verdict is filled in only when it has none.
    Scan(Box<ScanRecord>),
    /// A guard's finding; a resend of one kept is not kept again.
    Finding(Box<Finding>),
    /// A vacant unit's inspection as recorded, at `at`.
    Inspection {
        /// The inspection, its meter items judged.
        inspection: Box<Inspection>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A key loan as it stands: signed out (a new row) or back in (its row closed).
    KeyLoan(Box<KeyLoan>),
    /// An inventory of the key board, with what was missing.
    KeyInventory(Box<KeyInventory>),
    /// A plant maintenance task done, with its running data.
    MaintenanceDone(Box<TaskDone>),
    /// Compliance-register items put.
    ComplianceItems {
        /// The items.
        items: Vec<ComplianceItem>,
        /// Who.
        by: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A compliance inspection recorded, with the item as it now stands.
    ComplianceDone {
        /// The item.
        item: Box<ComplianceItem>,
        /// The site-local day.
        on: NaiveDate,
        /// Who.
        by: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A fire-system test's suppression was put in place at `at`.
    FireTestApplied {
        /// The test.
        id: i64,
        /// When.
        at: DateTime<Utc>,
    },
    /// The meter snapshots of one cut-off.
    MeterSnapshots(Vec<Snapshot>),
    /// A duty-log entry (值班记录) with the number the hand-over book gave it.
    DutyEntry(Box<super::DutyEntry>),
}

impl Record {
    /// Its estimated memory in the backlog.
    pub(super) fn cost(&self) -> usize {
        std::mem::size_of::<Record>()
            + match self {
                // The scan, its verdict and their JSON: a few hundred bytes.
                Record::Scan(_) | Record::Finding(_) | Record::Inspection { .. } => 512,
                Record::DutyEntry(e) => 64 + e.text.len(),
                Record::KeyLoan(_) | Record::MaintenanceDone(_) => 128,
                Record::KeyInventory(inv) => 128 + 32 * inv.counted.len(),
                Record::ComplianceItems { items, .. } => 256 * items.len(),
                Record::ComplianceDone { .. } => 256,
                Record::FireTestApplied { .. } => 0,
                Record::MeterSnapshots(rows) => rows.len() * 256,
            }
    }
}

/// Writes `records` on `tx`; for each scan, in order, whether it was new to the table.
pub(super) async fn write_records_in(
    tx: &mut sqlx::AnyConnection,
    records: &[Record],
) -> Result<Vec<(String, bool)>, StoreError> {
    let mut kept = Vec::new();
    for record in records {
        match record {
            Record::Scan(r) => kept.push((r.scan.id.clone(), keep_scan_in(tx, r).await?)),
            Record::Finding(f) => super::patrol::insert_finding_in(tx, f).await?,
            Record::Inspection { inspection, at } => {
                super::inspections::insert_inspection_in(tx, inspection, *at).await?
            }
            Record::KeyLoan(loan) => super::inspections::keep_key_loan_in(tx, loan).await?,
            Record::KeyInventory(inv) => {
                super::inspections::insert_key_inventory_in(tx, inv).await?
            }
            Record::MaintenanceDone(done) => {
                super::inspections::insert_maintenance_done_in(tx, done).await?
            }
            Record::ComplianceItems { items, by, at } => {
                for item in items {
                    super::compliance::put(tx, item, by, *at).await?;
                }
            }
            Record::ComplianceDone { item, on, by, at } => {
                super::compliance::record_done_in(tx, item, *on, by, *at).await?
            }
            Record::FireTestApplied { id, at } => {
                super::duty::mark_fire_test_applied_in(tx, *id, *at).await?
            }
            Record::MeterSnapshots(rows) => super::snapshots::insert_snapshots_in(tx, rows).await?,
            Record::DutyEntry(e) => super::duty::insert_duty_entry_in(tx, e).await?,
        }
    }
    Ok(kept)
}

/// Keeps a scan as received, then its verdict where the row has none (a new row, or a row
/// an older version stored before it judged). True when the row is new.
async fn keep_scan_in(tx: &mut sqlx::AnyConnection, r: &ScanRecord) -> Result<bool, StoreError> {
    let scan = &r.scan;
    let done = sqlx::query(
        "insert into scans (scan_id, scanned_ms, received_ms, guard, body) values ($1, $2, $3, $4, $5) \
         on conflict (scan_id) do nothing",
    )
    .bind(scan.id.clone())
    .bind(scan.scanned_at.timestamp_millis())
    .bind(scan.received_at.timestamp_millis())
    .bind(scan.guard.clone())
    .bind(serde_json::to_string(scan).unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    sqlx::query("update scans set result = $1, record = $2 where scan_id = $3 and result is null")
        .bind(r.result.as_str())
        .bind(serde_json::to_string(r).unwrap_or_default())
        .bind(scan.id.clone())
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Who waits for which scan to be kept, each told whether it was new, in the order they
/// asked (two sends of one scan in one batch: the first is new, the second not).
#[derive(Debug, Default)]
pub struct Receipts(Mutex<HashMap<String, VecDeque<oneshot::Sender<bool>>>>);

impl Receipts {
    /// A receipt for the next keeping of scan `id`.
    pub fn scan(&self, id: &str) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        self.lock().entry(id.to_owned()).or_default().push_back(tx);
        rx
    }

    /// Scans kept, each with whether it was new: their first waiters are told.
    pub(super) fn kept(&self, scans: &[(String, bool)]) {
        let mut waiting = self.lock();
        for (id, fresh) in scans {
            let Some(queue) = waiting.get_mut(id) else {
                continue;
            };
            if let Some(tx) = queue.pop_front() {
                let _ = tx.send(*fresh);
            }
            if queue.is_empty() {
                waiting.remove(id);
            }
        }
    }

    /// Nothing more will be written: every waiter hears so (its receiver closes).
    pub(super) fn abandon(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<oneshot::Sender<bool>>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_waiter_hears_of_its_own_keeping_in_the_order_they_asked() {
        let receipts = Receipts::default();
        let mut first = receipts.scan("s1");
        let mut second = receipts.scan("s1");
        let mut other = receipts.scan("s2");
        receipts.kept(&[("s1".into(), true)]);
        assert_eq!(first.try_recv(), Ok(true));
        assert!(
            second.try_recv().is_err(),
            "its own keeping is still to come"
        );
        receipts.kept(&[("s1".into(), false)]);
        assert_eq!(second.try_recv(), Ok(false), "a resend: not new");
        receipts.abandon();
        assert_eq!(
            other.try_recv(),
            Err(oneshot::error::TryRecvError::Closed),
            "the writer gave up: the waiter is not left hanging"
        );
    }
}
