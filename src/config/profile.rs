//! Device profiles: register maps as data (`devices/*.toml`). A profile names each point's
//! register, type, byte and word order, scale, offset and unit. Broken profiles are
//! rejected with the file, line and reason. A profile may instead (or also) bind points to
//! MQTT messages: `[[mqtt_points]]` and a `topic` pattern (see [`super::binding`]).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sitewatch_core::alarms::RuleSpec;
use toml::Spanned;

use super::binding::{self, MqttPointDef};
use super::{Document, Problem, Problems};

/// Which Modbus table a point lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Read/write 16-bit registers (function 3).
    Holding,
    /// Read-only 16-bit registers (function 4).
    Input,
    /// Read/write bits (function 1).
    Coil,
    /// Read-only bits (function 2).
    Discrete,
}

impl Table {
    /// Whether the table holds single bits rather than 16-bit words.
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coil | Table::Discrete)
    }
}

/// How a point's registers encode its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Unsigned 16-bit.
    U16,
    /// Signed 16-bit.
    I16,
    /// Unsigned 32-bit over two registers.
    U32,
    /// Signed 32-bit over two registers.
    I32,
    /// Unsigned 64-bit over four registers.
    U64,
    /// IEEE-754 single over two registers.
    F32,
    /// IEEE-754 double over four registers.
    F64,
    /// One bit: a coil or discrete input, or bit `bit` of a register.
    Bit,
    /// Bits `bit` .. `bit + bits` of a register, as an unsigned number.
    Bitfield,
    /// An unsigned 16-bit code that must be one of the point's `states` (a drive's
    /// operating mode, a panel's zone state); any other code is a bad reading.
    Enum,
}

impl DataType {
    /// Registers the type spans (bit types: one register or one bit).
    pub fn words(self) -> u16 {
        match self {
            DataType::U32 | DataType::I32 | DataType::F32 => 2,
            DataType::U64 | DataType::F64 => 4,
            _ => 1,
        }
    }
}

/// Order of bytes within a register, or of registers within a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Most significant first (Modbus standard).
    #[default]
    Big,
    /// Least significant first.
    Little,
}

/// A point's name and state words in one more language (`zh = { name = "A 相电流",
/// states = { "0" = "干燥" } }`); what is left out falls back to `description` and `states`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    /// The point's display name.
    #[serde(default)]
    pub name: String,
    /// Meaning of enumerated values.
    #[serde(default)]
    pub states: BTreeMap<String, String>,
}

/// One point of a profile, as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointDef {
    /// Point name, unique in the profile (`[a-z0-9_]`).
    pub name: String,
    /// Modbus table.
    pub table: Table,
    /// Zero-based register or bit address.
    pub address: u16,
    /// Encoding.
    #[serde(rename = "type")]
    pub data_type: DataType,
    /// Bit index for `bit` and `bitfield` in a register.
    pub bit: Option<u8>,
    /// Width of a `bitfield`.
    pub bits: Option<u8>,
    /// Byte order inside each register; defaults to the profile's.
    pub byte_order: Option<Order>,
    /// Register order inside a multi-register value; defaults to the profile's.
    pub word_order: Option<Order>,
    /// Engineering value = raw * scale + offset.
    #[serde(default = "one")]
    pub scale: f64,
    /// See `scale`.
    #[serde(default)]
    pub offset: f64,
    /// Engineering unit (`kWh`, `m3`, `V`; empty for states).
    #[serde(default)]
    pub unit: String,
    /// Meaning of enumerated values, for display (`0 = "stopped"`).
    #[serde(default)]
    pub states: BTreeMap<String, String>,
    /// What the point means, for people.
    #[serde(default)]
    pub description: String,
    /// The name and state words in zh-CN, for the desks' Chinese page.
    #[serde(default)]
    pub zh: Localized,
    /// History deadband in engineering units (0 keeps every change).
    #[serde(default)]
    pub deadband: f64,
    /// Default alarm rules for this point (`[[points.alarms]]`).
    #[serde(default)]
    pub alarms: Vec<AlarmDef>,
}

