//! Guard patrols through the HTTP API: every scan is stored before the answer and judged
//! (unknown tags and resends flagged, never dropped), and a checkpoint missed at the
//! tour's deadline raises the patrol alarm, which opens an incident by policy.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;
use sitewatch::core::clock::ManualClock;
use sqlx::Connection as _;

use crate::helpers::{Db, TestApp, eventually, metric, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);

pub(crate) const PATROL: &str = r#"
[patrol]
readers = ["gate_1"]

[[patrol.checkpoints]]
id = "b1_lobby"
tag_uid = "04A23B11"
short_code = "B1L"
name = "B1 lobby"
building = "T1"
floor = "B1"

[[patrol.checkpoints]]
id = "roof"
tag_uid = "04A23B22"
short_code = "ROOF"
name = "Roof plant room"
building = "T1"
floor = "R"

[[patrol.routes]]
id = "night"
name = "Night loop"
ordered = true
checkpoints = [{ checkpoint = "b1_lobby", offset_minutes = 0 }, { checkpoint = "roof", offset_minutes = 10 }]
schedules = [{ every_hours = 2, from = "22:00", to = "06:00" }]
"#;

/// 02:01 in Shanghai: the 02:00 night tour is open.
pub(crate) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 18, 1, 0)
            .single()
            .expect("time"),
    ))
}

async fn scan(app: &TestApp, id: &str, tag: serde_json::Value) -> (u16, serde_json::Value) {
    let mut body = json!({"id": id, "guard": "guard-zhang"});
    body.as_object_mut()
        .expect("object")
        .extend(tag.as_object().expect("object").clone());
    app.post_json("/api/v1/patrol/scans", body).await
}

pub(crate) async fn open_tour(app: &TestApp) {
    eventually("the 02:00 tour is open", WAIT, || async {
        let next = app.get_json("/api/v1/patrol/next?route=night").await;
        (next["next"] == "b1_lobby").then_some(())
    })
    .await;
}

#[tokio::test]
async fn scans_are_stored_judged_and_resends_recognised() {
    let app = spawn_app_with(Db::Sqlite, PATROL, clock()).await;
    open_tour(&app).await;
    let (status, unknown) = scan(&app, "s1", json!({"tag_uid": "DEADBEEF"})).await;
    assert_eq!(
        (status, unknown["record"]["result"]["result"].as_str()),
        (201, Some("unknown_tag"))
    );
    let (status, ok) = scan(&app, "s2", json!({"tag_uid": "04:a2:3b:11"})).await;
    assert_eq!(
        (status, ok["record"]["result"]["result"].as_str()),
        (201, Some("ok"))
    );
    assert_eq!(ok["progress"]["next"], "roof");
    // The phone resends its queue: recognised, not counted twice.
    let (status, again) = scan(&app, "s2", json!({"tag_uid": "04:a2:3b:11"})).await;
    assert_eq!(
        (status, again["record"]["result"]["result"].as_str()),
        (200, Some("resent"))
    );
    let (_, roof) = scan(&app, "s3", json!({"short_code": "roof"})).await;
    assert_eq!(roof["record"]["result"]["result"], "ok");
    assert_eq!(roof["progress"]["status"], "completed");
    let stored = app
        .get_json("/api/v1/patrol/scans?from=2026-11-24T00:00:00Z&to=2026-11-26T00:00:00Z")
        .await;
    let results: Vec<&str> = stored
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["result"]["result"].as_str())
        .collect();
    assert_eq!(results, vec!["unknown_tag", "ok", "ok"]);
    let m = app.metrics().await;
    assert_eq!(
        metric(&m, r#"sitewatch_patrol_scans_total{result="unknown_tag"}"#),
        Some(1.0)
    );
    let (status, err) = scan(&app, "s4", json!({})).await;
    assert_eq!((status, err["field"].as_str()), (422, Some("tag_uid")));
}

#[tokio::test]
async fn a_resent_scan_saves_the_verdict_its_first_send_could_not() {
    let app = spawn_app_with(Db::Sqlite, PATROL, clock()).await;
    open_tour(&app).await;
    let mut db = sqlx::SqliteConnection::connect(&app.db.url)
        .await
        .expect("open the daemon's file");
    sqlx::query("pragma busy_timeout = 5000")
        .execute(&mut db)
        .await
        .expect("busy timeout");
    // The database takes the scan but refuses its verdict, as a failing write would.
    sqlx::query(
        "create trigger no_verdicts before update on scans \
         begin select raise(abort, 'verdicts refused'); end",
    )
    .execute(&mut db)
    .await
    .expect("trigger");
    let lobby = json!({"tag_uid": "04:a2:3b:11"});
    let (status, _) = scan(&app, "s5", lobby.clone()).await;
    assert!(status >= 500, "a 5xx, so the phone resends: {status}");
    sqlx::query("drop trigger no_verdicts")
        .execute(&mut db)
        .await
        .expect("drop the trigger");
    let (status, _) = scan(&app, "s5", lobby).await;
    assert_eq!(status, 200, "stored before, so not created again");
    let stored = app
        .get_json("/api/v1/patrol/scans?from=2026-11-24T00:00:00Z&to=2026-11-26T00:00:00Z")
        .await;
    let ids: Vec<&str> = stored
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["scan"]["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["s5"],
        "its verdict saved by the resend, without a restart"
    );
}

