//! The estate's meters (issue 24), held once in a compact table instead of as plant
//! devices. The register (`meters` table) is read into a [`Register`]: per gateway, its
//! meters in register order (ids and units shared, the profile shared) and, beside them,
//! a flat array of what each meter's last read left (counter, time, misses, last error).
//! Each gateway's sweep task (`sweep`) writes a read straight into its gateway's array;
//! nothing goes through the points hub, the alarm rules or the engine per read.
//!
//! Who reads the table: the engine (the billing snapshot at the cut-off, and the reads of
//! meters in vacant units, fed to their vacant-consumption rule once per tick), the API
//! (`/api/v1/meters`, `/gateways`, `/points?device=`) and `/metrics` (each building's
//! consumption total). An import swaps the whole register ([`Estate::load`]): the sweeps
//! take the new one from their next sweep, the engine adds the new meters' rules at its
//! next tick.
//!
//! A meter's history is its billing snapshots (the monthly base, `meter_snapshots`) and
//! its building's consumption total in `/metrics`; its reads are not kept one by one.

pub mod sweep;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use sitewatch_core::alarms::{AlarmRule, RuleSpec, VacantSpec};
use sitewatch_core::points::Quality;

use crate::config::profile::Profile;
use crate::config::{Config, GatewayConfig, RegisterTargets};
use crate::metrics::{CounterSlot, Registry};
use crate::register::meters::{Meter, MeterKind};

/// The estate as the daemon reads it: the config's gateways and the current register.
#[derive(Debug)]
pub struct Estate {
    gateways: Vec<GatewayConfig>,
    profiles: BTreeMap<String, Arc<Profile>>,
    /// What a new register is checked against.
    targets: RegisterTargets,
    metrics: Registry,
    register: RwLock<Arc<Register>>,
}

/// One register, as read: fixed while it is current; only the state arrays change.
#[derive(Debug, Default)]
pub struct Register {
    /// Bumped by every load.
    pub version: u64,
    /// One per `[[gateways]]` entry, in config order.
    pub gateways: Vec<GatewayMeters>,
    /// Where each meter is: (gateway, index).
    by_id: HashMap<Arc<str>, (usize, usize)>,
}

/// A gateway's meters and their state.
#[derive(Debug, Default)]
pub struct GatewayMeters {
    /// The meters, in register order.
    pub meters: Vec<MeterRow>,
    /// What each meter's last read left, by the same index.
    state: Mutex<Vec<MeterState>>,
}

/// What the register says of one meter, with what reading it needs.
#[derive(Debug)]
pub struct MeterRow {
    /// Meter id (its points are `{id}.{point}`, as a device's).
    pub id: Arc<str>,
    /// The unit it serves.
    pub unit: Arc<str>,
    /// The unit's building, when the unit register names one.
    pub building: Option<Arc<str>>,
    /// What it measures.
    pub kind: MeterKind,
    /// Its register map.
    pub profile: Arc<Profile>,
    /// Its unit id on the gateway's line.
    pub unit_id: u8,
    /// What its counter is multiplied by.
    pub multiplier: f64,
    /// Its counter: the index of the profile's first kWh or m³ point.
    pub counter: usize,
    /// The profile's block that holds the counter: the one request a read makes.
    block: usize,
    /// Its building's consumption total in `/metrics`.
    total: Option<Arc<CounterSlot>>,
}

impl MeterRow {
    /// The counter's point id, `{meter}.{point}`.
    pub fn point(&self) -> String {
        format!("{}.{}", self.id, self.profile.points[self.counter].name)
    }

    /// The counter's unit (`kWh`, `m3`).
    pub fn measure(&self) -> &str {
        &self.profile.points[self.counter].unit
    }

    /// The meter's display name.
    pub fn name(&self) -> String {
        format!("{} meter, unit {}", self.kind.as_str(), self.unit)
    }
}

/// What a meter's reads left.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeterState {
    /// The counter, times the multiplier, as last read.
    pub value: Option<f64>,
    /// When it was last read (the daemon's clock).
    pub read_at: Option<DateTime<Utc>>,
    /// Reads missed in a row.
    pub misses: u32,
    /// Missed `comm_loss_after` reads in a row and not answered since.
    pub down: bool,
    /// Why its last failed read failed.
    pub last_error: Option<Arc<str>>,
    /// Reads answered since start (the engine sees a new read by it).
    pub reads: u64,
    /// Its unit is vacant: the engine feeds its reads to its vacant-consumption rule.
    pub watched: bool,
    /// A watched meter's first read the engine has not yet fed to the rule.
    pub unfed: Option<f64>,
}

impl MeterState {
    /// Not answering its last read.
    pub fn silent(&self) -> bool {
        self.misses > 0
    }