/// An alarm rule as a profile or site config writes it: the rule itself (`kind = …`)
/// plus what the incident policy and people need to know.
#[derive(Debug, Clone, Deserialize)]
pub struct AlarmDef {
    /// Incident category an alarm of this rule opens (`fire`, `water_ingress`, …).
    #[serde(default)]
    pub category: Option<String>,
    /// What the alarm says; the point's description when unset.
    #[serde(default)]
    pub message: Option<String>,
    /// What the alarm says in zh-CN; the point's zh name when unset and `message` is too.
    #[serde(default)]
    pub message_zh: Option<String>,
    /// The rule.
    #[serde(flatten)]
    pub spec: RuleSpec,
}

/// A point with its alarm rules, as [`Profile::alarm_points`] lists them.
#[derive(Debug)]
pub struct AlarmPoint<'a> {
    /// The point's name in the profile.
    pub name: &'a str,
    /// What it means, in English.
    pub description: &'a str,
    /// Its zh-CN display name (empty when the profile gives none).
    pub zh_name: &'a str,
    /// Its default alarm rules.
    pub alarms: &'a [AlarmDef],
}

fn one() -> f64 {
    1.0
}

/// The header of a profile file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    id: String,
    name: String,
    /// The manual the register map follows.
    manual: String,
    #[serde(default)]
    byte_order: Order,
    #[serde(default)]
    word_order: Order,
    /// MQTT topic pattern for devices of this profile; `{device}` is the device id.
    topic: Option<String>,
    /// Whether a register meter of this profile gets one Prometheus value series per
    /// point (issue 24); plant devices always do.
    #[serde(default)]
    point_series: bool,
}

/// A validated profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile id, referenced from the site config.
    pub id: String,
    /// Human name.
    pub name: String,
    /// The manual the map follows.
    pub manual: String,
    /// Points with their orders resolved.
    pub points: Vec<PointDef>,
    /// The Modbus reads covering `points`, planned once for every device of the profile
    /// (a plan per device held 0.4 MB at 1,000 devices).
    pub blocks: Vec<Block>,
    /// MQTT topic pattern (`zigbee2mqtt/{device}`), if the profile is read over MQTT.
    pub topic: Option<String>,
    /// Points read from MQTT messages.
    pub mqtt_points: Vec<MqttPointDef>,
    /// Where it came from, for `sitewatch check` and `sitewatch profiles`.
    pub source: ProfileSource,
    /// `point_series = true`: kept for profiles written for the first estate version,
    /// whose register meters could opt in to series of their own; register meters are
    /// now read into the estate's table and only its aggregates show them.
    pub point_series: bool,
}

/// Where a profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// Shipped in the binary (the repository's `devices/`).
    BuiltIn,
    /// A site's own file, a profile the binary does not have.
    File(PathBuf),
    /// A site's own file that replaces the built-in profile of the same id.
    Override(PathBuf),
}

impl std::fmt::Display for ProfileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileSource::BuiltIn => f.write_str("built in"),
            ProfileSource::File(p) => write!(f, "{}", p.display()),
            ProfileSource::Override(p) => write!(f, "{} (overrides the built-in one)", p.display()),
        }
    }
}

