//! A housing estate's meters (issue 24): a register of 300 household meters behind two
//! simulated gateways (one Modbus TCP, one RTU over TCP), read one unit id after another
//! in sweeps. Each unit's counters arrive, times their multiplier; a meter that does not
//! answer is marked silent and skipped while the sweep goes on; a vacant unit whose meter
//! moves raises its alarm with no rule written for it; the billing snapshot lists every
//! meter and flags the silent one; and a bad register is refused whole, each bad line
//! named.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use sitewatch::config::{Config, load_profiles};
use sitewatch::core::clock::ManualClock;
use sitewatch::customers::meters::Known;
use sitewatch::devices::simulator::{SimDevice, Simulator};
use sitewatch::store::Store;

use crate::helpers::{
    Db, TestApp, eventually, fresh_db, metric, site_config, spawn_app_on_at, test_plant,
};

const WAIT: Duration = Duration::from_secs(20);
/// Units per building, buildings: 150 households, each with a power and a water meter.
const FLOORS: u32 = 10;
const PER_FLOOR: u32 = 5;
const BUILDINGS: u32 = 3;
/// The meter that never answers (unit id on gateway A).
const SILENT_UNIT_ID: u8 = 17;
/// The vacant household, and its power meter's unit id on gateway A.
const VACANT: &str = "1-0101";
const VACANT_UNIT_ID: u8 = 1;
/// A meter behind a current transformer: its counter reads 40 times what it shows.
const CT_UNIT_ID: u8 = 2;

fn units() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for b in 1..=BUILDINGS {
        for f in 1..=FLOORS {
            for n in 1..=PER_FLOOR {
                out.push((b.to_string(), f.to_string(), format!("{f:02}{n:02}")));
            }
        }
    }
    out
}

fn units_csv() -> String {
    let mut csv = String::from("building,floor,unit,occupancy,owner_name,preferred_channel\n");
    for (b, f, u) in units() {
        let id = format!("{b}-{u}");
        let occupancy = if id == VACANT { "vacant" } else { "occupied" };
        csv.push_str(&format!("{b},{f},{u},{occupancy},业主{id},paper\n"));
    }
    csv
}

/// Every household's power meter on gateway A (unit ids 1..=150) and water meter on
/// gateway B (the same unit ids).
fn meters_csv() -> String {
    let mut csv = String::from("meter,unit,kind,profile,gateway,unit_id,multiplier\n");
    for (i, (b, _, u)) in units().iter().enumerate() {
        let unit_id = i + 1;
        let ct = if unit_id == usize::from(CT_UNIT_ID) {
            "40"
        } else {
            ""
        };
        csv.push_str(&format!(
            "e_{b}_{u},{b}-{u},electricity,household_electricity,gw_a,{unit_id},{ct}\n\
             w_{b}_{u},{b}-{u},water,household_water,gw_b,{unit_id},\n"
        ));
    }
    csv
}

fn sim_devices(profile: &str, count: usize) -> Vec<SimDevice> {
    let profiles = load_profiles(None).expect("built-in profiles");
    (1..=count)
        .map(|unit_id| SimDevice {
            unit_id: u8::try_from(unit_id).expect("unit id"),
            profile: profiles[profile].clone(),
        })
        .collect()
}

fn config(db_url: &str, plant: &Simulator, a: &Simulator, b: &Simulator) -> Config {
    let (plant, a, b) = (plant.addr(), a.addr(), b.addr());
    site_config(
        db_url,
        &format!(
            r#"
[[devices]]
id = "em_b1"
name = "Energy meter"
profile = "eastron_sdm630"
modbus = {{ address = "{plant}", unit_id = 1, poll_interval = "100ms", timeout = "200ms" }}

[[gateways]]
id = "gw_a"
name = "Power meters"
address = "{a}"
poll_interval = "300ms"
timeout = "500ms"
comm_loss_after = 2

[[gateways]]
id = "gw_b"
name = "Water meters"
transport = "rtu_over_tcp"
address = "{b}"
poll_interval = "300ms"
timeout = "1s"
comm_loss_after = 2
"#
        ),
        None,
    )
}

