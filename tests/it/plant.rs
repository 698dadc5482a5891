//! The first slice end to end: the simulator is polled, values reach the API and the
//! database with their units, and a dead plant turns comm-lost instead of looking good.

use std::time::Duration;

use sitewatch::store::Store;

use crate::helpers::{Db, TestApp, eventually, metric, spawn_app};

const WAIT: Duration = Duration::from_secs(10);

async fn value_reaches_api(app: &TestApp, point: &str, want: f64) -> serde_json::Value {
    eventually(&format!("{point} = {want} in the API"), WAIT, || async {
        let p = app.point(point).await;
        (p["value"].as_f64() == Some(want) && p["quality"] == "good").then_some(p)
    })
    .await
}

async fn value_reaches_db(store: &Store, point: &str, want: f64) {
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    eventually(
        &format!("{point} = {want} in the database"),
        WAIT,
        || async {
            let rows = store.readings(point, since, 10_000).await.expect("query");
            rows.iter().any(|r| r.value == want).then_some(())
        },
    )
    .await;
}

async fn readings_arrive_with_values_and_units(db: Db) {
    let mut app = spawn_app(db).await;
    app.sim().set(1, "voltage_l1", 231.5);
    app.sim().set(3, "output_frequency", 47.25);
    let p = value_reaches_api(&app, "em_b1.voltage_l1", 231.5).await;
    assert_eq!(p["unit"], "V");
    assert_eq!(p["device"], "em_b1");
    let p = value_reaches_api(&app, "pump_1.output_frequency", 47.25).await;
    assert_eq!(p["unit"], "Hz");
    let store = app.store().await;
    value_reaches_db(&store, "em_b1.voltage_l1", 231.5).await;
    // History is written by the store writer after the value is live: read until it is.
    eventually("47.25 in the history API", WAIT, || async {
        let history = app
            .get_json("/api/v1/points/pump_1.output_frequency/readings")
            .await;
        history
            .as_array()?
            .iter()
            .any(|r| r["value"] == 47.25)
            .then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn readings_arrive_with_values_and_units_on_sqlite() {
    readings_arrive_with_values_and_units(Db::Sqlite).await;
}

#[tokio::test]
async fn readings_arrive_with_values_and_units_on_postgres() {
    readings_arrive_with_values_and_units(Db::Postgres).await;
}

#[tokio::test]
async fn stopped_simulator_turns_points_comm_lost_not_stale_good() {
    let mut app = spawn_app(Db::Sqlite).await;
    app.sim().set(1, "current_l1", 12.5);
    value_reaches_api(&app, "em_b1.current_l1", 12.5).await;
    app.sim().stop();
    let points = eventually("every point comm-lost", WAIT, || async {
        let v = app.get_json("/api/v1/points").await;
        let points = v["points"].as_array().cloned().unwrap_or_default();
        points
            .iter()
            .all(|p| p["quality"] == "comm_lost")
            .then_some(points)
    })
    .await;
    // The last value is kept, but flagged: nobody mistakes it for a live one.
    let current = points
        .iter()
        .find(|p| p["id"] == "em_b1.current_l1")
        .expect("point");
    assert_eq!(current["value"], 12.5);
    let devices = app.get_json("/api/v1/devices").await;
    assert!(
        devices
            .as_array()
            .expect("array")
            .iter()
            .all(|d| d["up"] == false),
        "{devices}"
    );
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert_eq!(
        metric(&metrics, r#"sitewatch_device_up{device="em_b1"}"#),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &metrics,
            r#"sitewatch_point_quality{point="em_b1.current_l1",quality="comm_lost"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &metrics,
            r#"sitewatch_point_quality{point="em_b1.current_l1",quality="good"}"#
        ),
        None,
        "a point has one quality series, its current one"
    );
    assert!(
        metric(
            &metrics,
            r#"sitewatch_modbus_requests_total{device="em_b1",result="ok"}"#
        )
        .unwrap_or(0.0)
            > 0.0
    );
    let journal = eventually("device-down event journalled", WAIT, || async {
        let ev = app.get_json("/api/v1/events?kind=device").await;
        let rows = ev.as_array().cloned().unwrap_or_default();
        rows.iter()
            .any(|e| e["subject"] == "em_b1" && e["body"]["up"] == false)
            .then_some(rows)
    })
    .await;
    assert!(!journal.is_empty());
    // Quality changes are journalled, but a point's first value since start is not a
    // change: nothing here recovered, so no entry may say a point turned good.
    let qualities = eventually("comm-lost journalled", WAIT, || async {
        let ev = app
            .get_json("/api/v1/events?kind=point_quality&limit=1000")
            .await;
        let rows = ev.as_array().cloned().unwrap_or_default();
        rows.iter()
            .any(|e| e["subject"] == "em_b1.current_l1" && e["body"]["to"] == "comm_lost")
            .then_some(rows)
    })
    .await;
    assert!(
        qualities.iter().all(|e| e["body"]["to"] != "good"),
        "{qualities:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn shutdown_flushes_what_was_not_yet_written() {
    let mut app = spawn_app(Db::Sqlite).await;
    app.sim().set(1, "frequency", 49.5);
    value_reaches_api(&app, "em_b1.frequency", 49.5).await;
    app.sim().set(1, "frequency", 50.5);
    value_reaches_api(&app, "em_b1.frequency", 50.5).await;
    // Stop at once: the batch holding 50.5 has likely not been flushed yet.
    app.stop().await;
    let store = Store::connect(&app.db.url).await.expect("store");
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let rows = store
        .readings("em_b1.frequency", since, 10_000)
        .await
        .expect("query");
    assert!(rows.iter().any(|r| r.value == 50.5), "{rows:?}");
}

#[tokio::test]
async fn health_readiness_dashboard_and_metrics_are_served() {
    let mut app = spawn_app(Db::Sqlite).await;
    let get = |path: &'static str| {
        let url = format!("{}{path}", app.base);
        let client = app.client.clone();
        async move { client.get(url).send().await.expect("request") }
    };
    assert_eq!(get("/healthz").await.status(), 200);
    let ready = get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(
        (&ready["database"], &ready["engine"]),
        (&true.into(), &true.into())
    );
    assert_eq!(ready["writes"]["ok"], true, "{ready}");
    let page = get("/").await.text().await.expect("html");
    assert!(page.contains("Test Estate") && page.contains("/assets/duty.js"));
    // The page's plant script, served beside it, reads the plant.
    assert!(page.contains("/assets/duty_plant.js"));
    let script = get("/assets/duty_plant.js").await;
    assert_eq!(script.status(), 200);
    assert!(script.text().await.expect("js").contains("/api/v1/points"));
    let metrics = get("/metrics").await;
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain")
    );
    let text = metrics.text().await.expect("text");
    assert!(text.contains("sitewatch_build_info{version="));
    let bad = app
        .client
        .get(format!("{}/api/v1/events?limit=0", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), 422);
    let body: serde_json::Value = bad.json().await.expect("json");
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("invalid"), Some("limit"))
    );
    let missing = app
        .client
        .get(format!("{}/api/v1/points/nope.nothing", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
    app.stop().await;
}
