//! The incident catalogue: which categories exist, which department answers for each, and
//! which SLA clocks each starts. Defaults follow the park manual (seed 004) and, where the
//! manuals are silent, the product defaults in rules.md §14. A site edits or adds entries.

use serde::{Deserialize, Serialize};

use super::sla::{self, SlaRule};

/// Keys of the built-in categories.
pub mod builtin {
    /// 水浸, water ingress or flooding.
    pub const WATER_INGRESS: &str = "water_ingress";
    /// 玻璃自爆, spontaneous glass breakage.
    pub const GLASS_BREAKAGE: &str = "glass_breakage";
    /// 火灾, fire.
    pub const FIRE: &str = "fire";
    /// 机器设备损坏, machine or equipment damage.
    pub const EQUIPMENT_DAMAGE: &str = "equipment_damage";
    /// 客户财产, loss of or damage to a customer's property.
    pub const CUSTOMER_PROPERTY: &str = "customer_property";
    /// 盗窃/抢劫, theft or robbery: Security and the police.
    pub const THEFT_ROBBERY: &str = "theft_robbery";
    /// 财务人员现金盗抢, cash stolen from or robbed off finance staff: Finance.
    pub const FINANCE_CASH_THEFT: &str = "finance_cash_theft";
    /// 车场设施、车辆损坏, car-park facility or vehicle damage.
    pub const VEHICLE_DAMAGE: &str = "vehicle_damage";
    /// 公共财产、第三者责任, public property or third-party liability.
    pub const THIRD_PARTY: &str = "third_party";
    /// 停电, power cut.
    pub const POWER_CUT: &str = "power_cut";
    /// 电梯困人, people trapped in a lift.
    pub const LIFT_ENTRAPMENT: &str = "lift_entrapment";
    /// 燃气, gas leak.
    pub const GAS: &str = "gas";
    /// 故障, a routine fault found by an inspection, a patrol or a plant alarm: a work
    /// order to Engineering, not an insured accident.
    pub const FAULT: &str = "fault";
    /// 报修, a repair.
    pub const REPAIR: &str = "repair";
    /// 投诉, a complaint.
    pub const COMPLAINT: &str = "complaint";
    /// A finding from a guard patrol.
    pub const PATROL_FINDING: &str = "patrol_finding";
    /// A finding from an inspection (vacant unit, plant).
    pub const INSPECTION_FINDING: &str = "inspection_finding";
    /// Anything else, e.g. a plant alarm whose hint names no category.
    pub const OTHER: &str = "other";
}

/// A department that answers for a category (rules.md §1.1).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    /// 客户服务部: the window department, lead for claims.
    CustomerService,
    /// 工程部: plant and equipment.
    Engineering,
    /// 保安部: security, car park.
    Security,
    /// 财务部: finance.
    Finance,
}

/// One category in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySpec {
    /// Stable key, e.g. `water_ingress`; the `category` metric label.
    pub key: String,
    /// Display name (zh-CN by default).
    pub name: String,
    /// The department that answers for it and reports it to the insurer.
    pub department: Department,
    /// An insured accident: the claim workflow and its evidence guards apply (§2.5).
    #[serde(default)]
    pub accident: bool,
    /// Clocks started for an incident of this category.
    #[serde(default)]
    pub clocks: Vec<SlaRule>,
}

impl CategorySpec {
    fn new(key: &str, name: &str, department: Department, clocks: Vec<SlaRule>) -> Self {
        Self {
            key: key.to_owned(),
            name: name.to_owned(),
            department,
            accident: false,
            clocks,
        }
    }

    fn accident(key: &str, name: &str, department: Department, theft: bool) -> Self {
        Self {
            accident: true,
            ..Self::new(key, name, department, sla::accident_rules(theft))
        }
    }
}

/// The catalogue a site runs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CategoryConfig {
    /// The built-in catalogue; replacing it replaces every default.
    pub categories: Vec<CategorySpec>,
    /// Categories the site adds; an entry with a built-in key overrides that entry.
    pub extra: Vec<CategorySpec>,
}

impl Default for CategoryConfig {
    fn default() -> Self {
        Self {
            categories: default_categories(),
            extra: Vec::new(),
        }
    }
}