impl Profile {
    /// Parses and validates one profile; `file` is only used in messages.
    pub fn parse(file: &Path, text: &str) -> Result<Profile, Problems> {
        let mut doc = Document::parse(file, text);
        doc.refuse_unknown(&["profile", "points", "mqtt_points"]);
        let header: Option<Header> = doc.required("profile");
        let raw_points = doc.list::<PointDef>("points");
        let raw_mqtt_points = doc.list::<MqttPointDef>("mqtt_points");
        let mut problems = doc.problems;
        let Some(header) = header else {
            problems.sort();
            return Err(problems);
        };
        let mut seen = HashSet::new();
        let mut points = Vec::new();
        for spanned in raw_points {
            let at = |reason: String| Problem::at(file, text, spanned.span().start, reason);
            let mut p = spanned.get_ref().clone();
            p.byte_order.get_or_insert(header.byte_order);
            p.word_order.get_or_insert(header.word_order);
            if !seen.insert(p.name.clone()) {
                problems.push(at(format!("duplicate point name `{}`", p.name)));
            }
            if let Err(reason) = check_point(&p) {
                problems.push(at(format!("point `{}`: {reason}", p.name)));
            }
            points.push(p);
        }
        let mqtt_points = mqtt_points(file, text, raw_mqtt_points, &mut seen, &mut problems);
        if let Some(Err(reason)) = header.topic.as_deref().map(binding::check_topic) {
            problems.push(Problem::at(
                file,
                text,
                text.find("topic").unwrap_or(0),
                reason,
            ));
        }
        problems.sort();
        problems.into_result(Profile {
            id: header.id,
            name: header.name,
            manual: header.manual,
            blocks: plan(&points),
            points,
            topic: header.topic,
            mqtt_points,
            source: ProfileSource::File(file.to_path_buf()),
            point_series: header.point_series,
        })
    }

    /// Every point, Modbus and MQTT, with its description and default alarm rules.
    pub fn alarm_points(&self) -> impl Iterator<Item = AlarmPoint<'_>> {
        let modbus = self.points.iter().map(|p| AlarmPoint {
            name: &p.name,
            description: &p.description,
            zh_name: &p.zh.name,
            alarms: &p.alarms,
        });
        let mqtt = self.mqtt_points.iter().map(|p| AlarmPoint {
            name: &p.name,
            description: &p.description,
            zh_name: &p.zh.name,
            alarms: &p.alarms,
        });
        modbus.chain(mqtt)
    }

    /// A point's description and state names, Modbus or MQTT.
    pub fn describe(&self, name: &str) -> Option<(&str, &BTreeMap<String, String>, &Localized)> {
        let modbus = self.points.iter().find(|p| p.name == name);
        let mqtt = self.mqtt_points.iter().find(|p| p.name == name);
        modbus
            .map(|p| (p.description.as_str(), &p.states, &p.zh))
            .or_else(|| mqtt.map(|p| (p.description.as_str(), &p.states, &p.zh)))
    }
}

fn mqtt_points(
    file: &Path,
    text: &str,
    raw: Vec<Spanned<MqttPointDef>>,
    seen: &mut HashSet<String>,
    problems: &mut Problems,
) -> Vec<MqttPointDef> {
    let mut out = Vec::new();
    for spanned in raw {
        let start = spanned.span().start;
        let at = |reason: String| Problem::at(file, text, start, reason);
        let p = spanned.into_inner();
        if !seen.insert(p.name.clone()) {
            problems.push(at(format!("duplicate point name `{}`", p.name)));
        }
        let checked = check_name(&p.name)
            .and_then(|()| binding::check(&p))
            .and_then(|()| check_alarms(&p.alarms));
        if let Err(reason) = checked {
            problems.push(at(format!("point `{}`: {reason}", p.name)));
        }
        out.push(p);
    }
    out
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    if name.is_empty() || !name.chars().all(ok) {
        return Err("name must be lower-case letters, digits and `_`".into());
    }
    Ok(())
}

fn check_point(p: &PointDef) -> Result<(), String> {
    if p.name.is_empty()
        || !p
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err("name must be lower-case letters, digits and `_`".into());
    }
    if p.table.is_bits() && p.data_type != DataType::Bit {
        return Err(format!("a {:?} table holds bits: type must be `bit`", p.table).to_lowercase());
    }
    let needs_bit = matches!(p.data_type, DataType::Bit | DataType::Bitfield) && !p.table.is_bits();
    match (needs_bit, p.bit) {
        (true, None) => return Err("`bit` is required for a bit in a register".into()),
        (true, Some(b)) if b > 15 => return Err(format!("bit {b} is outside 0..=15")),
        _ => {}
    }
    if p.data_type == DataType::Bitfield {
        let width = p.bits.ok_or("`bits` is required for a bitfield")?;
        if width == 0 || u16::from(p.bit.unwrap_or(0)) + u16::from(width) > 16 {
            return Err(format!(
                "bitfield of {width} bits does not fit in a register"
            ));
        }
    }
    if p.data_type == DataType::Enum {
        check_states(p)?;
    }
    if u32::from(p.address) + u32::from(p.data_type.words()) > 65536 {
        return Err("registers run past address 65535".into());
    }
    if !p.scale.is_finite() || p.scale == 0.0 || !p.offset.is_finite() {
        return Err("scale must be finite and non-zero, offset finite".into());
    }
    check_alarms(&p.alarms)
}

