//! A fire zone and a pump trip, end to end: the alarm appears, escalates when nobody
//! acknowledges, opens an incident by policy, is acknowledged through the API, and the
//! standing list survives a restart exactly.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use sitewatch::core::clock::ManualClock;

use crate::helpers::{Db, TestApp, eventually, metric, spawn_app_with, start};

const WAIT: Duration = Duration::from_secs(10);

fn clock() -> Arc<ManualClock> {
    // 02:14 in Shanghai, as in the story of the pump that trips at night.
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 18, 14, 0)
            .single()
            .expect("time"),
    ))
}

async fn alarm(app: &TestApp, id: &str) -> Option<serde_json::Value> {
    let list = app.get_json("/api/v1/alarms").await;
    list.as_array()?.iter().find(|a| a["id"] == id).cloned()
}

async fn wait_alarm(app: &TestApp, id: &str, state: &str) -> serde_json::Value {
    eventually(&format!("alarm {id} in {state}"), WAIT, || async {
        alarm(app, id).await.filter(|a| a["state"] == state)
    })
    .await
}

#[tokio::test]
async fn fire_zone_alarm_escalates_and_opens_a_fire_incident_with_its_clock() {
    let clock = clock();
    let app = spawn_app_with(Db::Sqlite, "", clock.clone()).await;
    app.sim().set(4, "zone2_alarm", 1.0);
    let a = wait_alarm(&app, "fire_panel.zone2_alarm:discrete", "unack_active").await;
    assert_eq!(a["priority"], "emergency");
    // Emergency priority opens an incident at once (rules.md §14), category fire, with the
    // 3-minute on-site clock (seed 004:157).
    let incident = eventually("fire incident opened", WAIT, || async {
        let list = app.get_json("/api/v1/incidents").await;
        list.as_array()?
            .iter()
            .find(|i| i["category"] == "fire")
            .cloned()
    })
    .await;
    let board = app.get_json("/api/v1/incidents/board").await;
    let on_site = board
        .as_array()
        .expect("clocks")
        .iter()
        .find(|c| c["owner_id"] == incident["id"] && c["sla"] == "on_site");
    assert!(on_site.is_some(), "{board}");
    // Nobody acknowledges: after 1 minute the shift lead is called (emergency chain, §14).
    clock.advance(chrono::Duration::seconds(61));
    eventually("escalated to level 1", WAIT, || async {
        alarm(&app, "fire_panel.zone2_alarm:discrete")
            .await
            .filter(|a| a["escalation_level"].as_u64() >= Some(1))
    })
    .await;
    let (status, events) = app
        .post_json(
            "/api/v1/alarms/fire_panel.zone2_alarm:discrete/acknowledge",
            serde_json::json!({"actor": "duty-engineer-li"}),
        )
        .await;
    assert_eq!(status, 200, "{events}");
    let a = wait_alarm(&app, "fire_panel.zone2_alarm:discrete", "ack_active").await;
    assert_eq!(a["acked_by"], "duty-engineer-li");
    // The on-site clock breaches when nobody records arrival within 3 minutes.
    clock.advance(chrono::Duration::minutes(3));
    eventually("on-site breach counted", WAIT, || async {
        let m = app.metrics().await;
        (metric(
            &m,
            r#"sitewatch_incident_sla_breaches_total{sla="on_site"}"#,
        ) == Some(1.0))
        .then_some(())
    })
    .await;
    let history = app.get_json("/api/v1/alarms/history").await;
    let kinds: Vec<&str> = history
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["body"]["transition"]["kind"].as_str())
        .collect();
    for k in ["raised", "escalated", "acknowledged"] {
        eventually(&format!("{k} in the journal"), WAIT, || async {
            let h = app.get_json("/api/v1/alarms/history").await;
            h.as_array()?
                .iter()
                .any(|r| r["body"]["transition"]["kind"] == k)
                .then_some(())
        })
        .await;
    }
    assert!(!kinds.is_empty());
}