fn known(config: &Config, units: HashSet<String>) -> Known {
    let t = config.register_targets();
    Known {
        gateways: t.gateways,
        profiles: t.profiles,
        units,
        devices: t.devices,
    }
}

struct Estate {
    app: TestApp,
    a: Simulator,
    _b: Simulator,
    clock: Arc<ManualClock>,
}

/// The unit and meter registers in a fresh database, the simulators, and the daemon, at
/// 23:58 on the 20th in Shanghai (two minutes before November's cut-off).
async fn estate() -> Estate {
    let db = fresh_db(Db::Sqlite).await;
    let plant = test_plant(&db.url).await;
    let any = "127.0.0.1:0".parse().expect("addr");
    let n = units().len();
    let a = Simulator::start(any, &sim_devices("household_electricity", n))
        .await
        .expect("gateway A");
    let b = Simulator::start_rtu_over_tcp(any, &sim_devices("household_water", n))
        .await
        .expect("gateway B");
    // Fixed counters where the test reads them; the rest move as the model moves them.
    a.set(SILENT_UNIT_ID, "import_energy", 0.0);
    a.set_delay(SILENT_UNIT_ID, Duration::from_secs(3600));
    a.set(VACANT_UNIT_ID, "import_energy", 500.0);
    a.set(CT_UNIT_ID, "import_energy", 100.25);
    b.set(3, "total_volume", 12.345);
    let config = config(&db.url, &plant, &a, &b);
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let now = Utc::now();
    sitewatch::customers::import(&store, units_csv(), "test", now)
        .await
        .expect("units import");
    let units = store
        .unit_buildings()
        .await
        .expect("units")
        .into_keys()
        .collect();
    let meters = sitewatch::customers::import_meters(
        &store,
        meters_csv(),
        &known(&config, units),
        "test",
        now,
    )
    .await
    .expect("meter register imports");
    assert_eq!(meters.len(), 2 * n);
    store.close().await;
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 20, 15, 58, 0)
            .single()
            .expect("time"),
    ));
    let app = spawn_app_on_at(db, plant, config, clock.clone()).await;
    Estate {
        app,
        a,
        _b: b,
        clock,
    }
}

async fn gateway(app: &TestApp, id: &str) -> Value {
    let all = app.get_json("/api/v1/gateways").await;
    all.as_array()
        .and_then(|a| a.iter().find(|g| g["id"] == id).cloned())
        .unwrap_or_else(|| panic!("gateway {id} in {all}"))
}

async fn meters(app: &TestApp, query: &str) -> Vec<Value> {
    let v = app.get_json(&format!("/api/v1/meters?{query}")).await;
    v.as_array()
        .cloned()
        .unwrap_or_else(|| panic!("meters: {v}"))
}