    /// The counter's quality as the hub would put it: stale before the first read,
    /// comm-lost once the meter is down, good otherwise.
    pub fn quality(&self) -> Quality {
        match (self.down, self.value) {
            (true, _) => Quality::CommLost,
            (false, None) => Quality::Stale,
            (false, Some(_)) => Quality::Good,
        }
    }
}

impl GatewayMeters {
    /// The state array, locked: held only to copy or write a few fields, never across I/O.
    pub fn state(&self) -> MutexGuard<'_, Vec<MeterState>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Register {
    /// Where meter `id` is: (gateway, index).
    pub fn find(&self, id: &str) -> Option<(usize, usize)> {
        self.by_id.get(id).copied()
    }

    /// Meter `id` and a copy of its state.
    pub fn meter(&self, id: &str) -> Option<(&MeterRow, MeterState)> {
        let (g, i) = self.find(id)?;
        let gw = &self.gateways[g];
        let state = gw.state().get(i).cloned().unwrap_or_default();
        Some((&gw.meters[i], state))
    }

    /// Every meter with a copy of its state, gateway by gateway in register order.
    pub fn all(&self) -> Vec<(usize, &MeterRow, MeterState)> {
        let mut out = Vec::with_capacity(self.by_id.len());
        for (g, gw) in self.gateways.iter().enumerate() {
            let state = gw.state().clone();
            out.extend((gw.meters.iter().zip(state)).map(|(m, s)| (g, m, s)));
        }
        out
    }

    /// How many meters it holds.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl Estate {
    /// The estate of `config`'s gateways, with no meters until [`Estate::load`].
    pub fn new(config: &Config, metrics: Registry) -> Estate {
        let register = Register {
            gateways: config
                .gateways
                .iter()
                .map(|_| GatewayMeters::default())
                .collect(),
            ..Register::default()
        };
        Estate {
            gateways: config.gateways.clone(),
            profiles: config.profiles.clone(),
            targets: config.register_targets(),
            metrics,
            register: RwLock::new(Arc::new(register)),
        }
    }

    /// `[[gateways]]`.
    pub fn gateways(&self) -> &[GatewayConfig] {
        &self.gateways
    }

    /// What a new register is checked against.
    pub fn targets(&self) -> &RegisterTargets {
        &self.targets
    }

