//! Repair requests, complaints and suggestions through the API: a repair closes only with
//! its completion report, follow-up and rating; a declined request keeps the reason given
//! to the owner; an overdue repair gets a chaser (催办) that takes the reason for delay;
//! every change reaches the journal, MQTT and the live stream, and survives a restart.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use sitewatch::core::clock::{ManualClock, SystemClock};

use crate::customers::{import_csv, three_units};
use crate::helpers::{Db, TestApp, eventually, metric, spawn_app_with};
use crate::mqtt_out::{seen, subscribe};
use crate::outage::Live;

const WAIT: Duration = Duration::from_secs(10);

fn clock() -> Arc<ManualClock> {
    // Tuesday 10:00 in Shanghai.
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0)
            .single()
            .expect("time"),
    ))
}

async fn app_with_units(kind: Db, clock: Arc<ManualClock>) -> TestApp {
    let app = spawn_app_with(kind, "", clock).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    app
}

async fn repair(app: &TestApp) -> i64 {
    let (status, body) = app
        .post_json(
            "/api/v1/requests",
            json!({
                "kind": {"type": "repair", "emergency": false},
                "channel": "hotline",
                "unit": "1-0301",
                "owner": "王芳",
                "summary": "厨房水龙头漏水",
                "received_by": "desk-chen"
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["state"], "received");
    body["id"].as_i64().expect("id")
}

async fn step(app: &TestApp, id: i64, action: Value) -> (u16, Value) {
    app.post_json(
        &format!("/api/v1/requests/{id}/commands"),
        json!({"actor": "desk-chen", "action": action}),
    )
    .await
}

async fn ok(app: &TestApp, id: i64, action: Value) {
    let (status, body) = step(app, id, action.clone()).await;
    assert_eq!(status, 200, "{action}: {body}");
}

async fn repair_closes_only_with_its_three_records(kind: Db) {
    let app = app_with_units(kind, clock()).await;
    let id = repair(&app).await;
    ok(&app, id, json!({"type": "acknowledge"})).await;
    ok(
        &app,
        id,
        json!({"type": "dispatch", "technician": "tech-zhao"}),
    )
    .await;
    let (status, body) = step(&app, id, json!({"type": "close"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "missing_records");
    assert_eq!(
        body["missing"],
        json!(["completion report", "follow-up", "rating"])
    );
    ok(
        &app,
        id,
        json!({"type": "complete", "report": "更换阀芯，现场已清理"}),
    )
    .await;
    let due = app.get_json("/api/v1/followups/due").await;
    assert!(
        due.as_array()
            .expect("list")
            .iter()
            .any(|f| f["reference"] == format!("request:{id}")),
        "a completed repair waits for its follow-up call: {due}"
    );
    ok(
        &app,
        id,
        json!({"type": "follow_up", "method": "phone", "outcome": "已修好", "satisfied": true}),
    )
    .await;
    let (status, body) = step(&app, id, json!({"type": "close"})).await;
    assert_eq!(body["missing"], json!(["rating"]), "{status} {body}");
    ok(&app, id, json!({"type": "rate", "score": 5})).await;
    ok(&app, id, json!({"type": "close"})).await;
    let r = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(r["state"], "closed");
    assert_eq!(r["completion"]["technician"], "tech-zhao");
    assert_eq!(r["rating"], 5);
}

#[tokio::test]
async fn a_repair_closes_only_with_report_follow_up_and_rating_on_sqlite() {
    repair_closes_only_with_its_three_records(Db::Sqlite).await;
}

#[tokio::test]
async fn a_repair_closes_only_with_report_follow_up_and_rating_on_postgres() {
    repair_closes_only_with_its_three_records(Db::Postgres).await;
}

#[tokio::test]
async fn a_declined_request_keeps_the_reason_given_to_the_owner() {
    let app = app_with_units(Db::Sqlite, clock()).await;
    let id = repair(&app).await;
    let (status, body) = step(&app, id, json!({"type": "decline", "reason": " "})).await;
    assert_eq!(status, 422, "an empty reason is refused: {body}");
    ok(
        &app,
        id,
        json!({"type": "decline", "reason": "属业主户内私有设施，建议联系厂家保修"}),
    )
    .await;
    let r = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(r["state"], "declined");
    assert_eq!(r["decline_reason"], "属业主户内私有设施，建议联系厂家保修");
    let declined = app.get_json("/api/v1/requests?state=declined").await;
    assert_eq!(declined.as_array().map(Vec::len), Some(1));
    let (status, _) = step(&app, id, json!({"type": "acknowledge"})).await;
    assert_eq!(status, 409, "a declined request takes no more steps");
}

#[tokio::test]
async fn an_overdue_repair_gets_a_chaser_that_takes_the_reason_for_delay() {
    let clock = clock();
    let app = app_with_units(Db::Sqlite, clock.clone()).await;
    let id = repair(&app).await;
    let overdue = app.get_json("/api/v1/requests?overdue=true").await;
    assert_eq!(overdue.as_array().map(Vec::len), Some(0));
    // Nobody contacts the owner within 30 minutes (rules.md §14 Repairs).
    clock.advance(chrono::Duration::minutes(45));
    let r = eventually("a chaser on the repair", WAIT, || async {
        let r = app.get_json(&format!("/api/v1/requests/{id}")).await;
        (r["chasers"].as_array().map(Vec::len) == Some(1)).then_some(r)
    })
    .await;
    assert_eq!(r["chasers"][0]["overdue"], "acknowledged");
    assert_eq!(r["overdue"], true);
    let overdue = app.get_json("/api/v1/requests?overdue=true").await;
    assert_eq!(overdue[0]["id"], id);
    eventually("chaser and overdue counted", WAIT, || async {
        let m = app.metrics().await;
        let chasers = metric(&m, r#"sitewatch_service_chasers_total{kind="repair"}"#);
        let overdue = metric(&m, r#"sitewatch_service_overdue{kind="repair"}"#);
        (chasers == Some(1.0) && overdue == Some(1.0)).then_some(())
    })
    .await;
    ok(
        &app,
        id,
        json!({"type": "explain_delay", "reason": "维修班组在处理3栋停水"}),
    )
    .await;
    let r = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(r["chasers"][0]["reason_for_delay"], "维修班组在处理3栋停水");
}

#[tokio::test]
async fn a_request_for_a_unit_not_in_the_register_is_refused() {
    let app = app_with_units(Db::Sqlite, clock()).await;
    let (status, body) = app
        .post_json(
            "/api/v1/requests",
            json!({"kind": {"type": "suggestion"}, "channel": "web", "unit": "9-9999",
                   "summary": "增加快递柜", "received_by": "desk-chen"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "unit");
}

/// Taking in a request and dispatching it are the engine's decisions like an incident's:
/// each is journalled, published on the site's MQTT events topic (a real Mosquitto) and
/// sent on the live stream.
#[tokio::test]
async fn a_request_and_its_dispatch_reach_the_journal_mqtt_and_the_live_stream() {
    let extra = "[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n";
    let app = spawn_app_with(Db::Sqlite, extra, Arc::new(SystemClock)).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    // The retained status proves the subscription is in place before anything is sent.
    let (_client, msgs) = subscribe(1883, &format!("sitewatch/{}/#", app.site)).await;
    let status_topic = format!("sitewatch/{}/status", app.site);
    seen(&msgs, "online status", |(t, _, _)| t == &status_topic).await;
    let live = Live::open(&app, "request").await;

    let id = repair(&app).await;
    ok(
        &app,
        id,
        json!({"type": "dispatch", "technician": "tech-zhao"}),
    )
    .await;

    let events_topic = format!("sitewatch/{}/events", app.site);
    let on_mqtt = |step: &'static str| {
        let topic = events_topic.clone();
        move |(t, b, _): &(String, Value, bool)| {
            t == &topic
                && b["kind"] == "request"
                && b["data"]["request"] == id
                && b["data"]["kind"]["type"] == step
        }
    };
    seen(&msgs, "intake on MQTT", on_mqtt("received")).await;
    let (_, dispatched, _) = seen(&msgs, "dispatch on MQTT", on_mqtt("state_changed")).await;
    assert_eq!(
        dispatched["data"]["kind"]["to"], "in_progress",
        "{dispatched}"
    );
    assert_eq!(dispatched["data"]["actor"], "desk-chen");

    let request = format!("\"request\":{id}");
    live.wait("intake live", &[&request, "\"received\""]).await;
    live.wait("dispatch live", &[&request, "\"in_progress\""])
        .await;

    let subject = id.to_string();
    let journal = eventually("intake and dispatch journalled", WAIT, || async {
        let rows = app.get_json("/api/v1/events?kind=request").await;
        let steps: Vec<String> = rows
            .as_array()?
            .iter()
            .filter(|r| r["subject"] == subject.as_str())
            .filter_map(|r| r["body"]["kind"]["type"].as_str().map(str::to_owned))
            .collect();
        steps.contains(&"state_changed".to_owned()).then_some(steps)
    })
    .await;
    assert_eq!(
        journal.first().map(String::as_str),
        Some("received"),
        "{journal:?}"
    );
}

/// Requests and hand-overs are kept by the store writer and restored at start: after a
/// restart they read as before and numbering goes on.
#[tokio::test]
async fn requests_and_hand_overs_survive_a_restart() {
    let clock = clock();
    let app = app_with_units(Db::Sqlite, clock.clone()).await;
    let id = repair(&app).await;
    ok(&app, id, json!({"type": "acknowledge"})).await;
    let (status, handover) = app
        .post_json("/api/v1/handovers", json!({"outgoing": "night-wang"}))
        .await;
    assert_eq!(status, 201, "{handover}");
    let handover_id = handover["id"].as_i64().expect("id");
    assert_eq!(
        handover["entries"][0]["item"]["reference"],
        format!("request:{id}")
    );

    let (db, sim) = app.shut_down().await;
    let app = crate::helpers::start(db, sim, "", clock).await;
    let r = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(r["state"], "acknowledged", "{r}");
    let kept = app
        .get_json(&format!("/api/v1/handovers/{handover_id}"))
        .await;
    assert_eq!(kept["entries"], handover["entries"], "{kept}");
    assert_eq!(repair(&app).await, id + 1);
}