#[tokio::test]
async fn an_estate_is_swept_meter_by_meter_and_a_silent_meter_does_not_stop_the_sweep() {
    let Estate { app, a, clock, _b } = estate().await;
    // Both gateways have swept twice: every meter was asked, the silent one twice.
    for id in ["gw_a", "gw_b"] {
        eventually(&format!("{id} swept twice"), WAIT, || async {
            let g = gateway(&app, id).await;
            (g["meters"] == 150
                && g["sweep_seconds"].is_number()
                && g["reading"].as_u64()? + g["silent"].as_u64()? == 150)
                .then_some(())
        })
        .await;
    }
    let g = eventually("the silent meter is marked", WAIT, || async {
        let g = gateway(&app, "gw_a").await;
        (g["silent"] == 1 && g["reading"] == 149).then_some(g)
    })
    .await;
    assert_eq!(g["silent_meters"], serde_json::json!(["e_1_0402"]), "{g}");
    assert!(
        g["swept_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-11-20T15:5")),
        "the sweep's end in the daemon's time: {g}"
    );
    let silent = meters(&app, "silent=true").await;
    let ids: Vec<&str> = silent.iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["e_1_0402"], "{silent:?}");
    let silent = eventually("the silent meter is comm-lost", WAIT, || async {
        let m = meters(&app, "silent=true").await.pop()?;
        (m["up"] == false).then_some(m)
    })
    .await;
    assert!(
        silent["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500ms")),
        "skipped after its timeout: {silent}"
    );
    // The sweep goes on past it: later meters on the same gateway keep being read.
    let sweeps = |text: &str| metric(text, "sitewatch_estate_sweeps_total{gateway=\"gw_a\"}");
    let before = sweeps(&app.metrics().await).expect("sweeps counted");
    let later = a_later_meter_moves(&app, &a).await;
    assert!(later, "a meter after the silent one is read again");
    eventually("two more sweeps", WAIT, || async {
        (sweeps(&app.metrics().await)? >= before + 2.0).then_some(())
    })
    .await;

    // Values per unit: a household's power and water, the power meter's counter times
    // its transformer's 40.
    let unit = meters(&app, "unit=1-0102").await;
    let value = |kind: &str| {
        unit.iter().find(|m| m["kind"] == kind).map(|m| {
            (
                m["value"].as_f64(),
                m["measure"].clone(),
                m["gateway"].clone(),
            )
        })
    };
    assert_eq!(
        value("electricity"),
        Some((Some(4010.0), "kWh".into(), "gw_a".into())),
        "{unit:?}"
    );
    let water = meters(&app, "unit=1-0103").await;
    let w = water
        .iter()
        .find(|m| m["kind"] == "water")
        .expect("water meter");
    assert_eq!(
        (w["value"].as_f64(), w["unit_id"].as_u64()),
        (Some(12.345), Some(3)),
        "{w}"
    );

    // Bounded metrics: aggregates per gateway and building, no series per meter point,
    // and the plant's own series as before.
    let text = app.metrics().await;
    assert_eq!(
        metric(&text, "sitewatch_estate_meters{gateway=\"gw_a\"}"),
        Some(150.0)
    );
    assert_eq!(
        metric(&text, "sitewatch_estate_meters_silent{gateway=\"gw_a\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(&text, "sitewatch_estate_meters_silent{gateway=\"gw_b\"}"),
        Some(0.0)
    );
    assert!(
        metric(&text, "sitewatch_estate_sweep_seconds{gateway=\"gw_b\"}").is_some(),
        "{text}"
    );
    let building_kwh = metric(
        &text,
        "sitewatch_estate_consumption{building=\"1\",measure=\"kWh\"}",
    );
    assert!(building_kwh.is_some_and(|v| v > 4010.0), "{text}");
    assert!(
        metric(
            &text,
            "sitewatch_estate_consumption{building=\"3\",measure=\"m3\"}"
        )
        .is_some()
    );
    assert!(
        !text.contains("point=\"e_"),
        "no meter point series: {text}"
    );
    assert!(!text.contains("device=\"w_"), "no meter device series");
    assert!(text.contains("sitewatch_point_value{point=\"em_b1.import_energy\"}"));
    assert!(text.contains("sitewatch_device_up{device=\"em_b1\"} 1"));
    // The plant page's lists stay the plant's: meters are asked for by device.
    let points = app.get_json("/api/v1/points").await;
    let listed = points["points"].as_array().expect("points");
    assert!(listed.iter().all(|p| p["device"] == "em_b1"), "{points}");
    let one = app.get_json("/api/v1/points?device=e_1_0102").await;
    assert_eq!(one["points"][0]["value"], 4010.0, "{one}");

    // Billing: past the cut-off the snapshot holds every meter, the silent one flagged.
    clock.advance(chrono::Duration::minutes(3));
    let rows = eventually("snapshot taken", WAIT, || async {
        let v = app.get_json("/api/v1/meter-snapshots?period=2026-11").await;
        v.as_array().filter(|a| !a.is_empty()).cloned()
    })
    .await;
    let estate_rows = rows.iter().filter(|r| r["device"] != "em_b1").count();
    assert_eq!(estate_rows, 300, "every meter of the register");
    let cut = app
        .get_json("/api/v1/meter-snapshots/cutoff?period=2026-11")
        .await;
    assert_eq!(
        cut["unread"],
        serde_json::json!([{"unit": "1-0402", "device": "e_1_0402", "point": "e_1_0402.import_energy"}]),
        "{cut}"
    );
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/meter-snapshots?period=2026-11&format=csv",
            app.base
        ))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("csv");
    let flagged: Vec<&str> = csv.lines().filter(|l| l.ends_with(",no_reading")).collect();
    assert_eq!(flagged.len(), 1, "{csv}");
    assert!(flagged[0].contains(",1-0402,e_1_0402,"), "{csv}");
    assert!(
        csv.contains(",1-0102,e_1_0102,e_1_0102.import_energy,4010,kWh,good,"),
        "{csv}"
    );
}

