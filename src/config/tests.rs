use super::*;

fn parse(text: &str) -> Result<Config, Problems> {
    Config::parse(Path::new("site.toml"), text, None)
}

#[test]
fn demo_config_is_valid_with_builtin_profiles() {
    let config = parse(DEMO_CONFIG).expect("demo config is valid");
    assert_eq!(config.devices.len(), 8);
    assert_eq!(config.site.timezone, "Asia/Shanghai");
    assert_eq!(config.site.tz(), chrono_tz::Asia::Shanghai);
    assert_eq!(config.devices[0].profile.id, "eastron_sdm630");
}

#[test]
fn the_site_time_zone_is_the_one_written() {
    let text = DEMO_CONFIG.replace("Asia/Shanghai", "Europe/Berlin");
    assert_ne!(text, DEMO_CONFIG, "the demo config names its zone");
    let config = parse(&text).expect("valid");
    assert_eq!(config.site.tz(), chrono_tz::Europe::Berlin);
}

#[test]
fn demo_config_is_valid_with_profiles_from_disk() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/site.toml");
    let config = Config::load(&path).expect("valid");
    assert_eq!(config.devices.len(), 8);
}

#[test]
fn every_problem_is_reported_with_its_line() {
    let text = r#"
[site]
id = "x"
name = "X"
timezone = "Mars/Olympus"

[[devices]]
id = "a"
name = "A"
profile = "no_such_profile"
modbus = { address = "127.0.0.1:502", unit_id = 2 }

[[devices]]
id = "a"
name = "A again"
profile = "eastron_sdm630"
modbus = { address = "127.0.0.1:502" }
"#;
    let problems = parse(text).expect_err("invalid");
    let lines: Vec<String> = problems.0.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("site.toml:5:1: unknown time zone"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("site.toml:7:") && lines[1].contains("unknown profile"),
        "{lines:?}"
    );
    assert!(lines[2].contains("site.toml:13:") && lines[2].contains("duplicate device id"));
}

#[test]
fn syntax_error_names_file_line_and_reason() {
    let problems = parse("[site]\nid = \"x\"\nname = \n").expect_err("invalid");
    let msg = problems.to_string();
    assert!(msg.starts_with("site.toml:3:"), "{msg}");
}

#[test]
fn unknown_keys_are_refused() {
    let msg = parse("[site]\nid = \"x\"\nname = \"X\"\ncolour = \"red\"\n")
        .expect_err("invalid")
        .to_string();
    assert!(
        msg.contains("site.toml:4:") && msg.contains("colour"),
        "{msg}"
    );
}

#[test]
fn a_device_gives_exactly_one_source_and_mqtt_needs_a_broker_url_that_parses() {
    let text = r#"
[site]
id = "x"
name = "X"

[mqtt]
url = "http://broker"

[[devices]]
id = "both"
name = "Both"
profile = "eastron_sdm630"
modbus = { address = "127.0.0.1:502" }
mqtt = { topic = "a/b" }

[[devices]]
id = "neither"
name = "Neither"
profile = "zigbee_water_leak"

[[devices]]
id = "wrong_kind"
name = "Modbus profile over MQTT"
profile = "eastron_sdm630"
mqtt = { topic = "a/b" }

[[devices]]
id = "no_topic"
name = "Plain value without a topic"
profile = "mqtt_plain_value"
mqtt = {}
"#;
    let lines: Vec<String> = parse(text)
        .expect_err("invalid")
        .0
        .iter()
        .map(ToString::to_string)
        .collect();
    let expect = [
        "site.toml:6:1: mqtt url `http://broker`",
        "site.toml:9:1: device `both`: give exactly one of `modbus` or `mqtt`",
        "site.toml:16:1: device `neither`: give exactly one of `modbus` or `mqtt`",
        "site.toml:21:1: device `wrong_kind`: profile `eastron_sdm630` has no mqtt_points",
        "site.toml:27:1: device `no_topic`: no mqtt topic",
    ];
    assert_eq!(lines.len(), expect.len(), "{lines:?}");
    for (line, want) in lines.iter().zip(expect) {
        assert!(line.starts_with(want), "{line} should start with {want}");
    }
}

