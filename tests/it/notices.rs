//! Notices to owners: a planned stoppage less than 24 h ahead is refused, one drafted from
//! the template goes to every unit of its building, and deliveries and confirmations are
//! recorded per unit.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use sitewatch::core::clock::ManualClock;

use crate::customers::{import_csv, three_units};
use crate::helpers::{Db, TestApp, metric, spawn_app_with};

async fn app_on(kind: Db) -> (TestApp, chrono::DateTime<Utc>) {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 2, 0, 0)
        .single()
        .expect("time");
    let app = spawn_app_with(kind, "", Arc::new(ManualClock::new(now))).await;
    import_csv(&app, &three_units()).await;
    (app, now)
}

fn water_stoppage(starts_at: chrono::DateTime<Utc>) -> serde_json::Value {
    json!({
        "level": "important",
        "template": "water_stoppage",
        "starts_at": starts_at,
        "ends_at": starts_at + Duration::hours(4),
        "expires_at": starts_at + Duration::hours(5),
        "target": {"type": "building", "building": "1"},
        "created_by": "desk-chen"
    })
}

#[tokio::test]
async fn a_stoppage_notice_less_than_24_hours_ahead_is_refused() {
    let (app, now) = app_on(Db::Sqlite).await;
    let (status, body) = app
        .post_json("/api/v1/notices", water_stoppage(now + Duration::hours(20)))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "starts_at");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("24 h"),
        "{body}"
    );
    let list = app.get_json("/api/v1/notices").await;
    assert_eq!(list.as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn deliveries_and_confirmations_are_recorded_per_unit_on_sqlite() {
    deliveries_recorded_per_unit(Db::Sqlite).await;
}

#[tokio::test]
async fn deliveries_and_confirmations_are_recorded_per_unit_on_postgres() {
    deliveries_recorded_per_unit(Db::Postgres).await;
}

async fn deliveries_recorded_per_unit(kind: Db) {
    let (app, now) = app_on(kind).await;
    let (status, n) = app
        .post_json("/api/v1/notices", water_stoppage(now + Duration::hours(25)))
        .await;
    assert_eq!(status, 201, "{n}");
    assert_eq!(n["color"], "yellow");
    assert_eq!(n["title"], "【重要通告】计划停水通知");
    assert!(
        n["body"]
            .as_str()
            .unwrap_or_default()
            .contains("2026年11月25日 11:00"),
        "{n}"
    );
    assert_eq!(n["deliveries"].as_array().map(Vec::len), Some(3));
    let id = n["id"].as_i64().expect("id");
    let (status, n) = app
        .post_json(
            &format!("/api/v1/notices/{id}/deliveries"),
            json!({"by": "desk-chen", "records": [
                {"unit": "1-0301", "channel": "sms"},
                {"unit": "1-0302", "channel": "paper", "confirmed": true}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{n}");
    let d = n["deliveries"].as_array().expect("records");
    assert_eq!(d[0]["channel"], "sms");
    assert!(d[0]["delivered_at"].is_string() && d[0]["confirmed_at"].is_null());
    assert!(d[1]["confirmed_at"].is_string());
    assert!(d[2]["delivered_at"].is_null(), "1-0303 not reached yet");
    let (status, body) = app
        .post_json(
            &format!("/api/v1/notices/{id}/deliveries"),
            json!({"by": "desk-chen", "records": [{"unit": "9-0101", "channel": "phone"}]}),
        )
        .await;
    assert_eq!(status, 422, "a unit outside the target: {body}");
    let m = app.metrics().await;
    assert_eq!(
        metric(&m, r#"sitewatch_notices_total{level="important"}"#),
        Some(1.0)
    );
}
