//! Monthly meter snapshots for billing (抄表). On the cut-off day (rules.md §13.10: the
//! 20th, seed 004:85) every meter's reading is kept, with the building unit it serves and
//! its quality, and exported as CSV for Finance (the export is due 21st–23rd).

mod period;

pub use period::due_period;

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
}

/// Whether a point is a billing meter: an energy or water counter.
pub fn is_meter(unit: &str) -> bool {
    matches!(unit, "kWh" | "MWh" | "m3" | "m³")
}

/// The snapshots as CSV, one meter per row.
pub fn to_csv(rows: &[Snapshot]) -> String {
    let mut out = String::from("period,unit,device,point,value,measure,quality,read_at,taken_at\n");
    for r in rows {
        let value = r.value.map(|v| v.to_string()).unwrap_or_default();
        let read_at = r.read_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
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
