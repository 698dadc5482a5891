//! The meter register (远程抄表): each household meter behind a gateway, with the unit it
//! serves. The unit links it to the owner, the vacancy rule and the billing snapshot; the
//! gateway (declared once in the site config) says how it is reached.

use serde::{Deserialize, Serialize};

/// What a meter measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeterKind {
    /// Electricity (kWh).
    Electricity,
    /// Water (m³).
    Water,
    /// Gas (m³).
    Gas,
}

impl MeterKind {
    /// The stable name used in the API, the store and the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            MeterKind::Electricity => "electricity",
            MeterKind::Water => "water",
            MeterKind::Gas => "gas",
        }
    }

    /// The kind of a stable name.
    pub fn parse(s: &str) -> Option<MeterKind> {
        match s {
            "electricity" => Some(MeterKind::Electricity),
            "water" => Some(MeterKind::Water),
            "gas" => Some(MeterKind::Gas),
            _ => None,
        }
    }

    /// The engineering units its counter may read in.
    pub fn measures(self) -> &'static [&'static str] {
        match self {
            MeterKind::Electricity => &["kWh", "MWh"],
            MeterKind::Water | MeterKind::Gas => &["m3", "m³"],
        }
    }
}

/// One meter of the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Meter {
    /// Unique id (`[a-z0-9_]`), also its device id: its points are `{id}.{point}`.
    pub id: String,
    /// The unit (household) it serves, from the unit register.
    pub unit: String,
    /// What it measures.
    pub kind: MeterKind,
    /// Its register map (a device profile).
    pub profile: String,
    /// The gateway it is reached through (`[[gateways]]` in the site config).
    pub gateway: String,
    /// Its Modbus unit id on the gateway's line, 1 to 247.
    pub unit_id: u8,
    /// What its counters are multiplied by (a current transformer's ratio); 1 for a
    /// direct meter.
    pub multiplier: f64,
}
