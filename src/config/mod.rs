//! The site config (`site.toml`, with `SITEWATCH_*` environment overrides) and the device
//! profiles it binds. Loading validates everything and reports every problem at once.

pub mod binding;
pub mod central;
pub mod contacts;
pub(crate) mod document;
mod gateways;
mod modbus;
mod mqtt;
mod notify;
pub mod paging;
mod paths;
mod problems;
pub mod profile;
mod rules;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use sitewatch_core::alarms::{AlarmConfig, AlarmEngine, AlarmRule};
use sitewatch_core::incidents::{IncidentBook, IncidentsConfig, ServiceConfig};
use sitewatch_core::inspections::InspectionConfig;
use sitewatch_core::patrol::PatrolConfig;

pub(crate) use document::Document;
pub use gateways::GatewayConfig;
pub use modbus::{ModbusConfig, Parity, SerialConfig, Transport};
pub use mqtt::{BrokerUrl, DeviceMqttConfig, MqttConfig};
pub use notify::{NotifyConfig, RateLimit, RetryConfig, SmtpConfig, TlsMode, WebhookConfig};
pub use problems::{Problem, Problems};
use profile::{AlarmDef, Profile, ProfileSource};
use sitewatch_core::incidents::KpiTargets;

/// The profiles shipped in the binary; a site's `[profiles] dir` adds to them.
pub static BUILTIN_PROFILES: include_dir::Dir<'_> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/devices");

/// The demo plant's site config, shipped in the binary.
pub const DEMO_CONFIG: &str = include_str!("../../examples/demo/site.toml");

/// The top-level sections of a site config.
const SECTIONS: [&str; 21] = [
    "site",
    "central",
    "http",
    "database",
    "profiles",
    "devices",
    "alarms",
    "alarm_rules",
    "incidents",
    "service",
    "patrol",
    "inspections",
    "mqtt",
    "billing",
    "kpis",
    "notify",
    "paging",
    "people",
    "rota",
    "rota_overrides",
    "gateways",
];

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
    /// Time zone for schedules and reports (architecture: Asia/Shanghai by default), as
    /// written; [`SiteConfig::tz`] is the zone itself.
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// `timezone` parsed, once, by `Config::parse`, which refuses an unknown zone as a
    /// problem at its line.
    #[serde(skip, default = "default_zone")]
    tz: Tz,
}

impl SiteConfig {
    /// The site's time zone: the one every local date, month and report is counted in.
    pub fn tz(&self) -> Tz {
        self.tz
    }
}

fn default_tz() -> String {
    "Asia/Shanghai".into()
}

fn default_zone() -> Tz {
    chrono_tz::Asia::Shanghai
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

/// The store backlog's bound unless `backlog_mib` sets one: about a million readings,
/// some ten minutes of a large site's 2,000 readings a second.
fn default_backlog_mib() -> usize {
    64
}

/// `[billing]` in the site config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingConfig {
    /// The cut-off day: readings up to the end of it count (rules.md §13.10, seed 004:85
    /// "截止当月20日" includes the 20th), so the snapshot is taken at 00:00 on the next day,
    /// site time.
    pub cutoff_day: u32,
    /// Days after the cut-off day by whose end the export is due (§13.10: 21st–23rd).
    pub export_days: u32,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            cutoff_day: 20,
            export_days: 3,
        }
    }
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