#[test]
fn mqtt_device_takes_its_topic_from_the_profile_pattern() {
    let text = r#"
[site]
id = "x"
name = "X"

[[devices]]
id = "leak_b1_pump_room"
name = "Leak"
profile = "zigbee_water_leak"
mqtt = {}
"#;
    let config = parse(text).expect("valid");
    let topic = config.devices[0].mqtt_topic();
    assert_eq!(topic.as_deref(), Some("zigbee2mqtt/leak_b1_pump_room"));
    assert!(config.uses_mqtt());
}

const SITE: &str = "[site]\nid = \"x\"\nname = \"X\"\n";

#[test]
fn rtu_devices_take_a_serial_line_with_defaults() {
    let text = format!(
        "{SITE}\n[[devices]]\nid = \"lt\"\nname = \"L\"\nprofile = \"eastron_sdm630\"\nmodbus = {{ transport = \"rtu\", unit_id = 7, serial = {{ path = \"/dev/ttyUSB0\", parity = \"even\" }} }}\n"
    );
    let config = parse(&text).expect("valid");
    let m = config.devices[0].config.modbus.as_ref().expect("modbus");
    let serial = m.serial.as_ref().expect("serial");
    assert_eq!((serial.baud_rate, serial.parity), (9600, Parity::Even));
    assert_eq!((serial.data_bits, serial.stop_bits), (8, 1));
    assert_eq!(m.bus_key(), "rtu:///dev/ttyUSB0");
}

