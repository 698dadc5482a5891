//! The site config (`site.toml`, with `SITEWATCH_*` environment overrides) and the device
//! profiles it binds. Loading validates everything and reports every problem at once.

mod modbus;
mod problems;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::devices::profile::Profile;
pub use modbus::{ModbusConfig, Parity, SerialConfig, Transport};
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
    /// Modbus connection.
    pub modbus: ModbusConfig,
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
        problems.into_result(Config {
            site: raw.site,
            http: raw.http,
            database: raw.database,
            devices,
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
        Ok(())
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
    let mut buses = Vec::new();
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
        for reason in d.modbus.problems() {
            problems.push(at(format!("device `{}`: {reason}", d.id)));
        }
        buses.push((spanned.span().start, d.clone()));
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
    for (offset, reason) in modbus::bus_problems(&buses) {
        problems.push(Problem::at(file, text, offset, reason));
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
