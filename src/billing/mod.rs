//! Monthly meter snapshots for billing (抄表). On the cut-off day (rules.md §13.10: the
//! 20th, seed 004:85) every meter's reading is kept, with the building unit it serves and
//! its quality, and exported as CSV for Finance (the export is due 21st–23rd). A unit's
//! meter with no reading at the cut-off is kept and flagged (`no_reading`).

mod period;

pub use period::{Schedule, due_period, schedule};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One meter's reading at a cut-off.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Snapshot {
    /// `YYYY-MM` of the cut-off.
    pub period: String,
    /// Point id.
    pub point: String,
    /// Device id.
    pub device: String,
    /// The building unit the meter serves, if configured.
    pub unit: Option<String>,
    /// The reading; `None` when the meter was never read.
    pub value: Option<f64>,
    /// Engineering unit (`kWh`, `m3`).
    pub measure: String,
    /// Quality at the cut-off (`good`, `comm_lost`…): a bill must not rest on a stale value
    /// unnoticed.
    pub quality: String,
    /// When the value was read.
    pub read_at: Option<DateTime<Utc>>,
    /// When the snapshot was taken.
    pub taken_at: DateTime<Utc>,
    /// A meter serving a unit that had no reading at the cut-off: the unit cannot be
    /// billed from this snapshot (rules.md §13.10), so it is flagged, not left out.
    pub no_reading: bool,
}

impl Snapshot {
    /// Whether a unit's meter has no reading: what the flag says.
    pub fn unit_meter_unread(unit: Option<&str>, value: Option<f64>) -> bool {
        unit.is_some() && value.is_none()
    }
}

/// Whether a point is a billing meter: an energy or water counter.
pub fn is_meter(unit: &str) -> bool {
    matches!(unit, "kWh" | "MWh" | "m3" | "m³")
}

/// The snapshots as CSV, one meter per row.
pub fn to_csv(rows: &[Snapshot]) -> String {
    let mut out =
        String::from("period,unit,device,point,value,measure,quality,read_at,taken_at,flag\n");
    for r in rows {
        let value = r.value.map(|v| v.to_string()).unwrap_or_default();
        let read_at = r.read_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        let flag = if r.no_reading { "no_reading" } else { "" };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{flag}\n",
            r.period,
            r.unit.as_deref().unwrap_or(""),
            r.device,
            r.point,
            value,
            r.measure,
            r.quality,
            read_at,
            r.taken_at.to_rfc3339()
        ));
    }
    out
}
