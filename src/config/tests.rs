use super::*;

fn parse(text: &str) -> Result<Config, Problems> {
    Config::parse(Path::new("site.toml"), text, None)
}

#[test]
fn demo_config_is_valid_with_builtin_profiles() {
    let config = parse(DEMO_CONFIG).expect("demo config is valid");
    assert_eq!(config.devices.len(), 6);
    assert_eq!(config.site.timezone, "Asia/Shanghai");
    assert_eq!(config.devices[0].profile.id, "eastron_sdm630");
}

#[test]
fn demo_config_is_valid_with_profiles_from_disk() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo/site.toml");
    let config = Config::load(&path).expect("valid");
    assert_eq!(config.devices.len(), 6);
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
modbus = { address = "127.0.0.1:502" }

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
        "site.toml:9:1: device `both`: give exactly one of `modbus` or `mqtt`",
        "site.toml:16:1: device `neither`: give exactly one of `modbus` or `mqtt`",
        "site.toml:21:1: device `wrong_kind`: profile `eastron_sdm630` has no mqtt_points",
        "site.toml:27:1: device `no_topic`: no mqtt topic",
        "site.toml:6:1: mqtt url `http://broker`",
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
