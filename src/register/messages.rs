//! One recipient's message as the store keeps it, and a message due for an attempt.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Role;
use super::plan::{Channel, Status};

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