/// Each default alarm rule is valid in itself, so a broken one is reported here, in the
/// profile, rather than by the site that uses it.
fn check_alarms(alarms: &[AlarmDef]) -> Result<(), String> {
    alarms
        .iter()
        .try_for_each(|a| a.spec.validate().map_err(|r| format!("alarm rule: {r}")))
}

/// An enumeration names its codes: at least one, each a register value.
fn check_states(p: &PointDef) -> Result<(), String> {
    if p.states.is_empty() {
        return Err("an `enum` needs its `states` (code = \"name\")".into());
    }
    if p.scale != 1.0 || p.offset != 0.0 {
        return Err("an `enum` is a code: it takes no scale or offset".into());
    }
    match p.states.keys().find(|k| k.parse::<u16>().is_err()) {
        Some(k) => Err(format!(
            "state code `{k}` is not a register value 0..=65535"
        )),
        None => Ok(()),
    }
}

/// Largest register read Modbus allows in one request.
pub(crate) const MAX_WORDS: u16 = 125;
/// Largest bit read Modbus allows in one request.
const MAX_BITS: u16 = 2000;

/// One read request covering contiguous points of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The table read.
    pub table: Table,
    /// First address.
    pub start: u16,
    /// Registers or bits read.
    pub count: u16,
    /// Indexes into the profile's points.
    pub points: Vec<usize>,
}

