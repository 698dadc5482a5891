//! Scans, from a guard's phone or a fixed reader, judged by the patrol book.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::patrol::{Scan, ScanRecord, ScanSource, TourProgress};

use super::{Answer, CommandError, EngineCommand, Handled};
use crate::engine::{Books, EngineHandle, Output, flow};

/// A scan to judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanCmd {
    /// One scan as received.
    Take {
        /// The scan.
        scan: Scan,
        /// Sent by a signed-in guard from the phone page: the phone's token is theirs.
        phone_guard: bool,
    },
}

/// The verdict on a scan and where the guard's tour stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScanAnswer {
    /// The scan with its verdict.
    pub record: ScanRecord,
    /// The tour it counted for.
    #[schema(value_type = Option<Object>)]
    pub progress: Option<TourProgress>,
}

pub(super) fn command(books: &mut Books, cmd: ScanCmd, now: DateTime<Utc>) -> Handled {
    let ScanCmd::Take { scan, phone_guard } = cmd;
    if let (true, ScanSource::Phone { token }) = (phone_guard, &scan.source) {
        books.patrol.register_token(token, &scan.guard);
    }
    let outcome = books.patrol.scan(scan, now);
    let mut out = vec![Output::Scan(Box::new(outcome.record.clone()))];
    out.extend(flow::patrol(books, outcome.events, now));
    let answer = ScanAnswer {
        record: outcome.record,
        progress: outcome.progress,
    };
    Ok((Answer::Scan(Box::new(answer)), out))
}

impl EngineHandle {
    /// Judges a scan; the verdict and the tour's progress.
    pub async fn scan(&self, scan: Scan, phone_guard: bool) -> Result<ScanAnswer, CommandError> {
        let cmd = EngineCommand::Scan(ScanCmd::Take { scan, phone_guard });
        // No wait on the barrier: the scan's caller holds a receipt of its own.
        match self.decide(cmd).await?.answer {
            Answer::Scan(answer) => Ok(*answer),
            _ => Err(CommandError::Mismatch),
        }
    }
}
