//! The site config (`site.toml`, with `SITEWATCH_*` environment overrides) and the device
//! profiles it binds. Loading validates everything and reports every problem at once.

mod modbus;
mod mqtt;
mod notify;
mod paths;
mod problems;
mod rules;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use sitewatch_core::alarms::{AlarmConfig, AlarmEngine, AlarmRule};
use sitewatch_core::incidents::{IncidentBook, IncidentsConfig};
use sitewatch_core::inspections::InspectionConfig;
use sitewatch_core::patrol::PatrolConfig;

use crate::billing::BillingConfig;
use crate::devices::profile::{AlarmDef, Profile, ProfileSource};
pub use modbus::{ModbusConfig, Parity, SerialConfig, Transport};
pub use mqtt::{BrokerUrl, DeviceMqttConfig, MqttConfig};
pub use notify::{NotifyConfig, RateLimit, RetryConfig, SmtpConfig, TlsMode, WebhookConfig};
pub use problems::{Problem, Problems};
use sitewatch_core::incidents::KpiTargets;

/// The profiles shipped in the binary; a site's `[profiles] dir` adds to them.
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
    alarms: AlarmConfig,
    #[serde(default)]
    alarm_rules: Vec<Spanned<SiteAlarmRule>>,
    #[serde(default)]
    incidents: IncidentsConfig,
    #[serde(default)]
    patrol: PatrolConfig,
    #[serde(default)]
    inspections: InspectionConfig,
    #[serde(default)]
    mqtt: MqttConfig,
    #[serde(default)]
    billing: BillingConfig,
    #[serde(default)]
    kpis: KpiTargets,
    notify: Option<NotifyConfig>,
}

/// `[[alarm_rules]]`: a site's own rule for a point; it replaces the profile's rules for
/// that point.
#[derive(Debug, Clone, Deserialize)]
pub struct SiteAlarmRule {
    /// `{device}.{point}`.
    pub point: String,
    /// The rule.
    #[serde(flatten)]
    pub def: AlarmDef,
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
    /// Reverse proxies in front of the daemon (`["127.0.0.1"]`): only from these is
    /// `X-Forwarded-For` believed for the client's address (sign-in rate limit, audit).
    /// Empty by default: the peer's address is the client's.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            trusted_proxies: Vec::new(),
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
    /// `sqlite://path/to/file.db` (default; a relative path is relative to the config
    /// file) or `postgres://user@host/db`.
    #[serde(default = "default_db")]
    pub url: String,
    /// Most memory, in MiB, for rows waiting to be written while the database is slow or
    /// gone (64 by default; at least 1). Past it the oldest history readings give way
    /// first, journal entries and outbox messages only once no reading is left.
    #[serde(default = "default_backlog_mib")]
    pub backlog_mib: usize,
}

impl DatabaseConfig {
    /// The store backlog's bound in bytes.
    pub fn backlog_bytes(&self) -> usize {
        self.backlog_mib.max(1).saturating_mul(1 << 20)
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: default_db(),
            backlog_mib: default_backlog_mib(),
        }
    }
}

fn default_backlog_mib() -> usize {
    crate::store::backlog::DEFAULT_BYTES >> 20
}

fn default_db() -> String {
    "sqlite://data/sitewatch.db".into()
}

/// `[profiles]`: where device profiles are read from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesConfig {
    /// Directory of `*.toml` profiles, relative to the config file, added to the built-in
    /// set (a file with a built-in id replaces that profile). Unset: the built-in set.
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
    /// The building unit (flat, shop) this device serves, for unit-level suppression and
    /// vacant-unit rules.
    #[serde(default)]
    pub unit: Option<String>,
    /// Modbus connection (exactly one of `modbus` and `mqtt`).
    pub modbus: Option<ModbusConfig>,
    /// MQTT binding: the topic the device's messages arrive on.
    pub mqtt: Option<DeviceMqttConfig>,
}

/// A device with its profile resolved.
#[derive(Debug, Clone)]
pub struct Device {
    /// The config entry.
    pub config: DeviceConfig,
    /// Its register map.
    pub profile: Arc<Profile>,
}

impl Device {
    /// The id of its point `name` (`device.point`): how rules, the hub, metrics and the API
    /// name the point.
    pub fn point_id(&self, name: &str) -> String {
        format!("{}.{name}", self.config.id)
    }
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
    /// `[alarms]`: escalation, flood and chattering settings.
    pub alarms: AlarmConfig,
    /// Alarm rules: the profiles' defaults with the site's `[[alarm_rules]]` applied.
    pub alarm_rules: Vec<AlarmRule>,
    /// Incident category per alarm rule id, for the incident policy.
    pub alarm_categories: BTreeMap<String, String>,
    /// `[incidents]`.
    pub incidents: IncidentsConfig,
    /// `[patrol]`.
    pub patrol: PatrolConfig,
    /// `[inspections]`.
    pub inspections: InspectionConfig,
    /// `[mqtt]`.
    pub mqtt: MqttConfig,
    /// `[billing]`: the meter-reading cut-off.
    pub billing: BillingConfig,
    /// `[kpis]`: targets of the service KPIs (rules.md §9, §13.17).
    pub kpis: KpiTargets,
    /// `[notify]`: sending notices; `None` sends nothing (notices are still recorded).
    pub notify: Option<NotifyConfig>,
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