/// Whether the meter right after the silent one on gateway A is read again: its counter
/// is pinned to a new value and the API shows it.
async fn a_later_meter_moves(app: &TestApp, a: &Simulator) -> bool {
    let next = SILENT_UNIT_ID + 1;
    a.set(next, "import_energy", 777.5);
    eventually("the next meter read", WAIT, || async {
        let m = meters(app, "unit=1-0403").await;
        m.iter()
            .any(|m| m["kind"] == "electricity" && m["value"] == 777.5)
            .then_some(())
    })
    .await;
    true
}

#[tokio::test]
async fn a_vacant_unit_whose_meter_moves_raises_its_alarm() {
    let Estate { app, a, _b, .. } = estate().await;
    let alarm = "e_1_0101.import_energy:vacant_consumption";
    eventually("the vacant unit's meter read", WAIT, || async {
        let m = meters(&app, &format!("unit={VACANT}")).await;
        m.iter().any(|m| m["value"] == 500.0).then_some(())
    })
    .await;
    // A steady meter in an empty flat is fine, sweep after sweep.
    eventually("two sweeps since", WAIT, || async {
        (gateway(&app, "gw_a").await["reading"] == 149).then_some(())
    })
    .await;
    assert_eq!(
        app.get_json(&format!("/api/v1/alarms/{alarm}")).await["state"],
        "normal"
    );
    // Power used while nobody lives there.
    a.set(VACANT_UNIT_ID, "import_energy", 500.5);
    let raised = eventually("vacant consumption alarm", WAIT, || async {
        let v = app.get_json(&format!("/api/v1/alarms/{alarm}")).await;
        (v["state"] == "unack_active").then_some(v)
    })
    .await;
    assert_eq!(raised["device"], "e_1_0101", "{raised}");
    assert!(
        raised["message"]
            .as_str()
            .is_some_and(|m| m.contains(VACANT)),
        "{raised}"
    );
    // Occupied households' meters rise all the time without a vacant alarm.
    let other = app
        .get_json("/api/v1/alarms/e_1_0102.import_energy:vacant_consumption")
        .await;
    assert_eq!(other["state"], "normal", "{other}");
}