#[tokio::test]
async fn acknowledging_twice_is_a_conflict_and_unknown_alarm_is_not_found() {
    let app = spawn_app_with(Db::Sqlite, "", clock()).await;
    app.sim().set(3, "fault", 1.0);
    wait_alarm(&app, "pump_1.fault:discrete", "unack_active").await;
    let body = serde_json::json!({"actor": "eng"});
    assert_eq!(
        app.post_json(
            "/api/v1/alarms/pump_1.fault:discrete/acknowledge",
            body.clone()
        )
        .await
        .0,
        200
    );
    let (status, err) = app
        .post_json(
            "/api/v1/alarms/pump_1.fault:discrete/acknowledge",
            body.clone(),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("conflict")));
    assert_eq!(
        app.post_json("/api/v1/alarms/nope/acknowledge", body)
            .await
            .0,
        404
    );
    let (status, err) = app
        .post_json(
            "/api/v1/alarms/pump_1.fault:discrete/acknowledge",
            serde_json::json!({"actor": " "}),
        )
        .await;
    assert_eq!((status, err["field"].as_str()), (422, Some("actor")));
}

#[tokio::test]
async fn standing_alarms_survive_a_restart_exactly() {
    let clock = clock();
    let app = spawn_app_with(Db::Sqlite, "", clock.clone()).await;
    app.sim().set(3, "fault", 1.0);
    app.sim().set(4, "zone1_fault", 1.0);
    wait_alarm(&app, "pump_1.fault:discrete", "unack_active").await;
    wait_alarm(&app, "fire_panel.zone1_fault:discrete", "unack_active").await;
    app.post_json(
        "/api/v1/alarms/pump_1.fault:discrete/acknowledge",
        serde_json::json!({"actor": "eng-wang"}),
    )
    .await;
    let (status, _) = app
        .post_json(
            "/api/v1/alarms/fire_panel.zone1_fault:discrete/shelve",
            serde_json::json!({"actor": "eng-wang", "reason": "detector replacement", "minutes": 60}),
        )
        .await;
    assert_eq!(status, 200);
    let before = app.get_json("/api/v1/alarms").await;
    let (db, sim) = app.shut_down().await;
    let app = start(db, sim, "", clock.clone()).await;
    let after = app.get_json("/api/v1/alarms").await;
    let pick = |v: &serde_json::Value, id: &str| {
        v.as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == id).cloned())
    };
    let pump = pick(&after, "pump_1.fault:discrete").expect("pump alarm restored");
    assert_eq!(
        (pump["state"].as_str(), pump["acked_by"].as_str()),
        (Some("ack_active"), Some("eng-wang"))
    );
    let zone = pick(&after, "fire_panel.zone1_fault:discrete").expect("shelved alarm restored");
    assert_eq!(
        zone["shelved"],
        pick(&before, "fire_panel.zone1_fault:discrete").expect("before")["shelved"]
    );
    assert_eq!(zone["shelved"]["reason"], "detector replacement");
}

#[tokio::test]
async fn malformed_bodies_get_the_stable_error_body_and_are_counted() {
    let app = spawn_app_with(Db::Sqlite, "", clock()).await;
    let post = |body: &'static str| {
        let url = format!(
            "{}/api/v1/alarms/pump_1.fault:discrete/acknowledge",
            app.base
        );
        let client = app.client.clone();
        async move {
            let resp = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            (
                status,
                resp.json::<serde_json::Value>()
                    .await
                    .expect("a JSON error body"),
            )
        }
    };
    let (status, err) = post("{not json").await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (400, Some("bad_body"), Some("body")),
        "{err}"
    );
    let (status, err) = post(r#"{"who": "li"}"#).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("bad_body")),
        "{err}"
    );
    assert!(
        err["message"].as_str().is_some_and(|m| m.contains("actor")),
        "{err}"
    );
    let m = app.metrics().await;
    assert_eq!(
        metric(&m, r#"sitewatch_api_errors_total{code="bad_body"}"#),
        Some(2.0)
    );
}
