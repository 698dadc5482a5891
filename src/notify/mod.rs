//! Sending notices to owners and tenants (issue 5). Issuing a notice plans one message per
//! recipient (`plan`) in the notice's own transaction; the `sender` task delivers them by
//! SMTP (`lettre`) or to the SMS/WeChat gateway's webhook (`reqwest`), with retries and
//! exponential back-off, recording every outcome per recipient. Flood control (one message
//! per incident and contact, a per-contact rate limit) holds messages back as
//! `suppressed`, with the reason; nothing is dropped silently.

pub mod metrics;
pub mod plan;
pub mod sender;
pub(crate) mod transport;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;

use crate::customers::Role;
pub use metrics::NotifyMetrics;
use plan::{Channel, Policy, Status};

/// One recipient's message record, as shown with its notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRecord {
    /// Message number.
    pub id: i64,
    /// The unit.
    pub unit: String,
    /// Owner or tenant.
    pub role: Role,
    /// Name.
    pub name: String,
    /// How it travels.
    pub channel: Channel,
    /// Email address or phone number used.
    pub address: Option<String>,
    /// The incident the notice is about (flood control), if any.
    pub incident: Option<i64>,
    /// Where it stands.
    pub status: Status,
    /// Why it failed, was held back, or the last attempt's error while retrying.
    pub reason: Option<String>,
    /// Attempts made.
    pub attempts: i64,
    /// Planned at.
    pub created_at: DateTime<Utc>,
    /// Last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Accepted by the receiver.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A message due for an attempt, with the notice's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Message number.
    pub id: i64,
    /// The notice.
    pub notice: i64,
    /// The unit.
    pub unit: String,
    /// Recipient's name.
    pub name: String,
    /// How it travels.
    pub channel: Channel,
    /// The recipient's preference (`sms`, `phone`, `wechat`, `email`).
    pub preferred: String,
    /// Email address or phone number.
    pub address: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The same on every attempt: the receiver drops repeats by it.
    pub key: String,
    /// Notice title.
    pub title: String,
    /// Notice text.
    pub body: String,
}

/// What the HTTP side needs to plan messages: the policy (`None` without `[notify]`) and
/// the sender's doorbell.
#[derive(Debug, Clone, Default)]
pub struct Planner {
    /// From `[notify]`; `None`: nothing is sent.
    pub policy: Option<Policy>,
    /// Rung after messages are queued, so the sender need not wait for its next poll.
    pub wake: Arc<Notify>,
}