/// Coalesces a profile's points into as few contiguous reads as the Modbus limits allow.
pub fn plan(points: &[PointDef]) -> Vec<Block> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].table, points[i].address));
    let mut blocks: Vec<Block> = Vec::new();
    for i in order {
        let p = &points[i];
        let width = if p.table.is_bits() {
            1
        } else {
            p.data_type.words()
        };
        let limit = if p.table.is_bits() {
            MAX_BITS
        } else {
            MAX_WORDS
        };
        if let Some(b) = blocks.last_mut().filter(|b| b.table == p.table) {
            let end = b.start + b.count;
            let new_end = (p.address + width).max(end);
            if p.address <= end && new_end - b.start <= limit {
                b.count = new_end - b.start;
                b.points.push(i);
                continue;
            }
        }
        blocks.push(Block {
            table: p.table,
            start: p.address,
            count: width,
            points: vec![i],
        });
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[profile]
id = "t"
name = "Test"
manual = "none"

[[points]]
name = "power"
table = "input"
address = 12
type = "f32"
unit = "W"
"#;

    #[test]
    fn valid_profile_resolves_default_orders() {
        let p = Profile::parse(Path::new("t.toml"), GOOD).expect("valid");
        assert_eq!(p.points[0].word_order, Some(Order::Big));
        assert_eq!(p.points[0].unit, "W");
    }

    #[test]
    fn broken_point_is_reported_with_file_and_line() {
        let text = format!(
            "{GOOD}\n[[points]]\nname = \"run\"\ntable = \"holding\"\naddress = 1\ntype = \"bit\"\n"
        );
        let err = Profile::parse(Path::new("devices/t.toml"), &text).expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.contains("devices/t.toml:14:"), "{msg}");
        assert!(msg.contains("`bit` is required"), "{msg}");
    }

    #[test]
    fn alarm_rules_ride_on_points() {
        let text = format!(
            "{GOOD}[[points.alarms]]\nkind = \"high\"\nlimit = 80.0\ndeadband = 2.0\npriority = \"high\"\ncategory = \"equipment_damage\"\n"
        );
        let p = Profile::parse(Path::new("t.toml"), &text).expect("valid");
        let def = &p.points[0].alarms[0];
        assert_eq!(def.category.as_deref(), Some("equipment_damage"));
        assert!(matches!(def.spec, RuleSpec::High(_)));
    }

    #[test]
    fn misspelt_alarm_field_is_refused() {
        let text = format!("{GOOD}[[points.alarms]]\nkind = \"high\"\nlimt = 80.0\n");
        let msg = Profile::parse(Path::new("t.toml"), &text)
            .expect_err("invalid")
            .to_string();
        assert!(msg.contains("limt") || msg.contains("limit"), "{msg}");
    }

    #[test]
    fn mqtt_points_are_read_and_checked_with_their_line() {
        let text = format!(
            "{GOOD}\n[[mqtt_points]]\nname = \"leak\"\npath = \"water_leak\"\nstale_after = \"2h\"\n\n[[mqtt_points]]\nname = \"power\"\npath = \"a..b\"\n"
        );
        let msg = Profile::parse(Path::new("p.toml"), &text)
            .expect_err("invalid")
            .to_string();
        assert!(
            msg.contains("p.toml:21:") && msg.contains("empty key"),
            "{msg}"
        );
        let ok = text.replace("\n[[mqtt_points]]\nname = \"power\"\npath = \"a..b\"\n", "");
        let p = Profile::parse(Path::new("p.toml"), &ok).expect("valid");
        assert_eq!(
            p.mqtt_points[0].stale_after,
            Some(std::time::Duration::from_secs(7200))
        );
        assert_eq!(p.describe("leak").map(|d| d.0), Some(""));
    }

    #[test]
    fn an_enum_needs_numeric_state_codes() {
        let point =
            "\n[[points]]\nname = \"mode\"\ntable = \"holding\"\naddress = 3\ntype = \"enum\"\n";
        let bare = format!("{GOOD}{point}");
        let msg = Profile::parse(Path::new("d.toml"), &bare)
            .expect_err("an enum without states")
            .to_string();
        assert!(
            msg.contains("d.toml:14:") && msg.contains("`states`"),
            "{msg}"
        );
        let named = format!("{bare}states = {{ 0 = \"stopped\", run = \"running\" }}\n");
        let msg = Profile::parse(Path::new("d.toml"), &named)
            .expect_err("a state code that is not a number")
            .to_string();
        assert!(msg.contains("`run`"), "{msg}");
        let good = format!("{bare}states = {{ 0 = \"stopped\", 1 = \"running\" }}\n");
        let p = Profile::parse(Path::new("d.toml"), &good).expect("valid");
        assert_eq!(p.points[1].data_type, DataType::Enum);
    }

    #[test]
    fn every_broken_point_is_reported_not_only_the_first() {
        let bad = "\n[[points]]\nname = \"a\"\ntable = \"holding\"\naddress = 70000\ntype = \"u16\"\n\n[[points]]\nname = \"b\"\ntable = \"cupboard\"\naddress = 1\ntype = \"u16\"\n\n[[points]]\nname = \"c\"\ntable = \"coil\"\naddress = 1\ntype = \"f32\"\n";
        let msg = Profile::parse(Path::new("p.toml"), &format!("{GOOD}{bad}"))
            .expect_err("invalid")
            .to_string();
        let lines: Vec<&str> = msg.lines().collect();
        assert_eq!(lines.len(), 3, "{msg}");
        assert!(
            lines[0].starts_with("p.toml:17:") && lines[0].contains("70000"),
            "{msg}"
        );
        assert!(
            lines[1].starts_with("p.toml:22:") && lines[1].contains("cupboard"),
            "{msg}"
        );
        assert!(lines[2].starts_with("p.toml:26:1: point `c`"), "{msg}");
    }

    #[test]
    fn unknown_field_is_reported_with_line() {
        let text = GOOD.replace("unit = \"W\"", "unit = \"W\"\nscael = 2");
        let msg = Profile::parse(Path::new("x.toml"), &text)
            .expect_err("invalid")
            .to_string();
        assert!(msg.starts_with("x.toml:13:"), "{msg}");
        assert!(msg.contains("scael"), "{msg}");
    }
}