#[test]
fn bad_transport_settings_are_reported_with_their_line() {
    let text = format!(
        "{SITE}
[[devices]]
id = \"a\"
name = \"A\"
profile = \"eastron_sdm630\"
modbus = {{ transport = \"rtu\" }}

[[devices]]
id = \"b\"
name = \"B\"
profile = \"eastron_sdm630\"
modbus = {{ transport = \"rtu\", serial = {{ path = \"/dev/ttyS1\", data_bits = 9, stop_bits = 3 }} }}

[[devices]]
id = \"c\"
name = \"C\"
profile = \"eastron_sdm630\"
modbus = {{ transport = \"rtu_over_tcp\", address = \"10.0.0.9:4001\", unit_id = 2 }}

[[devices]]
id = \"d\"
name = \"D\"
profile = \"eastron_sdm630\"
modbus = {{ transport = \"rtu_over_tcp\", address = \"10.0.0.9:4001\", unit_id = 2 }}
"
    );
    let lines: Vec<String> = parse(&text)
        .expect_err("invalid")
        .0
        .iter()
        .map(ToString::to_string)
        .collect();
    let has = |line: &str, what: &str| lines.iter().any(|l| l.contains(line) && l.contains(what));
    assert!(has("site.toml:5:", "needs `serial`"), "{lines:?}");
    assert!(has("site.toml:11:", "data_bits` 9"), "{lines:?}");
    assert!(has("site.toml:11:", "stop_bits` 3"), "{lines:?}");
    assert!(
        has(
            "site.toml:23:",
            "unit id 2 on rtu+tcp://10.0.0.9:4001 is already `c`"
        ),
        "{lines:?}"
    );
}

#[test]
fn unknown_serial_keys_are_refused() {
    let text = format!(
        "{SITE}\n[[devices]]\nid = \"a\"\nname = \"A\"\nprofile = \"eastron_sdm630\"\nmodbus = {{ transport = \"rtu\", serial = {{ path = \"/dev/x\", baud = 9600 }} }}\n"
    );
    let msg = parse(&text).expect_err("invalid").to_string();
    assert!(
        msg.contains("site.toml:9:") && msg.contains("baud"),
        "{msg}"
    );
}

#[test]
fn broker_certificates_need_tls_and_come_in_pairs() {
    let plain = format!("{SITE}\n[mqtt]\nurl = \"mqtt://b\"\nca_file = \"ca.pem\"\n");
    let msg = parse(&plain).expect_err("a CA on plain MQTT").to_string();
    assert!(
        msg.contains("site.toml:5:1") && msg.contains("need an `mqtts://` url"),
        "{msg}"
    );
    let half = format!("{SITE}\n[mqtt]\nurl = \"mqtts://b\"\nclient_cert = \"me.pem\"\n");
    let msg = parse(&half)
        .expect_err("a certificate without its key")
        .to_string();
    assert!(msg.contains("`client_key` go together"), "{msg}");
    let full = format!(
        "{SITE}\n[mqtt]\nurl = \"mqtts://b\"\nca_file = \"ca.pem\"\nclient_cert = \"me.pem\"\nclient_key = \"me.key\"\n"
    );
    let config = Config::parse(
        Path::new("/etc/sw/site.toml"),
        &full,
        Some(Path::new("/etc/sw")),
    )
    .expect("valid");
    assert_eq!(
        config.mqtt.ca_file.as_deref(),
        Some(Path::new("/etc/sw/ca.pem"))
    );
}

#[test]
fn kpi_targets_default_to_the_manuals_and_are_editable() {
    let base = "[site]\nid = \"x\"\nname = \"X\"\n";
    let config = parse(base).expect("valid");
    assert_eq!(config.kpis.satisfaction, 0.95);
    assert_eq!(config.kpis.follow_up_rate, 1.0);
    let edited = parse(&format!("{base}[kpis]\nsatisfaction = 0.85\n")).expect("valid");
    assert_eq!(edited.kpis.satisfaction, 0.85);
    assert_eq!(edited.kpis.repairs_in_time, 0.95);
    let err = parse(&format!("{base}[kpis]\nsatisfied = 0.85\n")).unwrap_err();
    assert!(err.to_string().contains("satisfied"), "{err}");
}

#[test]
fn notify_problems_point_at_their_lines_and_defaults_fill_the_rest() {
    let text = r#"
[site]
id = "x"
name = "X"

[notify]

[notify.smtp]
host = "127.0.0.1"
from = "not an address"

[notify.webhook]
url = "ftp://gateway"
"#;
    let problems = parse(text).expect_err("invalid");
    let lines: Vec<String> = problems.0.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("site.toml:10:1:") && lines[0].contains("from"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("site.toml:12:1:") && lines[1].contains("scheme `ftp`"),
        "{lines:?}"
    );

    let ok =
        "[site]\nid = \"x\"\nname = \"X\"\n\n[notify.smtp]\nhost = \"mail\"\nfrom = \"a@b.cn\"\n";
    let notify = parse(ok).expect("valid").notify.expect("[notify] set");
    let smtp = notify.smtp.expect("smtp");
    assert_eq!((smtp.tls, smtp.port()), (TlsMode::Starttls, 587));
    assert_eq!((notify.retry.attempts, notify.rate_limit.messages), (6, 3));
    assert_eq!(notify.retry.delay(1), std::time::Duration::from_secs(30));
    assert_eq!(notify.retry.delay(20), std::time::Duration::from_secs(1800));
    assert!(
        parse("[site]\nid = \"x\"\nname = \"X\"\n")
            .expect("valid")
            .notify
            .is_none()
    );
}

#[test]
fn broker_stats_are_read_unless_turned_off() {
    let on = parse(&format!("{SITE}\n[mqtt]\nurl = \"mqtt://b\"\n")).expect("valid");
    assert!(on.mqtt.broker_stats);
    let off = format!("{SITE}\n[mqtt]\nurl = \"mqtt://b\"\nbroker_stats = false\n");
    assert!(!parse(&off).expect("valid").mqtt.broker_stats);
}

fn lines(text: &str) -> Vec<String> {
    parse(text)
        .expect_err("invalid")
        .0
        .iter()
        .map(ToString::to_string)
        .collect()
}

const METER: &str =
    "name = \"M\"\nprofile = \"eastron_sdm630\"\nmodbus = { address = \"127.0.0.1:502\" }\n";

#[test]
fn a_duplicate_device_is_one_problem_not_also_duplicate_alarm_rules() {
    let text =
        format!("{SITE}\n[[devices]]\nid = \"m\"\n{METER}\n[[devices]]\nid = \"m\"\n{METER}");
    assert_eq!(
        lines(&text),
        ["site.toml:11:1: duplicate device id `m`"],
        "the second entry's rules are not bound again, so nothing is reported at 1:1"
    );
}

#[test]
fn problems_in_every_section_are_reported_once_each_in_file_order() {
    let text = format!(
        "[site]\nid = \"x\"\nname = \"X\"\ntimezone = \"Mars/Olympus\"\n
[http]\nlisten = \"not an address\"\n
[[devices]]\nid = \"a\"\n{METER}colour = \"red\"\n
[[devices]]\nid = \"b\"\nname = \"B\"\nprofile = \"eastron_sdm630\"\nmodbus = {{ address = \"127.0.0.1:502\" }}\nunit = \n
[[devices]]\nid = \"c\"\n{}
[[alarm_rules]]\npoint = \"c.no_such_point\"\nkind = \"high\"\nlimit = 1.0\npriority = \"high\"\n
[patrol]\nrounds = 3\n",
        METER.replace("502", "503")
    );
    let got = lines(&text);
    let want = [
        "site.toml:4:1: unknown time zone",
        "site.toml:7:10: invalid socket address",
        "site.toml:14:1: unknown field `colour`",
        "site.toml:21:8: string values must be quoted",
        "site.toml:29:1: alarm rule for unknown point `c.no_such_point`",
        "site.toml:36:1: unknown field `rounds`",
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (line, want) in got.iter().zip(want) {
        assert!(
            line.starts_with(want),
            "{line} should start with {want}: {got:#?}"
        );
    }
}

#[test]
fn a_rule_for_a_device_already_reported_is_not_reported_again() {
    let text = format!(
        "{SITE}\n[[devices]]\nid = \"m\"\nname = \"M\"\nprofile = \"gone\"\nmodbus = {{ address = \"127.0.0.1:502\" }}\n
[[alarm_rules]]\npoint = \"m.voltage_l1\"\nkind = \"high\"\nlimit = 1.0\npriority = \"high\"\n"
    );
    assert_eq!(
        lines(&text),
        ["site.toml:5:1: device `m`: unknown profile `gone`"]
    );
}

#[test]
fn an_invalid_site_rule_is_reported_at_its_own_line() {
    let text = format!(
        "{SITE}\n[[devices]]\nid = \"m\"\n{METER}\n[[alarm_rules]]\npoint = \"m.voltage_l1\"\nkind = \"high\"\nlimit = 1.0\ndeadband = -1.0\npriority = \"high\"\n"
    );
    let got = lines(&text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("site.toml:11:1: alarm rule for `m.voltage_l1`"),
        "{got:?}"
    );
}

/// rules.md §14 Repairs/Complaints: `[service]` defaults to the product defaults, a site
/// replaces a kind's list, and `check` names the file and line of every problem.
#[test]
fn service_deadlines_default_to_section_14_and_a_site_sets_its_own() {
    use sitewatch_core::incidents::{SlaKind, Span};
    let base = "[site]\nid = \"x\"\nname = \"X\"\n";
    let config = parse(base).expect("valid");
    assert_eq!(config.service, ServiceConfig::default());
    let on_site = |c: &Config| {
        c.service
            .ordinary_repair
            .iter()
            .find(|r| r.sla == SlaKind::OnSite)
            .map(|r| r.within)
    };
    assert_eq!(on_site(&config), Some(Span::Hours(24)));
    let own = format!(
        "{base}[service]\nordinary_repair = [{{ sla = \"on_site\", anchor = \"reported\", within = {{ hours = 4 }} }}]\n"
    );
    assert_eq!(on_site(&parse(&own).expect("valid")), Some(Span::Hours(4)));

    let unknown = lines(&format!("{base}\n[service]\nrepairs = []\n"));
    assert!(
        unknown.len() == 1
            && unknown[0].starts_with("site.toml:6:")
            && unknown[0].contains("repairs"),
        "{unknown:?}"
    );
    let wrong = lines(&format!(
        "{base}\n[service]\ncomplaint = [{{ sla = \"claim_notice\", anchor = \"reported\", within = {{ days = 0 }} }}]\n"
    ));
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    assert!(
        wrong.iter().all(|l| l.starts_with("site.toml:5:")),
        "{wrong:?}"
    );
    assert!(
        wrong[0].contains("never meets `claim_notice`")
            || wrong[1].contains("never meets `claim_notice`"),
        "{wrong:?}"
    );
}

/// rules.md §14 Meters: a meter of a device that serves a unit gets the vacant-consumption
/// rule for that unit with no rule written for it; the demo's unit meter shows it.
#[test]
fn a_unit_meter_gets_the_vacant_consumption_rule_by_itself() {
    let config = parse(DEMO_CONFIG).expect("demo config is valid");
    let vacant: Vec<(&str, Option<&str>)> = (config.alarm_rules.iter())
        .filter_map(|r| match &r.spec {
            sitewatch_core::alarms::RuleSpec::VacantConsumption(v) => {
                Some((r.point.as_str(), Some(v.unit.as_str())))
            }
            _ => None,
        })
        .collect();
    assert_eq!(vacant, [("em_1_0302.import_energy", Some("1-0302"))]);
}

/// rules.md §14 Complaints, §1.4: desk hours default to 08:30–22:00, a site sets its own,
/// and hours that close before they open, or a desk-hours clock counted in days, are
/// refused at their line.
#[test]
fn desk_hours_default_to_the_park_desk_and_a_site_sets_its_own() {
    use chrono::NaiveTime;
    let base = "[site]\nid = \"x\"\nname = \"X\"\n";
    let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("time");
    let config = parse(base).expect("valid");
    assert_eq!(config.service.desk_hours.opens, hm(8, 30));
    assert_eq!(config.service.desk_hours.closes, hm(22, 0));
    assert!(config.service.complaint[0].desk_hours);
    let own =
        format!("{base}[service]\ndesk_hours = {{ opens = \"08:50\", closes = \"17:30\" }}\n");
    let own = parse(&own).expect("valid");
    assert_eq!(own.service.desk_hours.opens, hm(8, 50));
    let backwards = lines(&format!(
        "{base}\n[service]\n\ndesk_hours = {{ opens = \"22:00\", closes = \"08:30\" }}\n"
    ));
    assert!(
        backwards.len() == 1
            && backwards[0].starts_with("site.toml:7:")
            && backwards[0].contains("not before closes"),
        "{backwards:?}"
    );
    let in_days = lines(&format!(
        "{base}[service]\ncomplaint = [{{ sla = \"acknowledged\", anchor = \"reported\", within = {{ days = 1 }}, desk_hours = true }}]\n"
    ));
    assert!(
        in_days.len() == 1 && in_days[0].contains("counts desk hours in minutes or hours"),
        "{in_days:?}"
    );
}

/// Issue 20: the desks' Chinese page shows each alarm's zh message. Every alarm of every
/// built-in profile (the demo site binds them all) has one, so the demo warns of none.
#[test]
fn every_builtin_profile_alarm_has_a_zh_message() {
    let config = parse(DEMO_CONFIG).expect("demo config is valid");
    assert!(!config.alarm_rules.is_empty());
    let without: Vec<&str> = (config.alarm_rules.iter())
        .filter(|r| r.message_zh.as_deref().is_none_or(str::is_empty))
        .map(|r| r.id.as_str())
        .collect();
    assert!(without.is_empty(), "no zh message: {without:?}");
    let warned: Vec<String> = config.warnings.0.iter().map(|w| w.to_string()).collect();
    assert!(
        !warned.iter().any(|w| w.contains("message_zh")),
        "{warned:?}"
    );
}

/// A site rule may word its message in both languages; one with English only is still
/// valid (configs written before `message_zh`) and `check` warns that the Chinese page
/// will show the English.
#[test]
fn a_site_rule_carries_its_zh_message_and_english_only_is_a_warning() {
    let rule = |extra: &str| {
        format!(
            "{SITE}\n[[devices]]\nid = \"m\"\n{METER}\n[[alarm_rules]]\npoint = \"m.voltage_l1\"\nkind = \"high\"\nlimit = 250.0\npriority = \"high\"\nmessage = \"Riser voltage high\"\n{extra}"
        )
    };
    let both = parse(&rule("message_zh = \"竖井电压过高\"\n")).expect("valid");
    let r = &both.alarm_rules[0];
    assert_eq!(r.message, "Riser voltage high");
    assert_eq!(r.message_zh.as_deref(), Some("竖井电压过高"));
    assert!(both.warnings.0.is_empty(), "{}", both.warnings);
    let english = parse(&rule("")).expect("an English-only rule stays valid");
    assert_eq!(english.alarm_rules[0].message_zh, None);
    let warned = english.warnings.to_string();
    assert!(
        warned.contains("m.voltage_l1:high") && warned.contains("message_zh"),
        "{warned}"
    );
}

#[test]
fn gateways_are_checked_each_at_its_line() {
    let text = r#"[site]
id = "x"
name = "X"

[[devices]]
id = "em_b1"
name = "Meter"
profile = "eastron_sdm630"
modbus = { address = "10.0.0.5:502" }

[[gateways]]
id = "gw_1"
address = "10.0.0.9:502"

[[gateways]]
id = "gw_1"
address = "10.0.0.10:502"

[[gateways]]
id = "gw_2"

[[gateways]]
id = "gw_3"
address = "10.0.0.5:502"
"#;
    let problems = parse(text).expect_err("bad gateways");
    let lines: Vec<String> = problems.0.iter().map(ToString::to_string).collect();
    let said = |line: u32, what: &str| {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("site.toml:{line}:")) && l.contains(what)),
            "line {line} should say `{what}`: {lines:?}"
        );
    };
    said(15, "duplicate gateway id `gw_1`");
    said(19, "gateway `gw_2`: `address` is required");
    said(22, "already a plant device's connection");
    assert_eq!(lines.len(), 3, "{lines:?}");
}

#[test]
fn central_section_is_checked_with_file_and_line_and_absent_changes_nothing() {
    let site = "[site]\nid = \"north\"\nname = \"N\"\n";
    assert!(parse(site).expect("valid").central.is_none());
    let text = format!("{site}\n[central]\nurl = \"http://hq\"\nsite_id = \"north estate\"\n");
    let msg = parse(&text).expect_err("invalid").to_string();
    assert!(
        msg.contains("site.toml:6:") && msg.contains("nats://"),
        "{msg}"
    );
    assert!(
        msg.contains("site.toml:7:") && msg.contains("subject token"),
        "{msg}"
    );
    let text = format!("{site}\n[central]\nurl = \"nats://hq:4222\"\nhistory = \"some\"\n");
    let msg = parse(&text).expect_err("invalid").to_string();
    assert!(
        msg.contains("site.toml:7:") && msg.contains("`some`"),
        "{msg}"
    );
    let good = format!("{site}\n[central]\nurl = \"nats://hq:4222\"\n");
    let central = parse(&good).expect("valid").central.expect("set");
    assert_eq!(central.history, central::HistoryLevel::Recorded);
    assert_eq!(central.site_id("north"), "north");
    assert_eq!(central.buffer_bytes(), 512 << 20);
}
