//! What the patrol book tells the rest of the daemon: tours opening and closing,
//! checkpoints overdue and missed (the caller raises the patrol alarm), findings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::findings::{Finding, FindingAction};
use super::tours::{Tour, TourId};

/// A change the patrol book decided on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PatrolEvent {
    /// A tour's scheduled start came.
    TourOpened {
        /// Tour id.
        tour: TourId,
        /// Route id.
        route: String,
        /// Latest on-time start.
        latest_start: DateTime<Utc>,
    },
    /// The first valid scan of a tour.
    TourStarted {
        /// Tour id.
        tour: TourId,
        /// Route id.
        route: String,
        /// Guard who scanned.
        guard: String,
        /// When the scan was made.
        at: DateTime<Utc>,
    },
    /// No valid scan by the latest on-time start.
    TourStartMissed {
        /// Tour id.
        tour: TourId,
        /// Route id.
        route: String,
        /// The latest on-time start that passed.
        latest_start: DateTime<Utc>,
    },
    /// A checkpoint counted as done.
    CheckpointDone {
        /// Tour id.
        tour: TourId,
        /// Checkpoint id.
        checkpoint: String,
        /// When it became done.
        at: DateTime<Utc>,
        /// Whether after its due time.
        late: bool,
    },
    /// A checkpoint passed its due time undone; a heads-up for the board, not yet missed.
    CheckpointOverdue {
        /// Tour id.
        tour: TourId,
        /// Route id.
        route: String,
        /// Checkpoint id.
        checkpoint: String,
        /// Its due time.
        due_at: DateTime<Utc>,
    },
    /// A checkpoint not done by the tour deadline: the caller raises a patrol alarm.
    CheckpointMissed {
        /// Tour id.
        tour: TourId,
        /// Route id.
        route: String,
        /// Checkpoint id.
        checkpoint: String,
        /// The tour deadline that passed.
        deadline: DateTime<Utc>,
    },
    /// A scan delivered late showed a missed checkpoint was done in time; the caller
    /// clears the alarm.
    CheckpointMissCleared {
        /// Tour id.
        tour: TourId,
        /// Checkpoint id.
        checkpoint: String,
        /// When the scan was made.
        at: DateTime<Utc>,
    },
    /// Every checkpoint done.
    TourCompleted {
        /// The tour as closed, for the caller to store.
        tour: Box<Tour>,
        /// Whether it counts for the patrols-on-time KPI.
        on_time: bool,
    },
    /// The deadline passed with checkpoints missed.
    TourIncomplete {
        /// The tour as closed, for the caller to store.
        tour: Box<Tour>,
    },
    /// A guard's finding and the follow-up it needs.
    FindingRecorded {
        /// The finding.
        finding: Finding,
        /// What to do about it.
        action: FindingAction,
    },
}