    /// The current register.
    pub fn register(&self) -> Arc<Register> {
        self.register
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes `meters` the register (their units' buildings from `buildings`), keeping
    /// what the reads left of every meter still in it. A meter whose gateway or profile
    /// left the config since it was imported is left out: the reasons.
    pub fn load(&self, meters: &[Meter], buildings: &HashMap<String, String>) -> Vec<String> {
        let old = self.register();
        let mut left_out = Vec::new();
        let mut names: HashSet<Arc<str>> = HashSet::new();
        let mut share = |s: &str| -> Arc<str> {
            if let Some(shared) = names.get(s) {
                return shared.clone();
            }
            let shared: Arc<str> = s.into();
            names.insert(shared.clone());
            shared
        };
        let totals = self.metrics.estate();
        totals.clear_counters();
        let mut rows: Vec<Vec<MeterRow>> = self.gateways.iter().map(|_| Vec::new()).collect();
        let mut states: Vec<Vec<MeterState>> = rows.iter().map(|_| Vec::new()).collect();
        for m in meters {
            let Some(g) = self.gateways.iter().position(|g| g.id == m.gateway) else {
                left_out.push(format!("meter `{}`: unknown gateway `{}`", m.id, m.gateway));
                continue;
            };
            let Some(profile) = self.profiles.get(&m.profile) else {
                left_out.push(format!("meter `{}`: unknown profile `{}`", m.id, m.profile));
                continue;
            };
            let counter = profile
                .points
                .iter()
                .position(|p| crate::billing::is_meter(&p.unit));
            let block =
                counter.and_then(|c| profile.blocks.iter().position(|b| b.points.contains(&c)));
            let (Some(counter), Some(block)) = (counter, block) else {
                left_out.push(format!(
                    "meter `{}`: profile `{}` has no counter",
                    m.id, m.profile
                ));
                continue;
            };
            if self.targets.devices.contains(&m.id) {
                left_out.push(format!(
                    "meter `{}`: a `[[devices]]` entry has its id",
                    m.id
                ));
                continue;
            }
            let building = buildings.get(&m.unit).map(|b| share(b));
            let total = building
                .as_deref()
                .map(|b| totals.counter(b, &profile.points[counter].unit));
            let state = old.meter(&m.id).map(|(_, s)| s).unwrap_or_default();
            if let (Some(slot), Some(v)) = (&total, state.value) {
                slot.set(v);
            }
            rows[g].push(MeterRow {
                id: m.id.as_str().into(),
                unit: share(&m.unit),
                building,
                kind: m.kind,
                profile: profile.clone(),
                unit_id: m.unit_id,
                multiplier: m.multiplier,
                counter,
                block,
                total,
            });
            states[g].push(state);
        }
        let mut by_id = HashMap::new();
        let gateways = (rows.into_iter().zip(states).enumerate())
            .map(|(g, (mut meters, state))| {
                meters.shrink_to_fit();
                for (i, m) in meters.iter().enumerate() {
                    by_id.insert(m.id.clone(), (g, i));
                }
                GatewayMeters {
                    meters,
                    state: Mutex::new(state),
                }
            })
            .collect();
        let version = old.version + 1;
        let register = Arc::new(Register {
            version,
            gateways,
            by_id,
        });
        *self
            .register
            .write()
            .unwrap_or_else(PoisonError::into_inner) = register;
        left_out
    }

    /// The profile of meter `id`, if it is one.
    pub fn profile_of(&self, id: &str) -> Option<Arc<Profile>> {
        let register = self.register();
        let (g, i) = register.find(id)?;
        Some(register.gateways[g].meters[i].profile.clone())
    }

    /// Whether `id` is a meter of the register.
    pub fn is_meter(&self, id: &str) -> bool {
        self.register().find(id).is_some()
    }
}

/// rules.md §14 Meters: a register meter's vacant-consumption rule, as a plant device
/// that serves a unit gets one (`config::rules`): quiet while the unit is occupied.
pub fn vacant_rule(m: &MeterRow) -> AlarmRule {
    let point = m.point();
    let (name, unit) = (m.name(), m.unit.to_string());
    AlarmRule {
        id: format!("{point}:vacant_consumption"),
        spec: RuleSpec::VacantConsumption(VacantSpec {
            unit: unit.clone(),
            tolerance: 0.0,
            priority: None,
        }),
        message: format!("{name}: consumption in vacant unit {unit} (空置房用量)"),
        message_zh: Some(format!("{name}：空置房 {unit} 有用量")),
        point,
        device: m.id.to_string(),
        unit: Some(unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let text = "[site]\nid = \"x\"\nname = \"X\"\n\n[[gateways]]\nid = \"gw_1\"\naddress = \"10.0.0.9:502\"\n";
        Config::parse(std::path::Path::new("site.toml"), text, None).expect("valid")
    }

    fn meter(id: &str, gateway: &str, multiplier: f64) -> Meter {
        Meter {
            id: id.into(),
            unit: "1-0101".into(),
            kind: MeterKind::Electricity,
            profile: "household_electricity".into(),
            gateway: gateway.into(),
            unit_id: 7,
            multiplier,
        }
    }

    #[test]
    fn a_register_is_read_into_the_table_and_a_meter_of_a_gone_gateway_left_out() {
        let estate = Estate::new(&config(), Registry::new());
        let buildings = HashMap::from([("1-0101".to_owned(), "1".to_owned())]);
        let left = estate.load(
            &[meter("e_1", "gw_1", 40.0), meter("e_2", "gw_9", 1.0)],
            &buildings,
        );
        assert_eq!(left, ["meter `e_2`: unknown gateway `gw_9`"]);
        let register = estate.register();
        let (m, state) = register.meter("e_1").expect("in the table");
        assert_eq!((m.unit_id, m.multiplier), (7, 40.0));
        assert_eq!(m.point(), "e_1.import_energy");
        assert_eq!(m.building.as_deref(), Some("1"));
        assert_eq!(state.quality(), Quality::Stale, "not read yet");
        let rule = vacant_rule(m);
        assert_eq!(rule.id, "e_1.import_energy:vacant_consumption");
        assert!(
            rule.message.contains("vacant unit 1-0101"),
            "{}",
            rule.message
        );
    }

    #[test]
    fn a_new_register_keeps_what_the_reads_left_of_the_meters_still_in_it() {
        let estate = Estate::new(&config(), Registry::new());
        estate.load(&[meter("e_1", "gw_1", 1.0)], &HashMap::new());
        let first = estate.register();
        first.gateways[0].state()[0].value = Some(12.5);
        let mut moved = meter("e_2", "gw_1", 1.0);
        moved.unit_id = 8;
        estate.load(&[meter("e_1", "gw_1", 1.0), moved], &HashMap::new());
        let now = estate.register();
        assert!(now.version > first.version);
        assert_eq!(now.meter("e_1").map(|(_, s)| s.value), Some(Some(12.5)));
        assert_eq!(now.meter("e_2").map(|(_, s)| s.value), Some(None));
        estate.load(&[meter("e_2", "gw_1", 1.0)], &HashMap::new());
        assert!(estate.register().meter("e_1").is_none(), "removed");
    }
}