#[tokio::test]
async fn a_bad_register_is_refused_whole_with_each_bad_line_named() {
    let Estate { app, a: _a, _b, .. } = estate().await;
    let bad = "meter,unit,kind,profile,gateway,unit_id\n\
               e_x_1,1-0102,electricity,household_electricity,gw_a,200\n\
               e_x_1,1-0103,electricity,household_electricity,gw_a,201\n\
               e_x_2,9-0101,electricity,household_electricity,gw_a,202\n\
               e_x_3,1-0104,electricity,household_electricity,gw_a,248\n\
               e_x_4,1-0105,water,household_water,gw_z,1\n\
               e_x_5,1-0105,electricity,household_electricity,gw_a,0\n";
    let resp = app
        .client
        .post(format!("{}/api/v1/meters/import", app.base))
        .header("content-type", "text/csv")
        .body(bad)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 422);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "invalid_rows", "{body}");
    let problems: Vec<(u64, String)> = body["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap_or(0),
                p["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let said = |line: u64, what: &str| {
        assert!(
            problems.iter().any(|(l, r)| *l == line && r.contains(what)),
            "line {line} should say `{what}`: {problems:?}"
        );
    };
    said(3, "duplicate meter `e_x_1`");
    said(4, "unknown unit `9-0101`");
    said(5, "unit_id `248` is outside 1–247");
    said(6, "unknown gateway `gw_z`");
    said(7, "unit_id `0` is outside 1–247");
    assert!(
        problems.iter().all(|(l, _)| *l != 2),
        "the good line is not blamed: {problems:?}"
    );
    // Nothing was written: the register still holds the 300 meters read at start.
    assert_eq!(app.count("select count(*) from meters").await, 300);
    assert_eq!(
        app.count("select count(*) from meters where meter_id like 'e_x_%'")
            .await,
        0
    );
    // A good register is taken, and read at once (see the next test).
    let good = "meter,unit,kind,profile,gateway,unit_id\ne_1_0101,1-0101,electricity,household_electricity,gw_a,1\n";
    let resp = app
        .client
        .post(format!("{}/api/v1/meters/import", app.base))
        .body(good)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        (body["meters"].as_u64(), body["restart_needed"].as_bool()),
        (Some(1), Some(false)),
        "{body}"
    );
}

/// A POST of `csv` to the meter import: the answer's body.
async fn import(app: &TestApp, csv: &str) -> Value {
    let resp = app
        .client
        .post(format!("{}/api/v1/meters/import", app.base))
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("json")
}

