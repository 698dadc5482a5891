//! Durable delivery. Decisions that must reach the outside (alarm states and events) are
//! queued in the store's outbox by the engine's sinks; a publisher per channel sends them
//! in order and marks them delivered only when the receiver confirms, so a broker outage
//! or a restart delays them but loses none (at least once: a message may arrive twice).

pub mod commands;
pub mod jetstream;
mod metrics;
pub mod mqtt;

pub use metrics::{CentralMetrics, OutboxMetrics};
