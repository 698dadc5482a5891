//! The compliance register on SQLite (rules.md §13.24, §13.15): a CSV with a bad line is
//! refused with that line named and nothing stored; a good one imports whole; items due
//! within 30 days or overdue are on the duty board's list and the gauge; an overdue item
//! raises its kind's alarm from the engine tick, and recording the inspection moves the
//! date on by the interval and clears it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;
use sitewatch_core::clock::ManualClock;

use crate::helpers::{Db, TestApp, eventually, metric, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);
const HEAD: &str =
    "id,kind,name,interval_days,last_inspected,next_due,certificate_file,contractor\n";
const DRILL_ALARM: &str = "compliance.fire_drill_overdue:overdue";

async fn import(app: &TestApp, file: &str) -> (u16, serde_json::Value) {
    let resp = app
        .client
        .post(format!("{}/api/v1/compliance/import", app.base))
        .header("content-type", "text/csv")
        .body(file.to_owned())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn drill_alarm(app: &TestApp) -> Option<serde_json::Value> {
    let list = app.get_json("/api/v1/alarms").await;
    list.as_array()?
        .iter()
        .find(|a| a["id"] == DRILL_ALARM)
        .cloned()
}

#[tokio::test]
async fn an_overdue_drill_raises_its_alarm_until_the_drill_is_recorded() {
    // 10:00 site time on 2026-12-07.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0)
            .single()
            .expect("time"),
    ));
    let app = spawn_app_with(Db::Sqlite, "", clock.clone()).await;
    let bad = format!(
        "{HEAD}lift-A1,lift,Lift A1,365,,2026-12-17,,Otis\nboiler,boiler,Boiler,365,,2027-01-01,,X\n"
    );
    let (status, body) = import(&app, &bad).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_rows")),
        "{body}"
    );
    assert_eq!(body["problems"][0]["line"], 3, "{body}");
    assert!(
        body["problems"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("boiler")
    );
    let list = app.get_json("/api/v1/compliance").await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(0),
        "nothing stored: {list}"
    );

    let good = format!(
        "{HEAD}lift-A1,lift,Lift A1,365,,2026-12-17,,Otis\n\
         drill,fire_drill,Annual fire drill,365,2025-12-01,,,Security\n\
         tank-1,water_tank,Roof tank,180,,2027-03-01,,CleanCo\n"
    );
    let (status, body) = import(&app, &good).await;
    assert_eq!((status, &body["imported"]), (200, &json!(3)), "{body}");
    let due = app.get_json("/api/v1/compliance/due").await;
    let due: Vec<(&str, &str)> = due
        .as_array()
        .expect("list")
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap_or(""),
                v["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(due, [("drill", "overdue"), ("lift-A1", "due_soon")]);
    let raised = eventually("the overdue drill's alarm", WAIT, || drill_alarm(&app)).await;
    assert_eq!(raised["state"], "unack_active", "{raised}");
    let text = app.metrics().await;
    assert_eq!(
        metric(&text, "sitewatch_compliance_due{state=\"overdue\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(&text, "sitewatch_compliance_due{state=\"due_soon\"}"),
        Some(1.0)
    );

    let (status, body) = app
        .post_json(
            "/api/v1/compliance/drill/done",
            json!({"on": "2026-12-07", "actor": "wang"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["next_due"].as_str(), body["state"].as_str()),
        (Some("2027-12-07"), Some("ok"))
    );
    // Decided by the engine's book: the inspection is kept with its journal entry.
    assert_eq!(app.journalled("compliance", "kind", "done").await, 1);
    assert_eq!(
        app.count("select count(*) from compliance_inspections where item_id = 'drill' and done_on = '2026-12-07'")
            .await,
        1
    );
    let (status, body) = app
        .post_json(
            "/api/v1/compliance/drill/done",
            json!({"on": "2026-12-08", "actor": "wang"}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("on")),
        "{body}"
    );
    let (status, _) = app
        .post_json(
            "/api/v1/compliance/none/done",
            json!({"on": "2026-12-07", "actor": "wang"}),
        )
        .await;
    assert_eq!(status, 404);
    eventually("the drill's alarm cleared", WAIT, || async {
        let a = drill_alarm(&app).await;
        let active =
            |a: &serde_json::Value| a["state"].as_str().is_some_and(|s| s.ends_with("_active"));
        (!a.as_ref().is_some_and(active)).then_some(())
    })
    .await;
    let text = app.metrics().await;
    assert_eq!(
        metric(&text, "sitewatch_compliance_due{state=\"overdue\"}"),
        Some(0.0)
    );
}
