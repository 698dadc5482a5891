//! The duty desk end to end: the shift hand-over lists every open item and completes only
//! when the incoming shift acknowledged each; the duty log; the service KPIs of a month
//! with known numbers; a request linked to its incident both ways; a fire-system test
//! notice that keeps the fire panel quiet for its window and only then.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use sitewatch::core::clock::ManualClock;

use crate::customers::{import_csv, three_units};
use crate::helpers::{Db, TestApp, eventually, metric, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);
const FIRE_ALARM: &str = "fire_panel.zone2_alarm:discrete";

/// Tuesday 2026-11-03 10:00 in Shanghai.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 3, 2, 0, 0)
        .single()
        .expect("time")
}

async fn app_with_units(kind: Db, clock: Arc<ManualClock>) -> TestApp {
    let app = spawn_app_with(kind, "", clock).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    app
}

async fn request(app: &TestApp, kind: Value, incident: Option<i64>) -> i64 {
    let (status, body) = app
        .post_json(
            "/api/v1/requests",
            json!({
                "kind": kind,
                "channel": "phone",
                "unit": "1-0301",
                "summary": "卫生间漏水",
                "received_by": "desk-chen",
                "incident": incident
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

fn repair_kind() -> Value {
    json!({"type": "repair", "emergency": false})
}

/// One step on a request; the engine applies steps one at a time, so a desk never meets
/// a concurrent save (the deadline chase runs in the same engine).
async fn step(app: &TestApp, id: i64, action: Value) {
    let (status, body) = app
        .post_json(
            &format!("/api/v1/requests/{id}/commands"),
            json!({"actor": "desk-chen", "action": action}),
        )
        .await;
    assert_eq!(status, 200, "{action} on request {id}: {body}");
}

async fn open_incident(app: &TestApp, category: &str) -> i64 {
    let (status, body) = app
        .post_json(
            "/api/v1/incidents",
            json!({
                "category": category,
                "title": "B2 水浸",
                "location": "B2",
                "reported_by": "duty-li",
                "occurred_at": null,
                "source": "manual"
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

async fn handover_step(app: &TestApp, id: i64, actor: &str, action: Value) -> (u16, Value) {
    app.post_json(
        &format!("/api/v1/handovers/{id}/commands"),
        json!({"actor": actor, "action": action}),
    )
    .await
}

fn references(handover: &Value) -> Vec<String> {
    handover["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["item"]["reference"].as_str().map(str::to_owned))
        .collect()
}

async fn hand_over_lists_open_items_and_completes_when_all_are_acknowledged(kind: Db) {
    let clock = Arc::new(ManualClock::new(t0()));
    let app = app_with_units(kind, clock.clone()).await;
    // An unacknowledged fire alarm (which opens a fire incident by policy), a water-ingress
    // incident opened by hand, an open repair and a suggestion (not handed over).
    app.sim().set(4, "zone2_alarm", 1.0);
    let fire = eventually("fire incident opened", WAIT, || async {
        let list = app.get_json("/api/v1/incidents?category=fire").await;
        list.as_array()?.first()?["id"].as_i64()
    })
    .await;
    let water = open_incident(&app, "water_ingress").await;
    let repair = request(&app, repair_kind(), None).await;
    request(&app, json!({"type": "suggestion"}), None).await;

    let (status, h) = app
        .post_json(
            "/api/v1/handovers",
            json!({"outgoing": "night-wang", "note": "B2 水泵房需再巡一次"}),
        )
        .await;
    assert_eq!(status, 201, "{h}");
    let id = h["id"].as_i64().expect("id");
    let mut want = vec![
        format!("alarm:{FIRE_ALARM}"),
        format!("incident:{fire}"),
        format!("incident:{water}"),
        format!("request:{repair}"),
    ];
    let mut got = references(&h);
    want.sort();
    got.sort();
    assert_eq!(got, want, "{h}");
    assert_eq!(h["notes"], json!(["B2 水泵房需再巡一次"]));

    let water_ref = format!("incident:{water}");
    let (status, body) = handover_step(
        &app,
        id,
        "night-wang",
        json!({"type": "item_note", "reference": water_ref, "text": "已通知工程部，待排水"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The outgoing person cannot acknowledge for the incoming shift.
    let (status, body) = handover_step(
        &app,
        id,
        "night-wang",
        json!({"type": "acknowledge", "reference": water_ref}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = handover_step(
        &app,
        id,
        "day-zhao",
        json!({"type": "acknowledge", "reference": "incident:999"}),
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("reference")));
    let (status, _) = handover_step(
        &app,
        id,
        "day-zhao",
        json!({"type": "acknowledge", "reference": water_ref}),
    )
    .await;
    assert_eq!(status, 200);
    // Completing with items outstanding is refused and names them.
    let (status, body) = handover_step(&app, id, "day-zhao", json!({"type": "complete"})).await;
    assert_eq!(status, 409, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("request:{repair}")), "{body}");
    assert!(!message.contains(&water_ref), "{body}");
    for r in got.iter().filter(|r| **r != water_ref) {
        let (status, body) = handover_step(
            &app,
            id,
            "day-zhao",
            json!({"type": "acknowledge", "reference": r}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, done) = handover_step(&app, id, "day-zhao", json!({"type": "complete"})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["completed"][0], "day-zhao");

    // The record is kept: by id, and by time.
    let kept = app.get_json(&format!("/api/v1/handovers/{id}")).await;
    assert_eq!(kept["completed"][0], "day-zhao");
    let noted = kept["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["item"]["reference"] == water_ref.as_str())
        .cloned()
        .expect("water item");
    assert_eq!(noted["notes"], json!(["已通知工程部，待排水"]));
    assert_eq!(noted["acknowledged"][0], "day-zhao");
    let (status, body) = handover_step(
        &app,
        id,
        "day-zhao",
        json!({"type": "note", "text": "too late"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let span = |from: DateTime<Utc>, to: DateTime<Utc>| {
        format!(
            "from={}&to={}",
            from.format("%Y-%m-%dT%H:%M:%SZ"),
            to.format("%Y-%m-%dT%H:%M:%SZ")
        )
    };
    let hour = chrono::Duration::hours(1);
    let within = app
        .get_json(&format!(
            "/api/v1/handovers?{}",
            span(t0() - hour, t0() + hour)
        ))
        .await;
    assert_eq!(within.as_array().map(Vec::len), Some(1), "{within}");
    let later = app
        .get_json(&format!(
            "/api/v1/handovers?{}",
            span(t0() + hour, t0() + hour * 2)
        ))
        .await;
    assert_eq!(later.as_array().map(Vec::len), Some(0), "{later}");

    // The duty log of the shift: the staff's entries and the hand-over.
    let (status, entry) = app
        .post_json(
            "/api/v1/duty-log",
            json!({"author": "night-wang", "shift": "2026-11-03 夜班", "text": "02:10 巡查B2，水泵正常"}),
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    let (status, body) = app
        .post_json(
            "/api/v1/duty-log",
            json!({"author": "night-wang", "shift": "2026-11-03 夜班", "text": "  "}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("text")));
    let log = app
        .get_json(&format!(
            "/api/v1/duty-log?{}",
            span(t0() - hour, t0() + hour)
        ))
        .await;
    assert_eq!(log["entries"][0]["text"], "02:10 巡查B2，水泵正常", "{log}");
    assert_eq!(log["handovers"][0]["id"], id, "{log}");

    // Every change is in the audit trail.
    let audit = app.get_json("/api/v1/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    for a in [
        "POST /api/v1/handovers",
        "POST /api/v1/handovers/{id}/commands",
        "POST /api/v1/duty-log",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn a_hand_over_lists_open_items_and_completes_when_all_are_acknowledged_on_sqlite() {
    hand_over_lists_open_items_and_completes_when_all_are_acknowledged(Db::Sqlite).await;
}

#[tokio::test]
async fn a_hand_over_lists_open_items_and_completes_when_all_are_acknowledged_on_postgres() {
    hand_over_lists_open_items_and_completes_when_all_are_acknowledged(Db::Postgres).await;
}

fn kpi(report: &Value, name: &str) -> Value {
    report["kpis"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("{name} in {report}"))
}

/// Ten repairs in November: nine owners contacted within 30 minutes and one after 45;
/// eight done within three days and two after four; five followed up, four satisfied.
#[tokio::test]
async fn kpis_of_a_constructed_month_are_exact() {
    let clock = Arc::new(ManualClock::new(t0()));
    let app = app_with_units(Db::Sqlite, clock.clone()).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(request(&app, repair_kind(), None).await);
    }
    clock.advance(chrono::Duration::minutes(20));
    for id in &ids[..9] {
        step(&app, *id, json!({"type": "acknowledge"})).await;
    }
    clock.advance(chrono::Duration::minutes(25));
    step(&app, ids[9], json!({"type": "acknowledge"})).await;
    for id in &ids {
        step(
            &app,
            *id,
            json!({"type": "dispatch", "technician": "tech-zhang"}),
        )
        .await;
    }
    let complete = json!({"type": "complete", "report": "已修复，现场已清理"});
    clock.advance(chrono::Duration::hours(4));
    for id in &ids[..8] {
        step(&app, *id, complete.clone()).await;
    }
    clock.advance(chrono::Duration::days(4));
    for id in &ids[8..] {
        step(&app, *id, complete.clone()).await;
    }
    for (n, id) in ids[..5].iter().enumerate() {
        let call =
            json!({"type": "follow_up", "method": "phone", "outcome": "ok", "satisfied": n != 0});
        step(&app, *id, call).await;
    }

    let report = app.get_json("/api/v1/kpis?period=2026-11").await;
    let repairs = kpi(&report, "repairs_in_time");
    assert_eq!(
        (repairs["count"].as_u64(), repairs["of"].as_u64()),
        (Some(8), Some(10))
    );
    assert_eq!(repairs["ratio"].as_f64(), Some(0.8));
    let follow = kpi(&report, "follow_up_rate");
    assert_eq!(
        (follow["count"].as_u64(), follow["of"].as_u64()),
        (Some(5), Some(10))
    );
    assert_eq!(follow["ratio"].as_f64(), Some(0.5));
    assert_eq!(follow["target"].as_f64(), Some(1.0));
    assert_eq!(follow["met"], false);
    let satisfied = kpi(&report, "satisfaction");
    assert_eq!(satisfied["ratio"].as_f64(), Some(0.8));
    assert_eq!(satisfied["target"].as_f64(), Some(0.95));
    let responses = kpi(&report, "responses_in_time");
    assert_eq!(responses["ratio"].as_f64(), Some(0.9));

    // A span with nothing in it has no ratio; a bad period is refused by field.
    let october = app.get_json("/api/v1/kpis?period=2026-10").await;
    assert_eq!(kpi(&october, "repairs_in_time")["ratio"], Value::Null);
    let resp = app
        .client
        .get(format!("{}/api/v1/kpis?period=2026-13", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["field"], "period");

    // The current month's gauges and targets in /metrics: the engine's tick counts them
    // once a minute of business time.
    clock.advance(chrono::Duration::minutes(1));
    eventually("KPI gauges", WAIT, || async {
        let m = app.metrics().await;
        (metric(&m, r#"sitewatch_kpi_ratio{kpi="repairs_in_time"}"#) == Some(0.8)
            && metric(&m, r#"sitewatch_kpi_ratio{kpi="follow_up_rate"}"#) == Some(0.5))
        .then_some(())
    })
    .await;
    let m = app.metrics().await;
    assert_eq!(
        metric(&m, r#"sitewatch_kpi_target_ratio{kpi="satisfaction"}"#),
        Some(0.95)
    );
}

#[tokio::test]
async fn a_request_names_its_incident_and_the_incident_lists_its_requests() {
    let clock = Arc::new(ManualClock::new(t0()));
    let app = app_with_units(Db::Sqlite, clock).await;
    let water = open_incident(&app, "water_ingress").await;
    let repair = request(&app, repair_kind(), Some(water)).await;
    let shown = app.get_json(&format!("/api/v1/requests/{repair}")).await;
    assert_eq!(shown["incident"], water);

    // A complaint opens its own incident from the request.
    let complaint = request(&app, json!({"type": "complaint", "important": false}), None).await;
    let (status, linked) = app
        .post_json(
            &format!("/api/v1/requests/{complaint}/incident"),
            json!({"actor": "desk-chen", "open": {"category": "complaint", "title": "楼上噪音"}}),
        )
        .await;
    assert_eq!(status, 200, "{linked}");
    let opened = linked["incident"].as_i64().expect("incident");
    let incident = app.get_json(&format!("/api/v1/incidents/{opened}")).await;
    assert_eq!(incident["location"], "1-0301");
    assert_eq!(
        incident["source"],
        json!({"service_request": complaint}),
        "{incident}"
    );
    let of_opened = app
        .get_json(&format!("/api/v1/incidents/{opened}/requests"))
        .await;
    assert_eq!(of_opened[0]["id"], complaint, "{of_opened}");
    let of_water = app
        .get_json(&format!("/api/v1/incidents/{water}/requests"))
        .await;
    let listed: Vec<i64> = of_water
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert_eq!(listed, vec![repair]);

    // Linked once; a missing incident is a bad field; the link is audited.
    let (status, body) = app
        .post_json(
            &format!("/api/v1/requests/{complaint}/incident"),
            json!({"actor": "desk-chen", "incident": water}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let third = request(&app, repair_kind(), None).await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/requests/{third}/incident"),
            json!({"actor": "desk-chen", "incident": 999}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("incident")));
    let (status, body) = app
        .post_json(
            "/api/v1/requests",
            json!({"kind": repair_kind(), "channel": "phone", "unit": "1-0301",
                   "summary": "x", "received_by": "desk-chen", "incident": 999}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("incident")));
    let audit = app.get_json("/api/v1/audit").await;
    let row = audit
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["action"] == "POST /api/v1/requests/{id}/incident" && r["status"] == 200)
        .cloned()
        .unwrap_or_else(|| panic!("link in {audit}"));
    assert_eq!(row["target"], complaint.to_string());
}

async fn fire_alarm(app: &TestApp) -> Value {
    app.get_json(&format!("/api/v1/alarms/{FIRE_ALARM}")).await
}

async fn fire_incidents(app: &TestApp) -> usize {
    let list = app.get_json("/api/v1/incidents?category=fire").await;
    list.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_fire_system_test_keeps_the_panel_quiet_for_its_window_only() {
    let clock = Arc::new(ManualClock::new(t0()));
    let app = app_with_units(Db::Sqlite, clock.clone()).await;
    let starts = t0() + chrono::Duration::hours(2);
    let ends = starts + chrono::Duration::hours(1);
    let notice = |template: &str, devices: Value| {
        json!({
            "level": "notice",
            "template": template,
            "starts_at": starts,
            "ends_at": ends,
            "expires_at": ends + chrono::Duration::hours(1),
            "target": {"type": "building", "building": "1"},
            "created_by": "desk-chen",
            "devices": devices
        })
    };
    // Only a fire-system test suppresses, and only configured devices.
    let (status, body) = app
        .post_json(
            "/api/v1/notices",
            notice("heavy_rain", json!(["fire_panel"])),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("devices")));
    let (status, body) = app
        .post_json(
            "/api/v1/notices",
            notice("fire_system_test", json!(["fire_panel_9"])),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("devices")));
    let mut over = notice("fire_system_test", json!(["fire_panel"]));
    over["starts_at"] = json!(t0() - chrono::Duration::hours(2));
    over["ends_at"] = json!(t0() - chrono::Duration::hours(1));
    let (status, body) = app.post_json("/api/v1/notices", over).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("ends_at")),
        "a window already over would never be applied: {body}"
    );
    let (status, issued) = app
        .post_json(
            "/api/v1/notices",
            notice("fire_system_test", json!(["fire_panel"])),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    assert_eq!(issued["title"], "【通告】消防系统测试通知");
    let id = issued["id"].as_i64().expect("id");

    // Before the window the panel is not suppressed.
    let planned = app
        .get_json(&format!("/api/v1/notices/{id}/fire-tests"))
        .await;
    assert_eq!(planned[0]["devices"], json!(["fire_panel"]));
    assert_eq!(planned[0]["applied_at"], Value::Null);
    assert_eq!(fire_alarm(&app).await["suppressed"], Value::Null);

    // In the window: suppressed; the test trips a zone and nobody is paged.
    clock.set(starts + chrono::Duration::minutes(1));
    eventually("panel suppressed", WAIT, || async {
        fire_alarm(&app).await["suppressed"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    app.sim().set(4, "zone2_alarm", 1.0);
    let masked = eventually("zone active behind the suppression", WAIT, || async {
        Some(fire_alarm(&app).await).filter(|a| a["active"] == true)
    })
    .await;
    assert_eq!(masked["state"], "normal", "{masked}");
    assert_eq!(fire_incidents(&app).await, 0);
    let standing = app.get_json("/api/v1/alarms").await;
    let paging = standing
        .as_array()
        .expect("list")
        .iter()
        .any(|a| a["id"] == FIRE_ALARM && a["state"] != "normal");
    assert!(!paging, "{standing}");
    let planned = app
        .get_json(&format!("/api/v1/notices/{id}/fire-tests"))
        .await;
    assert!(planned[0]["applied_at"].is_string(), "{planned}");

    // After the window alarms work again: the zone still in alarm is raised and opens
    // the fire incident.
    clock.set(ends + chrono::Duration::seconds(1));
    let raised = eventually("alarm raised after the window", WAIT, || async {
        Some(fire_alarm(&app).await).filter(|a| a["state"] == "unack_active")
    })
    .await;
    assert_eq!(raised["suppressed"], Value::Null);
    eventually("fire incident opened", WAIT, || async {
        (fire_incidents(&app).await == 1).then_some(())
    })
    .await;
}

/// A restart inside the window keeps the panel quiet: the suppression is part of the
/// alarm book's saved state, and the test is not put in place twice.
#[tokio::test]
async fn a_fire_system_test_window_survives_a_restart() {
    let clock = Arc::new(ManualClock::new(t0()));
    let app = app_with_units(Db::Sqlite, clock.clone()).await;
    let starts = t0() + chrono::Duration::hours(2);
    let ends = starts + chrono::Duration::hours(1);
    let (status, issued) = app
        .post_json(
            "/api/v1/notices",
            json!({
                "level": "important",
                "template": "fire_system_test",
                "starts_at": starts,
                "ends_at": ends,
                "expires_at": ends,
                "target": {"type": "all"},
                "created_by": "desk-chen",
                "devices": ["fire_panel"]
            }),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    clock.set(starts);
    eventually("panel suppressed", WAIT, || async {
        fire_alarm(&app).await["suppressed"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    let (db, sim) = app.shut_down().await;
    let app = crate::helpers::start(db, sim, "", clock.clone()).await;
    assert!(fire_alarm(&app).await["suppressed"].is_string());
    app.sim().set(4, "zone2_alarm", 1.0);
    eventually("zone active behind the suppression", WAIT, || async {
        Some(fire_alarm(&app).await).filter(|a| a["active"] == true)
    })
    .await;
    assert_eq!(fire_incidents(&app).await, 0);
    clock.set(ends);
    eventually("alarm raised at the window's end", WAIT, || async {
        Some(fire_alarm(&app).await).filter(|a| a["state"] == "unack_active")
    })
    .await;
}