impl CategoryConfig {
    /// The category with `key`, the site's own entry first.
    pub fn get(&self, key: &str) -> Option<&CategorySpec> {
        self.extra
            .iter()
            .chain(self.categories.iter())
            .find(|c| c.key == key)
    }
}

/// The manuals' catalogue plus the categories the daemon itself needs.
fn default_categories() -> Vec<CategorySpec> {
    use Department::{CustomerService, Engineering, Finance, Security};
    use builtin as k;
    vec![
        // rules.md §13.1, seed 004:171: the accidents the claim flow names; CS leads (004:105).
        CategorySpec::accident(k::WATER_INGRESS, "水浸", CustomerService, false),
        CategorySpec::accident(k::GLASS_BREAKAGE, "玻璃自爆", CustomerService, false),
        // rules.md §14 "Fire alarm": treated as an accident, on site in 3 min (004:157).
        CategorySpec::accident(k::FIRE, "火灾", CustomerService, false),
        // rules.md §1.1, seed 004:109: Engineering reports machine and equipment damage.
        CategorySpec::accident(k::EQUIPMENT_DAMAGE, "机器设备损坏", Engineering, false),
        CategorySpec::accident(k::CUSTOMER_PROPERTY, "客户财产", CustomerService, false),
        // rules.md §13.1, §13.5: theft and robbery go to Security, police in 24 h (004:123);
        // seed 004:117 gives Finance only the cash theft of finance staff, below.
        CategorySpec::accident(k::THEFT_ROBBERY, "盗窃/抢劫", Security, true),
        // rules.md §1.1, seed 004:117: "财务部:负责财务人员现金盗抢的报案"; police too.
        CategorySpec::accident(k::FINANCE_CASH_THEFT, "财务人员现金盗抢", Finance, true),
        // rules.md §1.1, seed 004:113: Security reports car-park and vehicle damage.
        CategorySpec::accident(k::VEHICLE_DAMAGE, "车场设施、车辆损坏", Security, false),
        // rules.md §1.1, seed 004:105: CS reports public property and third-party cases.
        CategorySpec::accident(
            k::THIRD_PARTY,
            "公共财产、第三者责任",
            CustomerService,
            false,
        ),
        // rules.md §13.1: no manual SLA; §14 Repairs lists power loss and a stopped lift
        // as emergency repairs, so they take the emergency-repair clocks.
        CategorySpec::new(
            k::POWER_CUT,
            "停电",
            Engineering,
            sla::emergency_repair_rules(),
        ),
        CategorySpec::new(
            k::LIFT_ENTRAPMENT,
            "电梯困人",
            Engineering,
            sla::emergency_repair_rules(),
        ),
        // rules.md §2.2: gas leak response is not in the seeds nor in §14; no clocks.
        CategorySpec::new(k::GAS, "燃气泄漏", Engineering, Vec::new()),
        // Issue 22 item 2: routine faults are work orders with the ordinary-repair deadlines
        // of rules.md §14, kept apart from the accidents of §13.1.
        CategorySpec::new(
            k::FAULT,
            "故障工单",
            Engineering,
            sla::ordinary_repair_rules(),
        ),
        // rules.md §14 Repairs (ordinary repair); seed 001:851 for the workflow.
        CategorySpec::new(k::REPAIR, "报修", Engineering, sla::ordinary_repair_rules()),
        // rules.md §14 Complaints; CS handles complaints (004:31). Desk hours are the
        // service desk's (a complaint request); an incident's clocks run round the clock.
        CategorySpec::new(
            k::COMPLAINT,
            "投诉",
            CustomerService,
            sla::complaint_rules()
                .into_iter()
                .map(SlaRule::round_the_clock)
                .collect(),
        ),
        // rules.md §13.21: findings go to the CS officer (000:223); no deadline in seeds.
        CategorySpec::new(k::PATROL_FINDING, "巡查发现", CustomerService, Vec::new()),
        CategorySpec::new(
            k::INSPECTION_FINDING,
            "检查发现",
            CustomerService,
            Vec::new(),
        ),
        // Product choice: unmapped plant alarms go to Engineering (003:193), no clocks.
        CategorySpec::new(k::OTHER, "其他", Engineering, Vec::new()),
    ]
}