    /// Parses config text. Relative paths are taken under `base` (the config file's
    /// folder); profiles are the built-in set plus `[profiles] dir` under `base`.
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
        let overrides = site_rules(file, text, raw.alarm_rules, &devices, &mut problems);
        let (alarm_rules, alarm_categories) = rules::build(&devices, &overrides);
        check_books(
            file,
            text,
            &raw.alarms,
            &alarm_rules,
            &raw.incidents,
            &raw.patrol,
            &mut problems,
        );
        if let Some(Err(reason)) = raw.mqtt.url.as_deref().map(BrokerUrl::parse) {
            problems.push(Problem::at(file, text, find(text, "[mqtt]"), reason));
        }
        for (key, reason) in raw.notify.iter().flat_map(NotifyConfig::problems) {
            let at = find_in_section(text, "[notify", key);
            problems.push(Problem::at(file, text, at, reason));
        }
        if let Some(reason) = raw.mqtt.tls_problem() {
            problems.push(Problem::at(file, text, find(text, "[mqtt]"), reason));
        }
        let (mut mqtt, mut database) = (raw.mqtt, raw.database);
        if let Some(base) = base {
            mqtt.resolve_paths(base);
            database.url = paths::resolve_database_url(&database.url, base);
        }
        problems.into_result(Config {
            site: raw.site,
            http: raw.http,
            database,
            devices,
            alarms: raw.alarms,
            alarm_rules,
            alarm_categories,
            incidents: raw.incidents,
            patrol: raw.patrol,
            inspections: raw.inspections,
            mqtt,
            billing: raw.billing,
            kpis: raw.kpis,
            notify: raw.notify,
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
        let notify = self.notify.as_mut();
        if let (Some(smtp), Ok(password)) = (
            notify.and_then(|n| n.smtp.as_mut()),
            std::env::var("SITEWATCH_SMTP_PASSWORD"),
        ) {
            smtp.password = Some(password);
        }
        let notify = self.notify.as_mut();
        if let (Some(hook), Ok(token)) = (
            notify.and_then(|n| n.webhook.as_mut()),
            std::env::var("SITEWATCH_WEBHOOK_TOKEN"),
        ) {
            hook.token = Some(token);
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

/// The first `key` at or after the first `section` header, else the header itself.
fn find_in_section(text: &str, section: &str, key: &str) -> usize {
    let start = find(text, section);
    text[start..].find(key).map_or(start, |i| start + i)
}

/// Validates the site's own alarm rules: each must name a configured point.
fn site_rules(
    file: &Path,
    text: &str,
    raw: Vec<Spanned<SiteAlarmRule>>,
    devices: &[Device],
    problems: &mut Problems,
) -> Vec<SiteAlarmRule> {
    let known = |point: &str| {
        point.split_once('.').is_some_and(|(d, p)| {
            devices
                .iter()
                .any(|dev| dev.config.id == d && dev.profile.alarm_points().any(|x| x.0 == p))
        })
    };
    let mut out = Vec::new();
    for spanned in raw {
        let rule = spanned.get_ref().clone();
        if known(&rule.point) {
            out.push(rule);
        } else {
            let reason = format!("alarm rule for unknown point `{}`", rule.point);
            problems.push(Problem::at(file, text, spanned.span().start, reason));
        }
    }
    out
}

/// Builds the books once, as start-up will, so `check` reports what would stop `serve`.
fn check_books(
    file: &Path,
    text: &str,
    alarms: &AlarmConfig,
    rules: &[AlarmRule],
    incidents: &IncidentsConfig,
    patrol: &PatrolConfig,
    problems: &mut Problems,
) {
    let mut at = |section: &str, reason: String| {
        problems.push(Problem::at(file, text, find(text, section), reason));
    };
    if let Err(e) = AlarmEngine::new(rules.to_vec(), alarms.clone()) {
        at("[alarms]", format!("alarm rules: {e}"));
    }
    if let Err(e) = IncidentBook::new(incidents.clone()) {
        for p in e.problems {
            at("[incidents]", format!("incidents: {p}"));
        }
    }
    for p in patrol.problems() {
        at("[patrol]", format!("patrol: {p}"));
    }
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
        if let Some(m) = &d.modbus {
            for reason in m.problems() {
                problems.push(at(format!("device `{}`: {reason}", d.id)));
            }
            buses.push((spanned.span().start, d.id.clone(), m.clone()));
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
    for (offset, reason) in modbus::bus_problems(&buses) {
        problems.push(Problem::at(file, text, offset, reason));
    }
    devices
}

/// The built-in profiles, with every `*.toml` profile in `dir` added to them; a file whose
/// id is a built-in one replaces it.
pub fn load_profiles(dir: Option<&Path>) -> Result<BTreeMap<String, Arc<Profile>>, Problems> {
    let mut problems = Problems::default();
    let mut out = parse_profiles(builtin_files(), &mut problems);
    for p in out.values_mut() {
        Arc::make_mut(p).source = ProfileSource::BuiltIn;
    }
    let site = match dir.map(read_dir).transpose() {
        Ok(files) => parse_profiles(files.unwrap_or_default(), &mut problems),
        Err(p) => {
            problems.extend(p);
            BTreeMap::new()
        }
    };
    for (id, mut p) in site {
        let replaced = match &p.source {
            ProfileSource::File(path) if out.contains_key(&id) => Some(path.clone()),
            _ => None,
        };
        if let Some(path) = replaced {
            Arc::make_mut(&mut p).source = ProfileSource::Override(path);
        }
        out.insert(id, p);
    }
    problems.into_result(out)
}

/// Parses profile files; two files with one id are a problem.
fn parse_profiles(
    files: Vec<(PathBuf, String)>,
    problems: &mut Problems,
) -> BTreeMap<String, Arc<Profile>> {
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
    out
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
