//! Customer-service records around the pure core (issue 5): the unit register with owners
//! and tenants (业户档案) and occupancy, its CSV import, the vacancy feed into the
//! inspection book, the periodic deadline check on service requests (催办), notices with
//! their templates, and the service metrics.

pub mod duty;
pub mod import;
pub mod notices;
pub mod vacancy;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use import::{RowProblem, parse_units};

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

/// The example register of the demo estate, loaded by `demo` into an empty database.
pub const DEMO_UNITS_CSV: &str = include_str!("../../examples/demo/units.csv");

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Rows are invalid; each with its line and reason.
    #[error("{} invalid rows", .0.len())]
    Rows(Vec<RowProblem>),
    /// The database failed; the transaction was rolled back.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Checks a whole CSV file (UTF-8 text), then writes it in one transaction.
pub async fn import(
    store: &crate::store::Store,
    file: impl AsRef<[u8]>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<crate::store::ImportSummary, ImportError> {
    let text = import::text_of(file.as_ref()).map_err(|p| ImportError::Rows(vec![p]))?;
    let units = parse_units(text, now).map_err(ImportError::Rows)?;
    Ok(store.import_units(&units, actor, now).await?)
}

/// Loads the demo estate's register into an empty database (for `demo`).
pub async fn seed_demo(url: &str) -> anyhow::Result<()> {
    let store = crate::store::Store::connect(url).await?;
    if store.unit_count().await? == 0 {
        let summary = import(&store, DEMO_UNITS_CSV, "demo", Utc::now())
            .await
            .map_err(|e| anyhow::anyhow!("demo units: {e}"))?;
        tracing::info!(units = summary.created, "demo unit register loaded");
    }
    store.close().await;
    Ok(())
}
