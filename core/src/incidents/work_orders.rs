//! Work passed to another department (seed 001:741, the closest text: 需其他部门协助处理的,
//! 开具工作联系单 and follow it to the end): a request outside the desk's scope becomes a
//! work order to a named department with a deadline; the department's result is written
//! on it; when the deadline will be missed the owner is told why. The order belongs to
//! its request and moves only through the request's own steps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A work order (工作联系单) to another department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkOrder {
    /// The department asked (`engineering`, `security`, a site's own name).
    pub department: String,
    /// What it is asked to do.
    pub task: String,
    /// When it must be done by.
    pub due_at: DateTime<Utc>,
    /// Who passed it on, and when.
    pub issued_by: String,
    /// When.
    pub issued_at: DateTime<Utc>,
    /// The department's result, once written.
    pub result: Option<WorkResult>,
    /// Why it will be late, as the owner was told.
    pub delay: Option<WorkResult>,
    /// Whether the deadline passed with no result; set once.
    pub breached: bool,
}

/// A text written on a work order: the result, or the reason for a delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkResult {
    /// What was written.
    pub text: String,
    /// By whom.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl WorkOrder {
    /// Whether the department still owes its result.
    pub fn is_open(&self) -> bool {
        self.result.is_none()
    }

    /// Marks the order breached if `now` is past due with no result. True only on the call
    /// that breached it.
    pub fn tick(&mut self, now: DateTime<Utc>) -> bool {
        if self.breached || !self.is_open() || now <= self.due_at {
            return false;
        }
        self.breached = true;
        true
    }
}
