//! Scans as they arrive from fixed readers and guards' phones, and the verdict on each.
//! A scan is never dropped: every one comes back with its result for the caller to store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::tours::TourId;

/// How a scan names its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum TagRef {
    /// The NFC UID as read, any case or separators.
    Uid(String),
    /// The printed short code, typed by the guard.
    ShortCode(String),
}

/// Where a scan came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum ScanSource {
    /// A fixed reader over MQTT.
    Reader {
        /// Reader id from the topic.
        reader: String,
    },
    /// A guard's phone over HTTP.
    Phone {
        /// The phone's token id.
        token: String,
    },
}

/// One scan as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scan {
    /// Id made by the sender, so a resent scan is known again.
    pub id: String,
    /// The checkpoint's tag.
    pub tag: TagRef,
    /// Reader or phone.
    pub source: ScanSource,
    /// Guard id.
    pub guard: String,
    /// When the device says it was made.
    pub scanned_at: DateTime<Utc>,
    /// When the server got it.
    pub received_at: DateTime<Utc>,
}

/// Which side of its window a scan fell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowSide {
    /// Before the tour's scheduled start.
    Early,
    /// After the tour's deadline.
    Late,
}

/// The verdict on a scan. Only `Ok` moves a tour on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ScanResult {
    /// Counted; `late` when after the checkpoint's due time but before the tour deadline.
    Ok {
        /// Whether after the checkpoint's due time.
        late: bool,
    },
    /// No checkpoint has this tag or code.
    UnknownTag,
    /// The checkpoint is not on the guard's current route, or on no route at all.
    NotOnRoute,
    /// An ordered route expected another checkpoint first.
    OutOfOrder {
        /// The checkpoint expected.
        expected: String,
    },
    /// No tour of a route with this checkpoint was open at the scan time.
    OutsideWindow {
        /// Early or late.
        side: WindowSide,
    },
    /// The same guard scanned the same tag within the duplicate interval (§14: 60 s).
    Duplicate,
    /// The checkpoint is already done in this tour, or this guard already scanned it.
    AlreadyDone,
    /// The reader is not configured, or the phone token is not this guard's.
    NotAllowed,
    /// A scan with this id was received before; the first copy stands.
    Resent,
}

impl ScanResult {
    /// The stable lower-case name used in the API, the store and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            ScanResult::Ok { .. } => "ok",
            ScanResult::UnknownTag => "unknown_tag",
            ScanResult::NotOnRoute => "not_on_route",
            ScanResult::OutOfOrder { .. } => "out_of_order",
            ScanResult::OutsideWindow { .. } => "outside_window",
            ScanResult::Duplicate => "duplicate",
            ScanResult::AlreadyDone => "already_done",
            ScanResult::NotAllowed => "not_allowed",
            ScanResult::Resent => "resent",
        }
    }
}

/// A scan with its verdict: what the caller stores, valid or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScanRecord {
    /// The scan as received.
    pub scan: Scan,
    /// The verdict.
    pub result: ScanResult,
    /// The time the scan counts at: the device time, never later than receipt.
    pub at: DateTime<Utc>,
    /// Received long after it was made (a phone queue); judged at its own time.
    pub delivered_late: bool,
    /// The checkpoint, when the tag is known.
    pub checkpoint: Option<String>,
    /// The tour it was judged against, if any.
    #[schema(value_type = Option<String>)]
    pub tour: Option<TourId>,
}
