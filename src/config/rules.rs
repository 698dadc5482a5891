//! Alarm rules for the configured devices: each profile point's `[[points.alarms]]`, unless
//! the site's `[[alarm_rules]]` replace them for that point; and the vacant-consumption
//! rule every meter of a device that serves a unit gets by itself (rules.md §14 Meters).

use std::collections::{BTreeMap, HashMap};

use sitewatch_core::alarms::{AlarmRule, RuleSpec, VacantSpec};

use super::profile::{AlarmDef, AlarmPoint};
use super::{Device, Problem, SiteAlarmRule};
use std::path::Path;

/// The rules, and the incident category of each rule that names one.
pub(super) fn build(
    devices: &[Device],
    site: &[SiteAlarmRule],
) -> (Vec<AlarmRule>, BTreeMap<String, String>) {
    let mut by_point: HashMap<&str, Vec<&AlarmDef>> = HashMap::new();
    for r in site {
        by_point.entry(r.point.as_str()).or_default().push(&r.def);
    }
    let mut rules = Vec::new();
    let mut categories = BTreeMap::new();
    for d in devices {
        for point in d.profile.alarm_points() {
            let id = d.point_id(point.name);
            let defs: Vec<&AlarmDef> = match by_point.get(id.as_str()) {
                Some(site_defs) => site_defs.clone(),
                None => point.alarms.iter().collect(),
            };
            for (i, def) in defs.into_iter().enumerate() {
                let rule_id = rule_id(&id, &def.spec, i);
                if let Some(c) = &def.category {
                    categories.insert(rule_id.clone(), c.clone());
                }
                let (message, message_zh) = messages(d, &point, def);
                rules.push(AlarmRule {
                    id: rule_id,
                    point: id.clone(),
                    device: d.config.id.clone(),
                    unit: d.config.unit.clone(),
                    spec: qualify(d, def.spec.clone()),
                    message,
                    message_zh,
                });
            }
        }
    }
    let own = vacant_rules(devices, &rules);
    rules.extend(own);
    (rules, categories)
}

/// A rule's message in English and zh-CN: the definition's own, else the device's name
/// with the point's description (English) or its zh name. A definition that words its
/// English message itself gets no zh one made up from the point: `check` warns instead.
fn messages(d: &Device, point: &AlarmPoint, def: &AlarmDef) -> (String, Option<String>) {
    let what = if point.description.is_empty() {
        point.name
    } else {
        point.description
    };
    let message = def
        .message
        .clone()
        .unwrap_or_else(|| format!("{}: {what}", d.config.name));
    let zh = def.message_zh.clone().or_else(|| {
        (def.message.is_none() && !point.zh_name.is_empty())
            .then(|| format!("{}：{}", d.config.name, point.zh_name))
    });
    (message, zh)
}

/// A warning for each rule that has an English message only: the desks' Chinese page
/// shows that English. Not a refusal: configs written before `message_zh` stay valid.
pub(super) fn without_zh(file: &Path, rules: &[AlarmRule]) -> Vec<Problem> {
    rules
        .iter()
        .filter(|r| r.message_zh.is_none())
        .map(|r| {
            let reason = format!(
                "alarm `{}` has no `message_zh`; the Chinese desk shows \"{}\"",
                r.id, r.message
            );
            Problem::file(file, reason)
        })
        .collect()
}

/// rules.md §14 Meters: any consumption in a vacant unit is an alarm. Every energy or
/// water counter of a device that names its `unit` gets the rule without a line of its own
/// (tolerance 0), unless a profile or the site already gave that point one. The rule is
/// quiet while the unit is occupied; the engine's vacancy command (the unit register's
/// vacant list) switches it on when the unit turns vacant and off when it is let again.
fn vacant_rules(devices: &[Device], written: &[AlarmRule]) -> Vec<AlarmRule> {
    let has_one = |point: &str| {
        written
            .iter()
            .any(|r| r.point == point && matches!(r.spec, RuleSpec::VacantConsumption(_)))
    };
    let mut rules = Vec::new();
    for d in devices {
        let Some(unit) = &d.config.unit else {
            continue;
        };
        let modbus = d.profile.points.iter().map(|p| (&p.name, &p.unit));
        let mqtt = d.profile.mqtt_points.iter().map(|p| (&p.name, &p.unit));
        for (name, _) in modbus.chain(mqtt).filter(|(_, m)| is_meter(m)) {
            let point = d.point_id(name);
            if has_one(&point) {
                continue;
            }
            rules.push(AlarmRule {
                id: format!("{point}:vacant_consumption"),
                spec: RuleSpec::VacantConsumption(VacantSpec {
                    unit: unit.clone(),
                    tolerance: 0.0,
                    priority: None,
                }),
                message: format!(
                    "{}: consumption in vacant unit {unit} (空置房用量)",
                    d.config.name
                ),
                message_zh: Some(format!("{}：空置房 {unit} 有用量", d.config.name)),
                point,
                device: d.config.id.clone(),
                unit: Some(unit.clone()),
            });
        }
    }
    rules
}

/// An energy or water counter: the points billed and watched in a vacant unit (the same
/// measures `billing::is_meter` reads at the cut-off).
pub(super) fn is_meter(measure: &str) -> bool {
    matches!(measure, "kWh" | "MWh" | "m3" | "m³")
}

/// `{point}:{kind}`, with the rule's index when a point has more than one.
fn rule_id(point: &str, spec: &RuleSpec, index: usize) -> String {
    let kind = serde_kind(spec);
    if index == 0 {
        format!("{point}:{kind}")
    } else {
        format!("{point}:{kind}{index}")
    }
}

fn serde_kind(spec: &RuleSpec) -> &'static str {
    match spec {
        RuleSpec::High(_) => "high",
        RuleSpec::Low(_) => "low",
        RuleSpec::HighHigh(_) => "high_high",
        RuleSpec::LowLow(_) => "low_low",
        RuleSpec::Discrete(_) => "discrete",
        RuleSpec::Counter(_) => "counter",
        RuleSpec::NightFlow(_) => "night_flow",
        RuleSpec::VacantConsumption(_) => "vacant_consumption",
        RuleSpec::Stale(_) => "stale",
        RuleSpec::PumpSwitchover(_) => "pump_switchover",
        RuleSpec::PumpFault(_) => "pump_fault",
        RuleSpec::CheckpointMissed(_) => "checkpoint_missed",
        RuleSpec::NobodyOnCall(_) => "nobody_on_call",
        RuleSpec::ComplianceOverdue(_) => "compliance_overdue",
        RuleSpec::ForwardBuffer => "forward_buffer",
    }
}

/// Profile rules name partner points by their short name; the engine wants full ids.
fn qualify(device: &Device, spec: RuleSpec) -> RuleSpec {
    let full = |p: String| {
        if p.contains('.') {
            p
        } else {
            device.point_id(&p)
        }
    };
    match spec {
        RuleSpec::PumpSwitchover(mut s) => {
            s.partner = full(s.partner);
            RuleSpec::PumpSwitchover(s)
        }
        RuleSpec::PumpFault(mut s) => {
            s.fault = s.fault.map(full);
            s.demand = s.demand.map(full);
            RuleSpec::PumpFault(s)
        }
        other => other,
    }
}
