//! Modbus at production depth, against the real simulator over TCP and over a
//! pseudo-terminal pair (RTU): late replies never answer later requests, a dead device
//! recovers by itself, slow devices cost only their own bus, exceptions are explained,
//! overloaded buses skip polls instead of queueing them, bits and enumerations arrive.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sitewatch::devices::simulator::Simulator;
use sitewatch::devices::{self};

use crate::helpers::{
    Db, TestApp, eventually, fresh_db, metric, site_config, spawn_app, spawn_app_on,
};

const WAIT: Duration = Duration::from_secs(10);

/// Waits until every `(point, value)` shows good in the API.
async fn values_show(app: &TestApp, want: &[(&str, f64)]) {
    eventually(&format!("{want:?} in the API"), WAIT, || async {
        all_right(app, want).await.then_some(())
    })
    .await;
}

async fn all_right(app: &TestApp, want: &[(&str, f64)]) -> bool {
    let v = app.get_json("/api/v1/points").await;
    let points = v["points"].as_array().cloned().unwrap_or_default();
    want.iter().all(|(id, value)| {
        points.iter().any(|p| {
            p["id"] == *id && p["value"].as_f64() == Some(*value) && p["quality"] == "good"
        })
    })
}

/// The values stay right over several further polls (a reply one request behind would
/// put one block's registers under another block's points).
async fn values_stay(app: &TestApp, want: &[(&str, f64)]) {
    for _ in 0..6 {
        assert!(
            all_right(app, want).await,
            "values moved away from {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn counter(app: &TestApp, series: &str) -> f64 {
    metric(&app.metrics().await, series).unwrap_or(0.0)
}

async fn counter_rises(app: &TestApp, series: &str) {
    eventually(&format!("{series} > 0"), WAIT, || async {
        (counter(app, series).await > 0.0).then_some(())
    })
    .await;
}

fn pin(sim: &Simulator, unit: u8, values: &[(&str, f64)]) {
    for (id, v) in values {
        let point = id.split_once('.').map_or(*id, |x| x.1);
        sim.set(unit, point, *v);
    }
}

/// Pins the energy meter (three blocks) and the pump, makes the meter answer later than
/// its timeout, then on time again with new values: every value must be right.
async fn late_replies_never_answer_later_requests(app: &TestApp) {
    let before = [
        ("em_b1.voltage_l1", 231.5),
        ("em_b1.total_power", 1500.0),
        ("em_b1.frequency", 49.5),
    ];
    pin(app.sim(), 1, &before);
    values_show(app, &before).await;
    app.sim().set_delay(1, Duration::from_millis(300));
    counter_rises(
        app,
        r#"sitewatch_modbus_requests_total{device="em_b1",result="timeout"}"#,
    )
    .await;
    // The pump shares the bus with the late meter and keeps being read.
    app.sim().set(3, "output_frequency", 42.5);
    values_show(app, &[("pump_1.output_frequency", 42.5)]).await;
    let meter = app.device("em_b1").await;
    assert!(
        meter["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("no answer within 200ms"),
        "{meter}"
    );
    let after = [
        ("em_b1.voltage_l1", 229.0),
        ("em_b1.total_power", 2500.0),
        ("em_b1.frequency", 50.5),
        ("pump_1.output_frequency", 44.0),
    ];
    pin(app.sim(), 1, &after[..3]);
    app.sim().set(3, "output_frequency", 44.0);
    app.sim().set_delay(1, Duration::ZERO);
    values_show(app, &after).await;
    values_stay(app, &after).await;
}

#[tokio::test]
async fn late_tcp_reply_is_never_taken_for_a_later_answer() {
    let mut app = spawn_app(Db::Sqlite).await;
    late_replies_never_answer_later_requests(&app).await;
    app.stop().await;
}

/// Two pseudo-terminals joined by `socat`: what is written to one is read from the other.
struct PtyPair {
    child: Child,
    a: PathBuf,
    b: PathBuf,
    _dir: tempfile::TempDir,
}

impl PtyPair {
    async fn new() -> PtyPair {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let link = |p: &Path| format!("pty,raw,echo=0,link={}", p.display());
        let child = Command::new("socat")
            .args(["-d", "-d", &link(&a), &link(&b)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat runs (scripts/test installs it)");
        let pair = PtyPair {
            child,
            a,
            b,
            _dir: dir,
        };
        eventually("socat links", WAIT, || async {
            (pair.a.exists() && pair.b.exists()).then_some(())
        })
        .await;
        pair
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rtu_devices(path: &Path) -> String {
    let serial = format!(
        "serial = {{ path = \"{}\", baud_rate = 19200, parity = \"none\" }}",
        path.display()
    );
    let timing = "poll_interval = \"100ms\", timeout = \"200ms\", comm_loss_after = 2";
    format!(
        "[[devices]]\nid = \"em_b1\"\nname = \"Energy meter\"\nprofile = \"eastron_sdm630\"\nmodbus = {{ transport = \"rtu\", unit_id = 1, {serial}, {timing} }}\n\n[[devices]]\nid = \"pump_1\"\nname = \"Pump\"\nprofile = \"abb_acs580\"\nmodbus = {{ transport = \"rtu\", unit_id = 3, {serial}, {timing} }}\n"
    )
}

#[tokio::test]
async fn rtu_over_a_serial_line_reaches_the_api_and_drains_late_replies() {
    let pty = PtyPair::new().await;
    let db = fresh_db(Db::Sqlite).await;
    let config = site_config(&db.url, &rtu_devices(&pty.b), None);
    let sim = Simulator::start_rtu(&pty.a, &devices::sim_devices(&config.devices))
        .expect("RTU simulator opens its end");
    let mut app = spawn_app_on(db, sim, config).await;
    let devices = app.get_json("/api/v1/devices").await;
    assert_eq!(devices[0]["address"], pty.b.display().to_string());
    late_replies_never_answer_later_requests(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn rtu_over_tcp_gateway_serves_several_units_on_one_connection() {
    let db = fresh_db(Db::Sqlite).await;
    let placeholder = site_config(&db.url, &gateway_devices("127.0.0.1:1"), None);
    let sim = Simulator::start_rtu_over_tcp(
        "127.0.0.1:0".parse().expect("addr"),
        &devices::sim_devices(&placeholder.devices),
    )
    .await
    .expect("gateway simulator starts");
    let config = site_config(&db.url, &gateway_devices(&sim.addr().to_string()), None);
    let app = spawn_app_on(db, sim, config).await;
    let want = [
        ("em_b1.voltage_l1", 233.0),
        ("pump_1.output_frequency", 30.0),
    ];
    pin(app.sim(), 1, &want[..1]);
    app.sim().set(3, "output_frequency", 30.0);
    values_show(&app, &want).await;
    // One connection, so one bus: its utilisation is published under its key.
    let bus = format!(
        r#"sitewatch_modbus_bus_utilisation_ratio{{bus="rtu+tcp://{}"}}"#,
        app.sim().addr()
    );
    eventually("bus utilisation published", WAIT, || async {
        metric(&app.metrics().await, &bus).map(|_| ())
    })
    .await;
    let mut app = app;
    app.stop().await;
}

fn gateway_devices(addr: &str) -> String {
    let m = format!(
        "transport = \"rtu_over_tcp\", address = \"{addr}\", poll_interval = \"100ms\", timeout = \"200ms\""
    );
    format!(
        "[[devices]]\nid = \"em_b1\"\nname = \"Energy meter\"\nprofile = \"eastron_sdm630\"\nmodbus = {{ {m}, unit_id = 1 }}\n\n[[devices]]\nid = \"pump_1\"\nname = \"Pump\"\nprofile = \"abb_acs580\"\nmodbus = {{ {m}, unit_id = 3 }}\n"
    )
}

#[tokio::test]
async fn a_device_killed_and_restarted_on_the_same_port_recovers_by_itself() {
    let mut app = spawn_app(Db::Sqlite).await;
    app.sim().set(1, "voltage_l1", 230.5);
    values_show(&app, &[("em_b1.voltage_l1", 230.5)]).await;
    let addr = app.sim().addr();
    app.sim().stop();
    eventually("meter comm-lost", WAIT, || async {
        (app.point("em_b1.voltage_l1").await["quality"] == "comm_lost").then_some(())
    })
    .await;
    let placeholder = crate::helpers::test_config("127.0.0.1:1", &app.db.url);
    let sims = devices::sim_devices(&placeholder.devices);
    let sim = eventually("the port is free again", WAIT, || async {
        Simulator::start(addr, &sims).await.ok()
    })
    .await;
    app.set_sim(sim);
    app.sim().set(1, "voltage_l1", 232.5);
    values_show(&app, &[("em_b1.voltage_l1", 232.5)]).await;
    assert_eq!(app.device("em_b1").await["up"], true);
    app.stop().await;
}

/// Exceptions: the meter's profile asks for input registers the device at unit 3 (a
/// drive) does not have.
#[tokio::test]
async fn exceptions_are_counted_and_explained_without_comm_loss() {
    let db = fresh_db(Db::Sqlite).await;
    let devices = |addr: &str| {
        format!(
            "[[devices]]\nid = \"pump_1\"\nname = \"Pump\"\nprofile = \"abb_acs580\"\nmodbus = {{ address = \"{addr}\", unit_id = 3, poll_interval = \"100ms\", timeout = \"200ms\" }}\n\n[[devices]]\nid = \"wrong\"\nname = \"Meter profile on the drive\"\nprofile = \"eastron_sdm630\"\nmodbus = {{ address = \"{addr}\", unit_id = 4, poll_interval = \"100ms\", timeout = \"200ms\" }}\n"
        )
    };
    let placeholder = site_config(&db.url, &devices("127.0.0.1:1"), None);
    let mut sims = devices::sim_devices(&placeholder.devices);
    sims[1].profile = sims[0].profile.clone();
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), &sims)
        .await
        .expect("simulator");
    let config = site_config(&db.url, &devices(&sim.addr().to_string()), None);
    let mut app = spawn_app_on(db, sim, config).await;
    counter_rises(
        &app,
        r#"sitewatch_modbus_requests_total{device="wrong",result="exception"}"#,
    )
    .await;
    let point = eventually("bad_config", WAIT, || async {
        let p = app.point("wrong.frequency").await;
        (p["quality"] == "bad_config").then_some(p)
    })
    .await;
    assert!(point["value"].is_null(), "{point}");
    let device = app.device("wrong").await;
    assert_eq!(device["up"], true, "it answers, so it is not comm-lost");
    let error = device["last_error"].as_str().unwrap_or("");
    assert!(
        error.starts_with("exception 0x02 illegal data address at input "),
        "{device}"
    );
    app.stop().await;
}

/// Two buses: one has a device that never answers in time and an interval it cannot
/// keep; its polls are skipped and counted, its bus shows saturated, and the meter on
/// the other connection is read as often as ever.
#[tokio::test]
async fn a_slow_bus_skips_polls_and_never_delays_another_connection() {
    let db = fresh_db(Db::Sqlite).await;
    let devices = |slow: &str, fast: &str| {
        format!(
            "[[devices]]\nid = \"slow\"\nname = \"Slow meter\"\nprofile = \"eastron_sdm630\"\nmodbus = {{ address = \"{slow}\", unit_id = 1, poll_interval = \"20ms\", timeout = \"150ms\" }}\n\n[[devices]]\nid = \"em_b1\"\nname = \"Meter\"\nprofile = \"eastron_sdm630\"\nmodbus = {{ address = \"{fast}\", unit_id = 1, poll_interval = \"50ms\", timeout = \"150ms\" }}\n"
        )
    };
    let placeholder = site_config(&db.url, &devices("127.0.0.1:1", "127.0.0.1:2"), None);
    let sims = devices::sim_devices(&placeholder.devices[..1]);
    let any = "127.0.0.1:0".parse().expect("addr");
    let slow = Simulator::start(any, &sims).await.expect("simulator");
    let fast = Simulator::start(any, &sims).await.expect("simulator");
    slow.set_delay(1, Duration::from_secs(5));
    let (slow_addr, fast_addr) = (slow.addr().to_string(), fast.addr().to_string());
    let config = site_config(&db.url, &devices(&slow_addr, &fast_addr), None);
    let mut app = spawn_app_on(db, fast, config).await;
    counter_rises(
        &app,
        r#"sitewatch_modbus_polls_skipped_total{device="slow"}"#,
    )
    .await;
    let bus = format!(r#"sitewatch_modbus_bus_utilisation_ratio{{bus="tcp://{slow_addr}"}}"#);
    eventually("slow bus saturated", WAIT, || async {
        (counter(&app, &bus).await > 0.8).then_some(())
    })
    .await;
    // While the slow bus waits out its timeouts, every change on the other one arrives.
    for v in [231.0, 232.0, 233.0] {
        app.sim().set(1, "voltage_l1", v);
        let started = std::time::Instant::now();
        values_show(&app, &[("em_b1.voltage_l1", v)]).await;
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }
    let fast_skipped = r#"sitewatch_modbus_polls_skipped_total{device="em_b1"}"#;
    assert_eq!(counter(&app, fast_skipped).await, 0.0);
    drop(slow);
    app.stop().await;
}

const BITS_PROFILE: &str = r#"[profile]
id = "bits"
name = "Coils, inputs and states"
manual = "test"

[[points]]
name = "pump_run_command"
table = "coil"
address = 0
type = "bit"

[[points]]
name = "float_switch"
table = "discrete"
address = 4
type = "bit"

[[points]]
name = "mode"
table = "holding"
address = 10
type = "u16"
states = { 0 = "off", 1 = "auto", 2 = "manual" }

[[points]]
name = "level"
table = "input"
address = 0
type = "f32"
unit = "m"
"#;

/// Commissioning through the binary: coils and discrete inputs read as bits, a known
/// state shows its name, an unknown one its number, and a block the device refuses shows
/// the exception on its points while the rest still read.
#[tokio::test]
async fn device_read_prints_raw_registers_decoded_values_and_inline_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let profiles = dir.path().join("profiles");
    std::fs::create_dir(&profiles).expect("mkdir");
    std::fs::write(profiles.join("bits.toml"), BITS_PROFILE).expect("write");
    let db = fresh_db(Db::Sqlite).await;
    let devices = |addr: &str| {
        format!(
            "[[devices]]\nid = \"tank\"\nname = \"Tank\"\nprofile = \"bits\"\nmodbus = {{ address = \"{addr}\", unit_id = 9, timeout = \"300ms\" }}\n"
        )
    };
    let placeholder = site_config(&db.url, &devices("127.0.0.1:1"), Some(&profiles));
    let mut sims = devices::sim_devices(&placeholder.devices);
    // The simulated device lacks the input table: reading it is an exception.
    let mut profile = (*sims[0].profile).clone();
    profile.points.retain(|p| p.name != "level");
    sims[0].profile = std::sync::Arc::new(profile);
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), &sims)
        .await
        .expect("simulator");
    sim.set(9, "pump_run_command", 1.0);
    sim.set(9, "float_switch", 1.0);
    sim.set(9, "mode", 7.0);
    let site = dir.path().join("site.toml");
    let text = format!(
        "[site]\nid = \"t\"\nname = \"T\"\n[profiles]\ndir = \"profiles\"\n{}",
        devices(&sim.addr().to_string())
    );
    std::fs::write(&site, text).expect("write");
    let site_arg = site.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sitewatch"))
            .args(["device", "read", "tank", "--config", &site_arg])
            .env("RUST_LOG", "warn")
            .output()
            .expect("binary runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("{name} in {stdout}"))
    };
    assert_eq!(row("pump_run_command"), "pump_run_command coil 0 1 1");
    assert_eq!(row("float_switch"), "float_switch discrete 4 1 1");
    assert_eq!(row("mode"), "mode holding 10 0007 7");
    assert_eq!(
        row("level"),
        "level input 0 exception 0x02 illegal data address at input 0..2 m"
    );
    sim.set(9, "mode", 1.0);
    drop(sim);
}