/// What a meter register is checked against (see [`Config::register_targets`]).
#[derive(Debug, Clone, Default)]
pub struct RegisterTargets {
    /// `[[gateways]]` ids.
    pub gateways: HashSet<String>,
    /// Each Modbus profile's counter units, by profile id.
    pub profiles: std::collections::HashMap<String, Vec<String>>,
    /// The plant's `[[devices]]` ids.
    pub devices: HashSet<String>,
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
    /// The plant's `[[devices]]` with their profiles (the register's meters are in
    /// `estate::Estate`, not here).
    pub devices: Vec<Device>,
    /// `[[gateways]]`: the meter concentrators the register's meters are read through.
    pub gateways: Vec<GatewayConfig>,
    /// The profiles the config could bind, by id (the register's meters name them).
    pub profiles: BTreeMap<String, Arc<Profile>>,
    /// `[alarms]`: escalation, flood and chattering settings.
    pub alarms: AlarmConfig,
    /// Alarm rules: the profiles' defaults with the site's `[[alarm_rules]]` applied.
    pub alarm_rules: Vec<AlarmRule>,
    /// Incident category per alarm rule id, for the incident policy.
    pub alarm_categories: BTreeMap<String, String>,
    /// `[incidents]`.
    pub incidents: IncidentsConfig,
    /// `[service]`: request deadlines (repairs, complaints, suggestions, follow-up),
    /// rules.md §14 by default.
    pub service: ServiceConfig,
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
    /// `[paging]`, `[[people]]`, `[[rota]]`, `[[rota_overrides]]`: who is paged.
    pub oncall: paging::OnCall,
    /// `[central]`: forwarding records to the central office; `None` forwards nothing.
    pub central: Option<central::CentralConfig>,
    /// What `check` warns about without refusing the file (rota gaps and overlaps).
    pub warnings: Problems,
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
    /// folder); profiles are the built-in set plus `[profiles] dir` under `base`. Every
    /// problem is reported once, in file order.
    pub fn parse(file: &Path, text: &str, base: Option<&Path>) -> Result<Config, Problems> {
        let mut doc = Document::parse(file, text);
        doc.refuse_unknown(&SECTIONS);
        let site: Option<SiteConfig> = doc.required("site");
        let profiles: ProfilesConfig = doc.section("profiles");
        let raw_devices = doc.list::<DeviceConfig>("devices");
        let raw_gateways = doc.list::<GatewayConfig>("gateways");
        let raw_rules = doc.list::<SiteAlarmRule>("alarm_rules");
        let paging: Option<paging::PagingConfig> = doc.optional("paging");
        let raw_oncall = paging::Raw {
            people: doc.list("people"),
            rota: doc.list("rota"),
            overrides: doc.list("rota_overrides"),
        };
        let mut config = Config {
            site: site.unwrap_or_else(|| SiteConfig {
                id: String::new(),
                name: String::new(),
                timezone: default_tz(),
                tz: default_zone(),
            }),
            http: doc.section("http"),
            database: doc.section("database"),
            devices: Vec::new(),
            gateways: Vec::new(),
            profiles: BTreeMap::new(),
            alarms: doc.section("alarms"),
            alarm_rules: Vec::new(),
            alarm_categories: BTreeMap::new(),
            incidents: doc.section("incidents"),
            service: doc.section("service"),
            patrol: doc.section("patrol"),
            inspections: doc.section("inspections"),
            mqtt: doc.section("mqtt"),
            billing: doc.section("billing"),
            kpis: doc.section("kpis"),
            notify: doc.optional("notify"),
            central: doc.optional("central"),
            oncall: paging::OnCall::default(),
            warnings: Problems::default(),
        };
        let complete = doc.complete;
        let mut problems = doc.problems;
        config.check_site(file, text, &mut problems);
        let t = paging::Text { file, text };
        let mut warnings = Problems::default();
        config.oncall = paging::OnCall::read(
            paging,
            raw_oncall,
            &config.alarms,
            &t,
            &mut problems,
            &mut warnings,
        );
        let dir = profiles.dir.as_ref().zip(base).map(|(d, b)| b.join(d));
        let profiles = Profiles::read(dir.as_deref());
        problems.extend(profiles.problems.clone());
        let declared: HashSet<String> =
            raw_devices.iter().map(|d| d.get_ref().id.clone()).collect();
        config.devices = bind_devices(file, text, raw_devices, &profiles, &mut problems);
        config.gateways = gateways::check(file, text, raw_gateways, &config.devices, &mut problems);
        config.profiles = profiles.good.clone();
        let rules = SiteRules {
            devices: &config.devices,
            declared: &declared,
            complete,
        };
        let overrides = rules.check(file, text, raw_rules, &mut problems);
        (config.alarm_rules, config.alarm_categories) = rules::build(&config.devices, &overrides);
        warnings.extend(Problems(rules::without_zh(file, &config.alarm_rules)));
        warnings.sort();
        config.warnings = warnings;
        config.check_books(file, text, &mut problems);
        if let Some(base) = base {
            config.mqtt.resolve_paths(base);
            config.database.url = paths::resolve_database_url(&config.database.url, base);
        }
        problems.sort();
        problems.into_result(config)
    }

