//! `modbus = { … }` of a device: which transport reaches it (Modbus TCP, RTU on a serial
//! line, RTU framed over TCP through a serial gateway), its unit id and its timing.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

/// How Modbus frames travel to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// Modbus TCP (MBAP header with transaction ids) to `address`.
    #[default]
    Tcp,
    /// Modbus RTU on the serial line described by `serial`.
    Rtu,
    /// Modbus RTU frames over a TCP connection to a serial gateway at `address`.
    RtuOverTcp,
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    /// No parity bit (the usual 8N1).
    #[default]
    None,
    /// Even parity (the Modbus RTU default, 8E1).
    Even,
    /// Odd parity.
    Odd,
}

/// `serial = { … }`: the serial line of an RTU device.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialConfig {
    /// Device path of the port (`/dev/ttyUSB0`, `/dev/serial/by-id/…`).
    pub path: String,
    /// Line speed in bits per second.
    #[serde(default = "default_baud")]
    pub baud_rate: u32,
    /// Parity bit.
    #[serde(default)]
    pub parity: Parity,
    /// Data bits per character (5 to 8; Modbus RTU uses 8).
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// Stop bits (1 or 2).
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
}

/// How to reach a Modbus device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusConfig {
    /// `tcp` (default), `rtu` or `rtu_over_tcp`.
    #[serde(default)]
    pub transport: Transport,
    /// `host:port` of the device or gateway (for `tcp` and `rtu_over_tcp`).
    #[serde(default)]
    pub address: String,
    /// The serial line (for `rtu`).
    pub serial: Option<SerialConfig>,
    /// Unit (slave) id.
    #[serde(default = "default_unit")]
    pub unit_id: u8,
    /// Time between polls.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Time to wait for one answer.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Failed polls in a row after which the device is comm-lost.
    #[serde(default = "default_misses")]
    pub comm_loss_after: u32,
}

fn default_baud() -> u32 {
    9600
}
fn default_data_bits() -> u8 {
    8
}
fn default_stop_bits() -> u8 {
    1
}
fn default_unit() -> u8 {
    1
}
fn default_interval() -> Duration {
    Duration::from_secs(5)
}
fn default_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_misses() -> u32 {
    3
}

impl ModbusConfig {
    /// What is wrong with this device's connection settings on its own.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.poll_interval.is_zero() || self.timeout.is_zero() {
            out.push("zero poll_interval or timeout".to_owned());
        }
        match (self.transport, &self.serial) {
            (Transport::Rtu, None) => out.push("transport `rtu` needs `serial`".into()),
            (Transport::Rtu, Some(s)) => out.extend(s.problems()),
            (_, Some(_)) => out.push("`serial` is only for transport `rtu`".into()),
            (_, None) if self.address.is_empty() => out.push("`address` is required".into()),
            (_, None) => {}
        }
        out
    }

    /// The connection this device is reached through; devices with the same key share
    /// one bus and are polled one request at a time.
    pub fn bus_key(&self) -> String {
        match (self.transport, &self.serial) {
            (Transport::Rtu, Some(s)) => format!("rtu://{}", s.path),
            (Transport::RtuOverTcp, _) => format!("rtu+tcp://{}", self.address),
            _ => format!("tcp://{}", self.address),
        }
    }

    /// Where the device is, for people: the address or the serial path.
    pub fn endpoint(&self) -> String {
        match &self.serial {
            Some(s) if self.transport == Transport::Rtu => s.path.clone(),
            _ => self.address.clone(),
        }
    }
}

impl SerialConfig {
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.path.is_empty() {
            out.push("`serial.path` is empty".to_owned());
        }
        if self.baud_rate == 0 {
            out.push("`serial.baud_rate` must be above 0".to_owned());
        }
        if !(5..=8).contains(&self.data_bits) {
            out.push(format!(
                "`serial.data_bits` {} is not 5..=8",
                self.data_bits
            ));
        }
        if !(1..=2).contains(&self.stop_bits) {
            out.push(format!(
                "`serial.stop_bits` {} is not 1 or 2",
                self.stop_bits
            ));
        }
        out
    }
}

/// Problems between devices of one bus: a unit id used twice, or one serial line
/// configured with two different settings. Each comes with the byte offset of the device.
pub(super) fn bus_problems(devices: &[(usize, String, ModbusConfig)]) -> Vec<(usize, String)> {
    let mut units: HashMap<(String, u8), &str> = HashMap::new();
    let mut lines: HashMap<String, &SerialConfig> = HashMap::new();
    let mut out = Vec::new();
    for (offset, id, m) in devices {
        let key = m.bus_key();
        if let Some(other) = units.insert((key.clone(), m.unit_id), id) {
            let unit = m.unit_id;
            let reason = format!("device `{id}`: unit id {unit} on {key} is already `{other}`");
            out.push((*offset, reason));
        }
        if let Some(s) = m.serial.as_ref().filter(|_| m.transport == Transport::Rtu) {
            if lines.get(&key).is_some_and(|first| *first != s) {
                let reason = format!(
                    "device `{id}`: {key} has different serial settings than an earlier device"
                );
                out.push((*offset, reason));
            }
            lines.entry(key).or_insert(s);
        }
    }
    out
}
