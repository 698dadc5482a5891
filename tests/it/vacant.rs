//! Vacant units from the register reach the inspection book: a unit moved out appears on
//! the due list once its inspection falls due, a failed "leak" item opens a water-ingress
//! incident at the unit, and the unit's key set is signed out and back in.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use sitewatch::core::clock::ManualClock;
use sitewatch::core::inspections::ChecklistItem;

use crate::customers::{import_csv, three_units};
use crate::helpers::{Db, TestApp, eventually, spawn_app_with};

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0)
            .single()
            .expect("time"),
    ))
}

async fn due_units(app: &TestApp) -> Vec<String> {
    let due = app.get_json("/api/v1/inspections/due").await;
    due.as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["unit"].as_str().map(str::to_owned))
        .collect()
}

async fn put_occupancy(app: &TestApp, unit: &str, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .put(format!("{}/api/v1/units/{unit}/occupancy", app.base))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_unit_moved_out_is_due_for_inspection_after_seven_days() {
    let clock = clock();
    let app = spawn_app_with(Db::Sqlite, "", clock.clone()).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = put_occupancy(
        &app,
        "1-0301",
        json!({"occupancy": "vacant", "actor": "desk-wang", "meters": {"water": 321.5, "power": 4410.0}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["history"][1]["meters"]["water"], 321.5, "{body}");
    assert!(
        due_units(&app).await.is_empty(),
        "nothing is due on day one"
    );
    // rules.md §14: vacant units are inspected every 7 days.
    clock.advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    assert_eq!(due_units(&app).await, vec!["1-0301", "1-0302"]);
    // Moving back in takes the unit off the schedule.
    let (status, _) = put_occupancy(
        &app,
        "1-0301",
        json!({"occupancy": "occupied", "actor": "desk-wang"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(due_units(&app).await, vec!["1-0302"]);
}

fn checklist(failed: ChecklistItem, note: &str) -> Vec<Value> {
    ChecklistItem::ALL
        .iter()
        .map(|i| {
            let pass = *i != failed;
            json!({"item": i, "pass": pass, "note": (!pass).then_some(note), "photo": (!pass).then_some("p-1")})
        })
        .collect()
}

#[tokio::test]
async fn a_failed_leak_item_opens_a_water_ingress_incident_at_the_unit() {
    let app = spawn_app_with(Db::Sqlite, "", clock()).await;
    import_csv(&app, &three_units()).await;
    let (status, loan) = app
        .post_json(
            "/api/v1/keys/1-0302/sign-out",
            json!({"holder": "insp-he", "purpose": "巡查"}),
        )
        .await;
    assert_eq!(status, 200, "{loan}");
    let (status, _) = app
        .post_json("/api/v1/keys/1-0302/sign-out", json!({"holder": "insp-li"}))
        .await;
    assert_eq!(status, 409, "one holder at a time");
    let body = json!({
        "id": "insp-1", "unit": "1-0302", "inspector": "insp-he", "key_set": "1-0302",
        "items": checklist(ChecklistItem::NoLeakDampMould, "卫生间天花渗水"),
        "meters": {"water": 10.0, "power": 20.0}
    });
    let (status, answer) = app.post_json("/api/v1/inspections", body.clone()).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["passed"], false);
    let id = answer["incidents"][0].clone();
    let incident = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(incident["category"], "water_ingress");
    assert_eq!(incident["location"], "1-0302");
    let kept = "select count(*) from inspections where inspection_id = 'insp-1'";
    assert_eq!(
        app.count(kept).await,
        1,
        "the inspection's row, when answered"
    );
    let (status, _) = app.post_json("/api/v1/inspections", body.clone()).await;
    assert_eq!(status, 409, "a resent inspection opens nothing twice");
    let (status, loan) = app
        .post_json("/api/v1/keys/1-0302/sign-in", json!({"by": "insp-he"}))
        .await;
    assert_eq!(status, 200, "{loan}");
    assert_eq!(loan["returned_by"], "insp-he");

    // The vacant book learns the inspections kept at start: a resend after a restart is
    // refused too, and nothing more is opened or kept.
    let (db, sim) = app.shut_down().await;
    let app = crate::helpers::start(db, sim, "", clock()).await;
    let (status, answer) = app.post_json("/api/v1/inspections", body).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["message"], "inspection insp-1 is already recorded");
    assert_eq!(app.count(kept).await, 1);
    let incidents = app.get_json("/api/v1/incidents").await;
    assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
}

/// A key loan is the engine's decision, kept by the store writer: the answer comes once
/// its row and its journal entry are in the database, each kept once.
#[tokio::test]
async fn a_key_loan_is_kept_with_its_journal_entry_before_the_answer() {
    let app = spawn_app_with(Db::Sqlite, "", clock()).await;
    import_csv(&app, &three_units()).await;
    let out = json!({"holder": "insp-he", "purpose": "巡查"});
    let (status, loan) = app.post_json("/api/v1/keys/1-0302/sign-out", out).await;
    assert_eq!(status, 200, "{loan}");
    let open = "select count(*) from key_loans where key_set_id = '1-0302' and in_at_ms is null";
    assert_eq!(app.count(open).await, 1, "the loan's row, when answered");
    assert_eq!(app.journalled("vacant", "kind", "key").await, 1);

    let (status, loan) = app
        .post_json("/api/v1/keys/1-0302/sign-in", json!({"by": "insp-li"}))
        .await;
    assert_eq!(status, 200, "{loan}");
    let back =
        "select count(*) from key_loans where key_set_id = '1-0302' and returned_by = 'insp-li'";
    assert_eq!(app.count(back).await, 1, "the row closed, when answered");
    assert_eq!(app.count(open).await, 0);
    assert_eq!(
        app.count("select count(*) from key_loans").await,
        1,
        "one row a loan"
    );
    assert_eq!(
        app.journalled("vacant", "kind", "key").await,
        2,
        "out and in"
    );
}

#[tokio::test]
async fn an_occupied_unit_cannot_be_inspected_as_vacant() {
    let app = spawn_app_with(Db::Sqlite, "", clock()).await;
    import_csv(&app, &three_units()).await;
    let body = json!({
        "id": "insp-2", "unit": "1-0301", "inspector": "insp-he",
        "items": checklist(ChecklistItem::NoPests, "")
    });
    let (status, answer) = app.post_json("/api/v1/inspections", body).await;
    assert_eq!(status, 409, "{answer}");
}

#[tokio::test]
async fn power_used_in_a_vacant_unit_raises_an_alarm_through_the_alarm_engine() {
    // The building's energy meter stands in for unit 1-0302's own meter.
    let extra = "[[alarm_rules]]\npoint = \"em_b1.import_energy\"\nkind = \"vacant_consumption\"\nunit = \"1-0302\"\n";
    let app = spawn_app_with(
        Db::Sqlite,
        extra,
        Arc::new(sitewatch::core::clock::SystemClock),
    )
    .await;
    app.sim().set(1, "import_energy", 1000.0);
    let value = |v: f64| {
        let app = &app;
        async move {
            eventually(
                &format!("meter reads {v}"),
                Duration::from_secs(10),
                || async { (app.point("em_b1.import_energy").await["value"] == v).then_some(()) },
            )
            .await
        }
    };
    value(1000.0).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    let alarm_id = "em_b1.import_energy:vacant_consumption";
    // A steady meter in an empty unit is fine.
    app.sim().set(1, "import_energy", 1000.0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.get_json(&format!("/api/v1/alarms/{alarm_id}")).await["state"] == "normal");
    // Power used while nobody lives there: an alarm.
    app.sim().set(1, "import_energy", 1000.5);
    let alarm = eventually(
        "vacant consumption alarm",
        Duration::from_secs(10),
        || async {
            let a = app.get_json(&format!("/api/v1/alarms/{alarm_id}")).await;
            (a["state"] == "unack_active").then_some(a)
        },
    )
    .await;
    assert_eq!(alarm["device"], "em_b1");
}