/// Sweeps and requests gateway A has made.
async fn sweeps_and_requests(app: &TestApp) -> (f64, f64) {
    let text = app.metrics().await;
    let sweeps = metric(&text, "sitewatch_estate_sweeps_total{gateway=\"gw_a\"}");
    let requests = text
        .lines()
        .filter(|l| l.starts_with("sitewatch_estate_requests_total{gateway=\"gw_a\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    (sweeps.unwrap_or(0.0), requests)
}

#[tokio::test]
async fn an_imported_register_is_read_from_the_next_sweep_without_a_restart() {
    let Estate { app, a: _a, _b, .. } = estate().await;
    eventually("gateway A swept its 150 meters", WAIT, || async {
        let g = gateway(&app, "gw_a").await;
        (g["meters"] == 150 && g["silent"] == 1).then_some(())
    })
    .await;
    // Two meters on gateway A, one of them new (unit id 2 without its transformer), and
    // one on gateway B; the silent meter and all the others are gone.
    let csv = "meter,unit,kind,profile,gateway,unit_id\n\
               e_1_0101,1-0101,electricity,household_electricity,gw_a,1\n\
               e_new,1-0102,electricity,household_electricity,gw_a,2\n\
               w_1_0103,1-0103,water,household_water,gw_b,3\n";
    let body = import(&app, csv).await;
    assert_eq!(body["restart_needed"], false, "{body}");
    assert_eq!(body["meters"], 3, "{body}");
    let g = eventually("gateway A holds the new register", WAIT, || async {
        let g = gateway(&app, "gw_a").await;
        (g["meters"] == 2 && g["reading"] == 2).then_some(g)
    })
    .await;
    assert_eq!(g["silent"], 0, "the silent meter is no longer asked: {g}");
    assert_eq!(g["silent_meters"], serde_json::json!([]), "{g}");
    assert_eq!(gateway(&app, "gw_b").await["meters"], 1);
    // The new meter is read (100.25 without a multiplier); the removed ones are not
    // listed and not asked: a sweep is two requests now, not 150.
    let new = eventually("the new meter read", WAIT, || async {
        let m = meters(&app, "unit=1-0102").await;
        m.into_iter()
            .find(|m| m["id"] == "e_new" && m["value"] == 100.25)
    })
    .await;
    assert_eq!(new["gateway"], "gw_a", "{new}");
    let all = meters(&app, "").await;
    let ids: Vec<&str> = all.iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["e_1_0101", "e_new", "w_1_0103"]);
    let (sweeps, requests) = sweeps_and_requests(&app).await;
    let (later_sweeps, later_requests) = eventually("three more sweeps", WAIT, || async {
        let now = sweeps_and_requests(&app).await;
        (now.0 >= sweeps + 3.0).then_some(now)
    })
    .await;
    let per_sweep = (later_requests - requests) / (later_sweeps - sweeps);
    assert!(
        (1.0..=3.0).contains(&per_sweep),
        "about two requests a sweep, not 150: {per_sweep}"
    );
    // The new meter has its vacant-consumption rule without a restart.
    let alarm = eventually("the new meter's rule", WAIT, || async {
        let v = app
            .get_json("/api/v1/alarms/e_new.import_energy:vacant_consumption")
            .await;
        (v["state"] == "normal").then_some(v)
    })
    .await;
    assert_eq!(alarm["device"], "e_new", "{alarm}");
}

#[tokio::test]
async fn the_plant_tab_shows_each_gateway_with_its_silent_meter_in_both_languages() {
    let Estate { app, a: _a, _b, .. } = estate().await;
    eventually("gateway A swept with its silent meter", WAIT, || async {
        let g = gateway(&app, "gw_a").await;
        (g["silent"] == 1 && g["sweep_seconds"].is_number()).then_some(())
    })
    .await;
    let b = crate::browser::browser().await;
    let c = &b.client;
    let card = r#"div[data-gateway="gw_a"]"#;
    for (lang, width, silent, reading) in [
        ("zh", 1920, "1 块未应答", "150 块表中 149 块有读数"),
        ("en", 390, "1 silent", "149 of 150 meters reading"),
    ] {
        c.set_window_size(width, 900).await.expect("window size");
        c.goto(&format!("{}/#plant", app.base))
            .await
            .expect("page loads");
        c.execute(&format!("document.cookie = 'lang={lang}; path=/';"), vec![])
            .await
            .expect("language");
        c.refresh().await.expect("reload");
        let text = eventually(&format!("{lang} gateway card"), WAIT, || async {
            crate::browser::text_of(c, card)
                .await
                .filter(|t| t.contains(silent))
        })
        .await;
        assert!(text.contains(reading), "{text}");
        assert!(
            text.contains("e_1_0402"),
            "the silent meter is named: {text}"
        );
        let other = crate::browser::text_of(c, r#"div[data-gateway="gw_b"]"#)
            .await
            .expect("gateway B's card");
        assert!(other.contains("Water meters"), "{other}");
        let scroll = c
            .execute("return document.documentElement.scrollWidth", vec![])
            .await
            .expect("width");
        assert!(
            scroll.as_u64() <= Some(u64::from(width)),
            "no sideways scrolling at {width} px: {scroll}"
        );
        crate::browser::shoot(c, &format!("estate-gateways-{lang}-{width}")).await;
    }
}

#[tokio::test]
async fn the_register_is_kept_whole_and_read_back_on_postgresql_too() {
    let db = fresh_db(Db::Postgres).await;
    let placeholder = "127.0.0.1:1";
    let config = site_config(
        &db.url,
        &format!("[[gateways]]\nid = \"gw_a\"\naddress = \"{placeholder}\"\n"),
        None,
    );
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let now = Utc::now();
    sitewatch::customers::import(&store, units_csv(), "test", now)
        .await
        .expect("units");
    let units = store
        .unit_buildings()
        .await
        .expect("units")
        .into_keys()
        .collect();
    let csv = "meter,unit,kind,profile,gateway,unit_id,multiplier\n\
               e_1_0101,1-0101,electricity,household_electricity,gw_a,1,\n\
               e_1_0102,1-0102,electricity,household_electricity,gw_a,247,40\n";
    sitewatch::customers::import_meters(&store, csv, &known(&config, units), "test", now)
        .await
        .expect("register");
    let meters = store.meters().await.expect("read back");
    let got: Vec<(&str, u8, f64)> = meters
        .iter()
        .map(|m| (m.id.as_str(), m.unit_id, m.multiplier))
        .collect();
    assert_eq!(got, [("e_1_0101", 1, 1.0), ("e_1_0102", 247, 40.0)]);
    store.close().await;
}