    /// The checks of `[site]`, `[mqtt]` and `[notify]` that their types cannot make.
    fn check_site(&mut self, file: &Path, text: &str, problems: &mut Problems) {
        match self.site.timezone.parse::<Tz>() {
            Ok(tz) => self.site.tz = tz,
            Err(_) => {
                let reason = format!("unknown time zone `{}`", self.site.timezone);
                problems.push(Problem::at(file, text, find(text, "timezone"), reason));
            }
        }
        if let Some(Err(reason)) = self.mqtt.url.as_deref().map(BrokerUrl::parse) {
            problems.push(Problem::at(file, text, find(text, "[mqtt]"), reason));
        }
        for (key, reason) in self.notify.iter().flat_map(NotifyConfig::problems) {
            let at = find_in_section(text, "[notify", key);
            problems.push(Problem::at(file, text, at, reason));
        }
        let site = self.site.id.as_str();
        for (key, reason) in self.central.iter().flat_map(|c| c.problems(site)) {
            let at = find_in_section(text, "[central]", key);
            problems.push(Problem::at(file, text, at, reason));
        }
        if let Some(reason) = self.mqtt.tls_problem() {
            problems.push(Problem::at(file, text, find(text, "[mqtt]"), reason));
        }
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
        if let (Some(p), Ok(secret)) = (
            self.oncall.paging.as_mut(),
            std::env::var("SITEWATCH_PAGING_SECRET"),
        ) {
            p.secret = Some(secret);
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

    /// What a meter register is checked against, from this config: the gateway ids,
    /// each Modbus profile's counter units (`kWh`, `m3`) by id, and the plant's device ids.
    pub fn register_targets(&self) -> RegisterTargets {
        let counters = |p: &Profile| {
            let units = p.points.iter().map(|pt| pt.unit.clone());
            units.filter(|u| rules::is_meter(u)).collect()
        };
        RegisterTargets {
            gateways: self.gateways.iter().map(|g| g.id.clone()).collect(),
            profiles: (self.profiles.iter())
                .filter(|(_, p)| !p.blocks.is_empty())
                .map(|(id, p)| (id.clone(), counters(p)))
                .collect(),
            devices: self.devices.iter().map(|d| d.config.id.clone()).collect(),
        }
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

/// What the site's own alarm rules are checked against.
struct SiteRules<'a> {
    /// The devices bound to a profile.
    devices: &'a [Device],
    /// Every device id the file declares, bound or not.
    declared: &'a HashSet<String>,
    /// Whether every part of the file was read: if not, a rule may name a device whose
    /// entry is broken, already reported.
    complete: bool,
}

impl SiteRules<'_> {
    /// Validates the site's own alarm rules: each must name a configured point and be a
    /// valid rule. A rule for a device already reported (unknown profile, broken entry)
    /// is not reported again.
    fn check(
        &self,
        file: &Path,
        text: &str,
        raw: Vec<Spanned<SiteAlarmRule>>,
        problems: &mut Problems,
    ) -> Vec<SiteAlarmRule> {
        let mut out = Vec::new();
        for spanned in raw {
            let rule = spanned.get_ref().clone();
            let at = spanned.span().start;
            match self.problem(&rule) {
                Some(reason) => problems.push(Problem::at(file, text, at, reason)),
                None if self.known(&rule.point) => out.push(rule),
                None => {}
            }
        }
        out
    }

    fn known(&self, point: &str) -> bool {
        point.split_once('.').is_some_and(|(d, p)| {
            self.devices
                .iter()
                .any(|dev| dev.config.id == d && dev.profile.alarm_points().any(|x| x.name == p))
        })
    }

    /// What is wrong with a rule, unless it is already said elsewhere.
    fn problem(&self, rule: &SiteAlarmRule) -> Option<String> {
        if let Err(reason) = rule.def.spec.validate() {
            return Some(format!("alarm rule for `{}`: {reason}", rule.point));
        }
        let device = rule.point.split_once('.').map_or("", |(d, _)| d);
        let bound = self.devices.iter().any(|d| d.config.id == device);
        let reported = !bound && (self.declared.contains(device) || !self.complete);
        (!self.known(&rule.point) && !reported)
            .then(|| format!("alarm rule for unknown point `{}`", rule.point))
    }
}

impl Config {
    /// Builds the books once, as start-up will, so `check` reports what would stop
    /// `serve`. Rules that are invalid in themselves are reported where they are written
    /// (the profile or `[[alarm_rules]]`), so the engine is built without them.
    fn check_books(&self, file: &Path, text: &str, problems: &mut Problems) {
        let mut at = |section: &str, reason: String| {
            let offset = text.find(section);
            problems.push(match offset {
                Some(o) => Problem::at(file, text, o, reason),
                None => Problem::file(file, reason),
            });
        };
        let rules: Vec<AlarmRule> = self
            .alarm_rules
            .iter()
            .filter(|r| r.spec.validate().is_ok())
            .cloned()
            .collect();
        if let Err(e) = AlarmEngine::new(rules, self.alarms.clone()) {
            at("[alarms]", format!("alarm rules: {e}"));
        }
        if let Err(e) = IncidentBook::new(self.incidents.clone()) {
            for p in e.problems {
                at("[incidents]", format!("incidents: {p}"));
            }
        }
        for p in self.patrol.problems() {
            at("[patrol]", format!("patrol: {p}"));
        }
        for p in self.service.problems() {
            // Desk hours are named at their own line, the lists at the section's.
            let key = if p.starts_with("desk_hours") {
                "desk_hours"
            } else {
                "[service]"
            };
            let offset = find_in_section(text, "[service]", key);
            problems.push(Problem::at(file, text, offset, format!("service: {p}")));
        }
    }
}

fn bind_devices(
    file: &Path,
    text: &str,
    raw: Vec<Spanned<DeviceConfig>>,
    profiles: &Profiles,
    problems: &mut Problems,
) -> Vec<Device> {
    let mut seen = HashSet::new();
    let mut devices = Vec::new();
    let mut buses = Vec::new();
    for spanned in raw {
        let at = |reason: String| Problem::at(file, text, spanned.span().start, reason);
        let d = spanned.get_ref().clone();
        if !seen.insert(d.id.clone()) {
            // Bound once only: a second binding would repeat every rule of the device.
            problems.push(at(format!("duplicate device id `{}`", d.id)));
            continue;
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
            .good
            .get(&d.profile)
            .and_then(|p| mqtt::check_source(&d, p))
        {
            problems.push(at(reason));
        }
        match profiles.good.get(&d.profile) {
            Some(p) => devices.push(Device {
                config: d,
                profile: p.clone(),
            }),
            None if profiles.broken.contains(&d.profile) => {}
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
    let loaded = Profiles::read(dir);
    loaded.problems.into_result(loaded.good)
}

/// The profiles that load, and what is wrong with the others.
#[derive(Debug, Default)]
struct Profiles {
    good: BTreeMap<String, Arc<Profile>>,
    /// The ids of profiles that do not load, as far as they can be read: a device bound
    /// to one is not reported again as naming an unknown profile.
    broken: HashSet<String>,
    problems: Problems,
}

impl Profiles {
    /// The built-in profiles, with every `*.toml` profile in `dir` added to them; a file
    /// whose id is a built-in one replaces it (and says so in its source).
    fn read(dir: Option<&Path>) -> Profiles {
        let mut out = Profiles::default();
        out.add(builtin_files(), |_| ProfileSource::BuiltIn);
        match dir.map(read_dir) {
            Some(Ok(files)) => {
                let builtin: HashSet<String> = out.good.keys().cloned().collect();
                out.add(files, |p| site_source(p, &builtin));
            }
            Some(Err(problems)) => out.problems.extend(problems),
            None => {}
        }
        out
    }

    /// Parses `files`; two files with one id among them are a problem, a later set
    /// replaces an earlier one's profile of the same id.
    fn add(&mut self, files: Vec<(PathBuf, String)>, source: impl Fn(&Profile) -> ProfileSource) {
        let mut seen = HashSet::new();
        for (path, text) in files {
            match Profile::parse(&path, &text) {
                Ok(mut p) => {
                    p.source = source(&p);
                    if !seen.insert(p.id.clone()) {
                        self.problems
                            .push(Problem::file(&path, "duplicate profile id".into()));
                    }
                    self.broken.remove(&p.id);
                    self.good.insert(p.id.clone(), Arc::new(p));
                }
                Err(p) => {
                    self.broken.extend(profile_id(&text));
                    self.problems.extend(p);
                }
            }
        }
    }
}

/// Where a site's own profile came from: its file, or its file overriding a built-in one.
fn site_source(p: &Profile, builtin: &HashSet<String>) -> ProfileSource {
    match &p.source {
        ProfileSource::File(path) if builtin.contains(&p.id) => {
            ProfileSource::Override(path.clone())
        }
        other => other.clone(),
    }
}

/// The `[profile] id` of a profile file that does not load, if it can be read at all.
fn profile_id(text: &str) -> Option<String> {
    let (root, _) = toml::de::DeTable::parse_recoverable(text);
    let toml::de::DeValue::Table(header) = root.get_ref().get("profile")?.get_ref() else {
        return None;
    };
    match header.get("id")?.get_ref() {
        toml::de::DeValue::String(id) => Some(id.to_string()),
        _ => None,
    }
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
