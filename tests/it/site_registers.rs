//! The key register (rules.md §13.23) and pump and plant maintenance (§13.13) through the
//! API on SQLite and PostgreSQL with a manual clock: CSV imports all or nothing with bad
//! lines named; a key out past its expected return is on the duty board's list and the
//! gauge, and raises the `keys` alarm after its grace until it is signed back in; an
//! inventory keeps what is missing; an overdue maintenance task is listed and counted
//! until it is done, and its running data is kept; a pump pair that is not read takes its
//! switch-over by hand.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use sitewatch_core::clock::ManualClock;

use crate::helpers::{Db, TestApp, eventually, metric, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);
const KEY_ALARM: &str = "keys.key_return_overdue:overdue";

async fn csv(app: &TestApp, path: &str, file: &str) -> (u16, serde_json::Value) {
    let resp = (app.client.post(format!("{}{path}", app.base)))
        .header("content-type", "text/csv")
        .body(file.to_owned())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// 10:00 site time on 2026-12-07.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0)
        .single()
        .expect("time")
}

async fn gauge(app: &TestApp, series: &str, want: f64) {
    eventually(series, WAIT, || async {
        (metric(&app.metrics().await, series) == Some(want)).then_some(())
    })
    .await;
}

async fn key_alarm_active(app: &TestApp) -> bool {
    let list = app.get_json("/api/v1/alarms").await;
    (list.as_array().into_iter().flatten()).any(|a| {
        a["id"] == KEY_ALARM && a["state"].as_str().is_some_and(|s| s.ends_with("_active"))
    })
}

fn states(list: &serde_json::Value) -> Vec<(String, String)> {
    (list.as_array().into_iter().flatten())
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
            (s("id"), s("state"))
        })
        .collect()
}

#[tokio::test]
async fn a_key_out_past_its_return_is_on_the_board_alarms_after_the_grace_and_an_inventory_keeps_what_is_missing()
 {
    keys_on(Db::Sqlite).await;
}

#[tokio::test]
async fn the_key_register_s_records_are_kept_on_postgres() {
    keys_on(Db::Postgres).await;
}