#[tokio::test]
async fn missed_checkpoint_raises_the_patrol_alarm_and_then_an_incident() {
    let clock = clock();
    let app = spawn_app_with(Db::Sqlite, PATROL, clock.clone()).await;
    open_tour(&app).await;
    scan(&app, "s1", json!({"tag_uid": "04A23B11"})).await;
    // The tour started at 02:01 (the first scan); the roof is due by then + 10 min + 10 min
    // grace, which is also the tour's deadline. Nobody comes.
    clock.advance(chrono::Duration::minutes(21));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let alarms = app.get_json("/api/v1/alarms").await;
    assert!(
        !alarms
            .as_array()
            .expect("list")
            .iter()
            .any(|a| a["id"] == "patrol.night_missed:missed"),
        "not missed at the deadline itself"
    );
    clock.advance(chrono::Duration::seconds(1));
    let alarm = eventually("patrol alarm raised", WAIT, || async {
        let list = app.get_json("/api/v1/alarms").await;
        list.as_array()?
            .iter()
            .find(|a| a["id"] == "patrol.night_missed:missed")
            .cloned()
    })
    .await;
    assert_eq!(
        (alarm["priority"].as_str(), alarm["state"].as_str()),
        (Some("high"), Some("unack_active"))
    );
    let m = app.metrics().await;
    assert_eq!(
        metric(
            &m,
            r#"sitewatch_patrol_checkpoints_missed_total{route="night"}"#
        ),
        Some(1.0)
    );
    // High priority, unacknowledged for 5 minutes: an incident opens (rules.md §14).
    clock.advance(chrono::Duration::minutes(5));
    eventually("patrol incident opened", WAIT, || async {
        let list = app.get_json("/api/v1/incidents").await;
        list.as_array()?
            .iter()
            .find(|i| i["category"] == "patrol_finding")
            .cloned()
    })
    .await;
    let report = app.get_json("/api/v1/patrol/report?date=2026-11-25").await;
    assert_eq!(
        report["missed"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(report["missed"][0]["checkpoint"], "roof");
    assert_eq!(report["incomplete"], 1);
}

#[tokio::test]
async fn a_finding_of_a_violation_opens_an_incident() {
    let app = spawn_app_with(Db::Postgres, PATROL, clock()).await;
    let (status, answer) = app
        .post_json(
            "/api/v1/patrol/findings",
            json!({"id": "f1", "kind": "common_area_occupation", "text": "Bikes blocking the B1 fire exit", "guard": "guard-zhang", "checkpoint": "b1_lobby"}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["action"]["action"], "open_incident");
    eventually("violation incident opened", WAIT, || async {
        let list = app.get_json("/api/v1/incidents").await;
        list.as_array()?
            .iter()
            .find(|i| i["title"] == "Bikes blocking the B1 fire exit")
            .cloned()
    })
    .await;
}

/// A finding is kept by the store writer with the patrol journal entry that records it:
/// both there when the 201 comes; a resend (the phone lost the answer) is answered 200,
/// kept once and judged once.
#[tokio::test]
async fn a_finding_is_kept_with_its_journal_entry_before_the_answer_and_a_resend_once() {
    let app = spawn_app_with(Db::Sqlite, PATROL, clock()).await;
    let body = json!({"id": "f-kept", "kind": "vehicle", "text": "blocking the gate", "guard": "guard-zhang"});
    let (status, answer) = app.post_json("/api/v1/patrol/findings", body.clone()).await;
    assert_eq!(status, 201, "{answer}");
    let kept = "select count(*) from findings where finding_id = 'f-kept'";
    assert_eq!(app.count(kept).await, 1, "the finding's row, when answered");
    let recorded = app.journalled("patrol", "kind", "finding_recorded").await;
    assert_eq!(recorded, 1, "its journal entry, when answered");
    let (status, answer) = app.post_json("/api/v1/patrol/findings", body).await;
    assert_eq!((status, &answer["resent"]), (200, &json!(true)), "{answer}");
    assert_eq!(app.count(kept).await, 1, "a resend is not kept twice");
    let recorded = app.journalled("patrol", "kind", "finding_recorded").await;
    assert_eq!(recorded, 1, "a resend is not judged twice");
}

#[tokio::test]
async fn a_finding_needs_a_bounded_id() {
    let app = spawn_app_with(Db::Sqlite, PATROL, clock()).await;
    for id in [String::new(), "x".repeat(101)] {
        let body = json!({"id": id, "kind": "vehicle", "text": "blocking the gate", "guard": "guard-zhang"});
        let (status, err) = app.post_json("/api/v1/patrol/findings", body).await;
        assert_eq!((status, err["field"].as_str()), (422, Some("id")), "{err}");
    }
}
