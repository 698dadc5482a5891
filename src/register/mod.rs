//! The unit register's records and what is sent to its people (业户档案, notices,
//! messages): plain types and the pure message plan. The store persists them, `customers`
//! imports and feeds them, `notify` sends them; none of those is imported from here, so
//! the arrows run one way (docs/architecture.md, "Module arrows").

pub mod messages;
pub mod meters;
pub mod notices;
pub mod plan;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether anyone lives in a unit (rules.md §13.10, §13.22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Occupancy {
    /// Lived in or let.
    Occupied,
    /// Empty: on the inspection schedule (空置房).
    Vacant,
    /// Being fitted out (装修).
    UnderRenovation,
}

impl Occupancy {
    /// The stable name used in the API, the store and the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Occupancy::Occupied => "occupied",
            Occupancy::Vacant => "vacant",
            Occupancy::UnderRenovation => "under_renovation",
        }
    }

    /// Parses the stable name or the usual spreadsheet wording (English or zh-CN).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_lowercase().as_str() {
            "occupied" | "已入住" | "入住" | "自住" | "出租" => Some(Occupancy::Occupied),
            "vacant" | "空置" => Some(Occupancy::Vacant),
            "under_renovation" | "renovation" | "装修" | "装修中" => {
                Some(Occupancy::UnderRenovation)
            }
            _ => None,
        }
    }
}

/// How an owner or tenant prefers to be reached (rules.md §8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    /// A call.
    Phone,
    /// A text message (手机短信).
    Sms,
    /// A printed notice delivered with a signature.
    Paper,
    /// Email.
    Email,
    /// WeChat.
    Wechat,
}

impl ContactChannel {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactChannel::Phone => "phone",
            ContactChannel::Sms => "sms",
            ContactChannel::Paper => "paper",
            ContactChannel::Email => "email",
            ContactChannel::Wechat => "wechat",
        }
    }

    /// Parses the stable name or its zh-CN wording.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_lowercase().as_str() {
            "phone" | "电话" => Some(ContactChannel::Phone),
            "sms" | "短信" => Some(ContactChannel::Sms),
            "paper" | "书面" | "纸质" => Some(ContactChannel::Paper),
            "email" | "邮件" => Some(ContactChannel::Email),
            "wechat" | "微信" => Some(ContactChannel::Wechat),
            _ => None,
        }
    }
}

/// An owner's or a tenant's place on a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 业主.
    Owner,
    /// 租户.
    Tenant,
}

impl Role {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Tenant => "tenant",
        }
    }
}

/// An owner or tenant of a unit with how to reach them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    /// Owner or tenant.
    pub role: Role,
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Preferred channel.
    pub preferred_channel: ContactChannel,
}

/// A unit of the register with its people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unit {
    /// `<building>-<unit>`, e.g. `1-0302`.
    pub id: String,
    /// Building code.
    pub building: String,
    /// Floor label.
    pub floor: String,
    /// Unit label within the building.
    pub label: String,
    /// Floor area, m².
    pub area_m2: Option<f64>,
    /// Occupancy now.
    pub occupancy: Occupancy,
    /// Since when.
    pub occupancy_since: DateTime<Utc>,
    /// Owner and tenant.
    pub contacts: Vec<Contact>,
    /// The unit's own customer-service person (贴心管家, seed 003:751), a staff name:
    /// requests from the unit go to them unless the desk names someone else.
    #[serde(default)]
    pub cs_person: Option<String>,
}

impl Unit {
    /// The register id of `label` in `building`.
    pub fn id_of(building: &str, label: &str) -> String {
        format!("{building}-{label}")
    }
}

/// Meter base readings taken at a move-in or move-out (rules.md §13.10, 000:113, 003:575).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeterBase {
    /// Water meter, m³.
    pub water: Option<f64>,
    /// Power meter, kWh.
    pub power: Option<f64>,
}

/// One change of a unit's occupancy, with the base readings taken then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OccupancyChange {
    /// The unit.
    pub unit: String,
    /// The new occupancy.
    pub occupancy: Occupancy,
    /// When.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub actor: String,
    /// Meter bases (move-in or move-out readings).
    pub meters: MeterBase,
}