async fn keys_on(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let app = spawn_app_with(db, "", clock.clone()).await;
    let head = "id,kind,label,location,keeper\n";
    let bad = format!("{head}K-PR1,plant_room,B1 pump room,A3,cs\nK-G,garage,Garage,A4,cs\n");
    let (status, body) = csv(&app, "/api/v1/keys/import", &bad).await;
    assert_eq!(
        (status, body["problems"][0]["line"].as_u64()),
        (422, Some(3)),
        "{body}"
    );
    assert_eq!(
        app.get_json("/api/v1/keys").await,
        json!([]),
        "nothing kept"
    );
    let good = format!(
        "{head}K-PR1,plant_room,B1 pump room,A3,cs\nK-ROOF,roof_door,T1 roof door,A9,security\n\
         K-FE2,fire_exit,T2 stair B,A10,security\n"
    );
    let (status, body) = csv(&app, "/api/v1/keys/import", &good).await;
    assert_eq!((status, &body["imported"]), (200, &json!(3)), "{body}");

    let back = start() + chrono::Duration::hours(1);
    let (status, loan) = app
        .post_json(
            "/api/v1/keys/K-PR1/sign-out",
            json!({"holder": "eng-zhao", "purpose": "pump service", "expected_back": back}),
        )
        .await;
    assert_eq!(status, 200, "{loan}");
    assert_eq!(app.get_json("/api/v1/keys/overdue").await, json!([]));
    clock.advance(chrono::Duration::minutes(61));
    gauge(&app, "sitewatch_keys_overdue", 1.0).await;
    let late = app.get_json("/api/v1/keys/overdue").await;
    assert_eq!(
        states(&late),
        [("K-PR1".into(), "overdue".into())],
        "{late}"
    );
    assert_eq!(late[0]["loan"]["holder"], "eng-zhao");
    assert!(!key_alarm_active(&app).await, "the desk chases it first");
    clock.advance(chrono::Duration::hours(2));
    eventually("the key alarm", WAIT, || async {
        key_alarm_active(&app).await.then_some(())
    })
    .await;
    let (status, _) = app
        .post_json("/api/v1/keys/K-PR1/sign-in", json!({"by": "eng-zhao"}))
        .await;
    assert_eq!(status, 200);
    eventually("the key alarm cleared", WAIT, || async {
        (!key_alarm_active(&app).await).then_some(())
    })
    .await;
    gauge(&app, "sitewatch_keys_overdue", 0.0).await;
    assert_eq!(
        app.count("select count(*) from key_loans where key_set_id = 'K-PR1' and expected_back_ms is not null and in_at_ms is not null")
            .await,
        1
    );

    let (status, inv) = app
        .post_json(
            "/api/v1/keys/inventory",
            json!({"on_board": ["K-PR1", "K-FE2"], "by": "cs-wang"}),
        )
        .await;
    assert_eq!(status, 200, "{inv}");
    assert_eq!(inv["missing"], json!(["K-ROOF"]));
    assert_eq!(
        app.count("select count(*) from key_inventories where missing = 1")
            .await,
        1
    );
    gauge(&app, "sitewatch_keys_missing", 1.0).await;
    let board = app.get_json("/api/v1/keys/overdue").await;
    assert_eq!(states(&board), [("K-ROOF".into(), "missing".into())]);
    let (status, body) = app
        .post_json("/api/v1/keys/K-ROOF/sign-out", json!({"holder": "x"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let (status, _) = app
        .post_json(
            "/api/v1/keys/inventory",
            json!({"on_board": ["K-NONE"], "by": "cs-wang"}),
        )
        .await;
    assert_eq!(status, 404, "a miscount naming an unknown set is not kept");
}

#[tokio::test]
async fn an_overdue_maintenance_task_is_listed_and_counted_until_done_with_its_running_data() {
    maintenance_on(Db::Sqlite).await;
}

#[tokio::test]
async fn maintenance_records_are_kept_on_postgres() {
    maintenance_on(Db::Postgres).await;
}

async fn maintenance_on(db: Db) {
    let clock = Arc::new(ManualClock::new(start()));
    let app = spawn_app_with(db, "", clock.clone()).await;
    let head = "id,equipment,kind,name,interval_months,last_done,next_due\n";
    let bad = format!(
        "{head}P1-lube,B1,lubrication,Lubricate,,,2026-12-01\nP1-x,B1,other,Paint,,2026-01-01,\n"
    );
    let (status, body) = csv(&app, "/api/v1/maintenance/import", &bad).await;
    assert_eq!(
        (status, body["problems"][0]["line"].as_u64()),
        (422, Some(3)),
        "{body}"
    );
    assert_eq!(app.get_json("/api/v1/maintenance").await, json!([]));
    let good = format!(
        "{head}P1-lube,B1,lubrication,Lubricate bearings,,,2026-12-01\n\
         P1-ctl,B1,control_circuits,Control circuits,,2026-12-05,\n\
         P1-ovh,B1,overhaul,Overhaul,,2026-01-10,\n"
    );
    let (status, body) = csv(&app, "/api/v1/maintenance/import", &good).await;
    assert_eq!((status, &body["imported"]), (200, &json!(3)), "{body}");
    let due = app.get_json("/api/v1/maintenance/due").await;
    assert_eq!(
        states(&due),
        [("P1-lube".into(), "overdue".into())],
        "{due}"
    );
    gauge(&app, "sitewatch_maintenance_due{state=\"overdue\"}", 1.0).await;

    let (status, body) = app
        .post_json(
            "/api/v1/maintenance/P1-lube/done",
            json!({"on": "2026-12-07", "actor": "eng-zhao", "running": {"pressure_bar": 4.2, "current_a": 11.5, "hours": 10230}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["next_due"], "2027-03-07");
    gauge(&app, "sitewatch_maintenance_due{state=\"overdue\"}", 0.0).await;
    assert_eq!(
        app.count("select count(*) from maintenance_done where task_id = 'P1-lube' and body like '%\"pressure_bar\":4.2%'")
            .await,
        1
    );
    let (status, body) = app
        .post_json(
            "/api/v1/maintenance/P1-lube/done",
            json!({"on": "2026-12-08", "actor": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("on")),
        "{body}"
    );

    let (status, body) = app
        .post_json(
            "/api/v1/pump-sets",
            json!({"id": "B1", "name": "B1 domestic water", "run_a": "nope.running", "run_b": "nope2.running", "actor": "eng"}),
        )
        .await;
    assert_eq!(status, 422, "a run point the site does not read: {body}");
    let (status, _) = app
        .post_json(
            "/api/v1/pump-sets",
            json!({"id": "B1", "name": "B1 domestic water", "actor": "eng"}),
        )
        .await;
    assert_eq!(status, 200);
    let at = start() - chrono::Duration::hours(3);
    let (status, body) = app
        .post_json(
            "/api/v1/pump-sets/B1/switch-over",
            json!({"at": at, "actor": "eng-zhao"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sets = app.get_json("/api/v1/pump-sets").await;
    let shown: DateTime<Utc> =
        serde_json::from_value(sets[0]["last_switch_over"].clone()).expect("a time");
    assert_eq!((shown, &sets[0]["derived"]), (at, &json!(false)), "{sets}");
}
