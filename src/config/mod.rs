//! The site config (`site.toml`, with `SITEWATCH_*` environment overrides) and the device
//! profiles it binds. Loading validates everything and reports every problem at once.

mod mqtt;
mod problems;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::devices::profile::Profile;
pub use mqtt::{BrokerUrl, DeviceMqttConfig, MqttConfig};
pub use problems::{Problem, Problems};

/// The profiles shipped in the binary (used by `demo`, and as a fallback).
pub static BUILTIN_PROFILES: include_dir::Dir<'_> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/devices");

/// The demo plant's site config, shipped in the binary.
pub const DEMO_CONFIG: &str = include_str!("../../examples/demo/site.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: SiteConfig,
    #[serde(default)]
    http: HttpConfig,
    #[serde(default)]
    database: DatabaseConfig,
    #[serde(default)]
    profiles: ProfilesConfig,
    #[serde(default)]
    devices: Vec<Spanned<DeviceConfig>>,
    #[serde(default)]
    mqtt: MqttConfig,
}

/// `[site]`: who this daemon watches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Short id used in MQTT topics (`sitewatch/{id}/…`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Time zone for schedules and reports (architecture: Asia/Shanghai by default).
    #[serde(default = "default_tz")]
    pub timezone: String,
}

fn default_tz() -> String {
    "Asia/Shanghai".into()
}

/// `[http]`: the API, dashboard and metrics listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on; loopback by default.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// `[database]`: where records live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` (default) or `postgres://user@host/db`.
    #[serde(default = "default_db")]
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: default_db() }
    }
}

fn default_db() -> String {
    "sqlite://data/sitewatch.db".into()
}

/// `[profiles]`: where device profiles are read from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesConfig {
    /// Directory of `*.toml` profiles, relative to the config file. Unset: the built-in set.
    pub dir: Option<PathBuf>,
}

/// `[[devices]]`: one device bound to a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Unique id (`[a-z0-9_]`), the first half of its point ids.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Profile id.
    pub profile: String,
    /// Modbus connection (exactly one of `modbus` and `mqtt`).
    pub modbus: Option<ModbusConfig>,
    /// MQTT binding: the topic the device's messages arrive on.
    pub mqtt: Option<DeviceMqttConfig>,
}

/// How to reach a Modbus device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusConfig {
    /// `host:port` of the device or gateway.
    pub address: String,
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

/// A device with its profile resolved.
#[derive(Debug, Clone)]
pub struct Device {
    /// The config entry.
    pub config: DeviceConfig,
    /// Its register map.
    pub profile: Arc<Profile>,
}

/// A validated site config.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[site]`.
    pub site: SiteConfig,
    /// `[http]`.
    pub http: HttpConfig,
    /// `[database]`.
    pub database: DatabaseConfig,
    /// Devices with their profiles.
    pub devices: Vec<Device>,
    /// `[mqtt]`.
    pub mqtt: MqttConfig,
}

