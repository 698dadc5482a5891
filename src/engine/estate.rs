//! The estate's meters as the engine sees them (issue 24): not one event per read, but
//! the meter table read where a decision needs it. Every register meter has its
//! vacant-consumption rule in the alarm engine (added when its register is loaded, with
//! no comm-loss alarm of its own); once per tick the meters of vacant units that were
//! read since the last tick are fed to their rule. The billing snapshot reads the table
//! at the cut-off (`due.rs`).

use std::collections::BTreeSet;
use std::sync::Arc;

use sitewatch_core::alarms::AlarmEngine;
use sitewatch_core::points::PointId;

use crate::estate::{Estate, Register, vacant_rule};

/// The engine's view of the estate.
#[derive(Debug, Default)]
pub struct EstateBook {
    estate: Option<Arc<Estate>>,
    /// The register version whose meters have their rules.
    version: u64,
    /// The unit register's vacant units, as last set.
    vacant: BTreeSet<String>,
    /// The meters of vacant units, and the read each was last fed at.
    watched: Vec<Watched>,
}

#[derive(Debug)]
struct Watched {
    gateway: usize,
    meter: usize,
    point: PointId,
    reads: u64,
}

impl EstateBook {
    /// The engine's view of `estate`.
    pub fn new(estate: Arc<Estate>) -> EstateBook {
        EstateBook {
            estate: Some(estate),
            ..EstateBook::default()
        }
    }

    /// The estate, when the site has one.
    pub fn estate(&self) -> Option<&Estate> {
        self.estate.as_deref()
    }

    /// After an import: the new meters' rules go into `alarms` (rules of meters gone stay,
    /// fed no more), and the vacant units' meters are watched in the new register.
    pub fn sync(&mut self, alarms: &mut AlarmEngine) {
        let Some(estate) = &self.estate else {
            return;
        };
        let register = estate.register();
        if register.version == self.version {
            return;
        }
        let mut added = 0;
        for m in register.gateways.iter().flat_map(|g| &g.meters) {
            match alarms.add_rule_quietly(vacant_rule(m)) {
                Ok(new) => added += usize::from(new),
                Err(e) => tracing::warn!(meter = %m.id, error = %e, "meter rule refused"),
            }
        }
        tracing::info!(
            meters = register.len(),
            rules_added = added,
            "meter register in the engine"
        );
        self.version = register.version;
        self.watch(&register);
    }

    /// The unit register's vacant units changed.
    pub fn set_vacant(&mut self, units: BTreeSet<String>) {
        self.vacant = units;
        if let Some(estate) = &self.estate {
            let register = estate.register();
            self.watch(&register);
        }
    }

    /// The latest counter of each meter of `unit`: what its rule's baseline starts from
    /// when the unit turns vacant.
    pub fn latest_of(&self, unit: &str) -> Vec<(PointId, f64)> {
        let Some(estate) = &self.estate else {
            return Vec::new();
        };
        let register = estate.register();
        let mut out = Vec::new();
        for gw in &register.gateways {
            let state = gw.state();
            for (m, s) in gw.meters.iter().zip(state.iter()) {
                if &*m.unit == unit
                    && let Some(v) = s.value
                {
                    out.push((m.point().into(), v));
                }
            }
        }
        out
    }

    /// Reads of vacant units' meters since the last call, as (point, counter).
    pub fn new_reads(&mut self) -> Vec<(PointId, f64)> {
        let Some(estate) = &self.estate else {
            return Vec::new();
        };
        if self.watched.is_empty() {
            return Vec::new();
        }
        let register = estate.register();
        if register.version != self.version {
            return Vec::new();
        }
        let mut out = Vec::new();
        for w in &mut self.watched {
            let Some(gw) = register.gateways.get(w.gateway) else {
                continue;
            };
            let mut state = gw.state();
            let Some(s) = state.get_mut(w.meter) else {
                continue;
            };
            if s.reads != w.reads {
                w.reads = s.reads;
                // The first read since the last tick, then the latest: the rule's
                // baseline is the first reading, and a counter that moved past it in
                // between is past it at the latest too.
                out.extend(s.unfed.take().map(|v| (w.point.clone(), v)));
                out.extend(s.value.map(|v| (w.point.clone(), v)));
            }
        }
        out
    }

    /// Marks the meters of vacant units watched in the table (their sweep keeps the
    /// first read the engine has not seen) and the rest not.
    fn watch(&mut self, register: &Register) {
        self.watched.clear();
        for (g, gw) in register.gateways.iter().enumerate() {
            let mut state = gw.state();
            for (i, (m, s)) in gw.meters.iter().zip(state.iter_mut()).enumerate() {
                s.watched = self.vacant.contains(&*m.unit);
                s.unfed = None;
                if s.watched {
                    self.watched.push(Watched {
                        gateway: g,
                        meter: i,
                        point: m.point().into(),
                        reads: s.reads,
                    });
                }
            }
        }
    }
}
