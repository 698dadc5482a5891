//! The long-running tasks that ended before the stop, as the supervisor (`app`) saw them
//! end; `/readyz` is not ready while any has, and names them.

use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One task that ended before the stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ended {
    /// The task's name (`engine`, `store_writer`, `mqtt_publisher`, `modbus tcp://…`).
    pub task: String,
    /// `returned`, `failed` or `panicked`.
    pub reason: &'static str,
    /// The error or panic message, when there is one.
    pub detail: Option<String>,
}

/// Cheap-clone list of the tasks that ended early, shared by the supervisor and `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct TaskHealth(Arc<Mutex<Vec<Ended>>>);

impl TaskHealth {
    /// Notes a task that ended early.
    pub fn ended(&self, e: Ended) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(e);
    }

    /// Every task that ended early, in the order they ended.
    pub fn list(&self) -> Vec<Ended> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