impl Config {
    /// Reads and validates a config file and the profiles it uses, then applies
    /// `SITEWATCH_DATABASE_URL` and `SITEWATCH_HTTP_LISTEN` from the environment.
    pub fn load(path: &Path) -> Result<Config, Problems> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Problems(vec![Problem::file(path, format!("cannot read: {e}"))]))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut config = Config::parse(path, &text, Some(base))?;
        config.apply_env(path)?;
        Ok(config)
    }

    /// Parses config text; profiles come from `[profiles] dir` under `base`, or the
    /// built-in set when unset or `base` is `None`.
    pub fn parse(file: &Path, text: &str, base: Option<&Path>) -> Result<Config, Problems> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| Problems::from_toml(file, text, &e))?;
        let mut problems = Problems::default();
        if raw.site.timezone.parse::<chrono_tz::Tz>().is_err() {
            let reason = format!("unknown time zone `{}`", raw.site.timezone);
            problems.push(Problem::at(file, text, find(text, "timezone"), reason));
        }
        let dir = raw.profiles.dir.as_ref().zip(base).map(|(d, b)| b.join(d));
        let profiles = match load_profiles(dir.as_deref()) {
            Ok(p) => p,
            Err(p) => {
                problems.extend(p);
                BTreeMap::new()
            }
        };
        let devices = bind_devices(file, text, raw.devices, &profiles, &mut problems);
        if let Some(Err(reason)) = raw.mqtt.url.as_deref().map(BrokerUrl::parse) {
            problems.push(Problem::at(file, text, find(text, "[mqtt]"), reason));
        }
        problems.into_result(Config {
            site: raw.site,
            http: raw.http,
            database: raw.database,
            devices,
            mqtt: raw.mqtt,
        })
    }

    fn apply_env(&mut self, path: &Path) -> Result<(), Problems> {
        if let Ok(url) = std::env::var("SITEWATCH_DATABASE_URL") {
            self.database.url = url;
        }
        if let Ok(listen) = std::env::var("SITEWATCH_HTTP_LISTEN") {
            self.http.listen = listen.parse().map_err(|e| {
                let reason = format!("SITEWATCH_HTTP_LISTEN `{listen}`: {e}");
                Problems(vec![Problem::file(path, reason)])
            })?;
        }
        if let Ok(url) = std::env::var("SITEWATCH_MQTT_URL") {
            BrokerUrl::parse(&url).map_err(|r| Problems(vec![Problem::file(path, r)]))?;
            self.mqtt.url = Some(url);
        }
        if let Ok(password) = std::env::var("SITEWATCH_MQTT_PASSWORD") {
            self.mqtt.password = Some(password);
        }
        Ok(())
    }

    /// Whether any device is read over MQTT.
    pub fn uses_mqtt(&self) -> bool {
        self.devices.iter().any(|d| d.config.mqtt.is_some())
    }
}

fn find(text: &str, key: &str) -> usize {
    text.find(key).unwrap_or(0)
}

fn bind_devices(
    file: &Path,
    text: &str,
    raw: Vec<Spanned<DeviceConfig>>,
    profiles: &BTreeMap<String, Arc<Profile>>,
    problems: &mut Problems,
) -> Vec<Device> {
    let mut seen = HashSet::new();
    let mut devices = Vec::new();
    for spanned in raw {
        let at = |reason: String| Problem::at(file, text, spanned.span().start, reason);
        let d = spanned.get_ref().clone();
        if !seen.insert(d.id.clone()) {
            problems.push(at(format!("duplicate device id `{}`", d.id)));
        }
        if d.id.is_empty() || !d.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            problems.push(at(format!(
                "device id `{}`: use letters, digits, `_`",
                d.id
            )));
        }
        if d.modbus
            .as_ref()
            .is_some_and(|m| m.poll_interval.is_zero() || m.timeout.is_zero())
        {
            problems.push(at(format!(
                "device `{}`: zero poll_interval or timeout",
                d.id
            )));
        }
        if let Some(reason) = profiles
            .get(&d.profile)
            .and_then(|p| mqtt::check_source(&d, p))
        {
            problems.push(at(reason));
        }
        match profiles.get(&d.profile) {
            Some(p) => devices.push(Device {
                config: d,
                profile: p.clone(),
            }),
            None => problems.push(at(format!(
                "device `{}`: unknown profile `{}`",
                d.id, d.profile
            ))),
        }
    }
    devices
}

/// Loads every `*.toml` profile from `dir`, or the built-in set.
pub fn load_profiles(dir: Option<&Path>) -> Result<BTreeMap<String, Arc<Profile>>, Problems> {
    let files = match dir {
        Some(d) => read_dir(d)?,
        None => builtin_files(),
    };
    let mut problems = Problems::default();
    let mut out = BTreeMap::new();
    for (path, text) in files {
        match Profile::parse(&path, &text) {
            Ok(p) => {
                if out.insert(p.id.clone(), Arc::new(p)).is_some() {
                    problems.push(Problem::file(&path, "duplicate profile id".into()));
                }
            }
            Err(p) => problems.extend(p),
        }
    }
    problems.into_result(out)
}

fn builtin_files() -> Vec<(PathBuf, String)> {
    BUILTIN_PROFILES
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
        .filter_map(|f| {
            let text = f.contents_utf8()?.to_owned();
            Some((Path::new("devices").join(f.path()), text))
        })
        .collect()
}

fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, String)>, Problems> {
    let fail = |e: std::io::Error| Problems(vec![Problem::file(dir, format!("cannot read: {e}"))]);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).map_err(fail)?;
            files.push((path, text));
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests;
