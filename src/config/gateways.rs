//! `[[gateways]]`: the meter concentrators (集中器) of an estate, each declared once with
//! how it is reached and how often its meters are read. The meters behind them come from
//! the meter register (`sitewatch import meters`, `POST /api/v1/meters/import`), not from
//! a `[[devices]]` block each.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::modbus::{ModbusConfig, SerialConfig, Transport};
use super::{Device, Problem, Problems};

/// One gateway: a connection (Modbus TCP, RTU over TCP, or RTU on a serial port) shared
/// by every meter behind it, swept one meter at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Unique id (`[a-z0-9_]`), named by the register's `gateway` column.
    pub id: String,
    /// Display name (where it is: `3栋弱电井`).
    #[serde(default)]
    pub name: String,
    /// `tcp` (default), `rtu` or `rtu_over_tcp`.
    #[serde(default)]
    pub transport: Transport,
    /// `host:port` (for `tcp` and `rtu_over_tcp`).
    #[serde(default)]
    pub address: String,
    /// The serial line (for `rtu`).
    pub serial: Option<SerialConfig>,
    /// How often every meter is read: one sweep per cadence (15 minutes by default).
    #[serde(default = "default_cadence", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How long one meter may take to answer before it is skipped for this sweep.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Sweeps a meter may miss in a row before it is marked silent (comm lost).
    #[serde(default = "default_misses")]
    pub comm_loss_after: u32,
}

fn default_cadence() -> Duration {
    Duration::from_secs(15 * 60)
}
fn default_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_misses() -> u32 {
    2
}

impl GatewayConfig {
    /// The connection settings of the meter at `unit_id` behind this gateway.
    pub fn modbus(&self, unit_id: u8) -> ModbusConfig {
        ModbusConfig {
            transport: self.transport,
            address: self.address.clone(),
            serial: self.serial.clone(),
            unit_id,
            poll_interval: self.poll_interval,
            timeout: self.timeout,
            comm_loss_after: self.comm_loss_after,
        }
    }

    /// The connection key its bus runs under (`tcp://…`).
    pub fn bus_key(&self) -> String {
        self.modbus(1).bus_key()
    }
}

/// Checks the gateways on their own and against the plant's devices: ids unique and
/// well formed, connection settings whole, no gateway sharing a plant device's line.
pub(super) fn check(
    file: &Path,
    text: &str,
    raw: Vec<Spanned<GatewayConfig>>,
    devices: &[Device],
    problems: &mut Problems,
) -> Vec<GatewayConfig> {
    let plant: HashSet<String> = devices
        .iter()
        .filter_map(|d| d.config.modbus.as_ref().map(ModbusConfig::bus_key))
        .collect();
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    let mut out = Vec::new();
    for spanned in raw {
        let at = |reason: String| Problem::at(file, text, spanned.span().start, reason);
        let g = spanned.get_ref().clone();
        if g.id.is_empty() || !g.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            problems.push(at(format!(
                "gateway id `{}`: use letters, digits, `_`",
                g.id
            )));
        }
        if !ids.insert(g.id.clone()) {
            problems.push(at(format!("duplicate gateway id `{}`", g.id)));
            continue;
        }
        let reasons = g.modbus(1).problems();
        for reason in &reasons {
            problems.push(at(format!("gateway `{}`: {reason}", g.id)));
        }
        let key = g.bus_key();
        if reasons.is_empty() && plant.contains(&key) {
            problems.push(at(format!(
                "gateway `{}`: {key} is already a plant device's connection; declare its meters in the register or its devices as `[[devices]]`, not both",
                g.id
            )));
        } else if reasons.is_empty() && !keys.insert(key.clone()) {
            problems.push(at(format!(
                "gateway `{}`: {key} is already another gateway",
                g.id
            )));
        }
        out.push(g);
    }
    out
}
