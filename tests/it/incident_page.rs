//! What the incident page reads: one incident with its clocks as the board shows them, the
//! notices that target it (`/api/v1/notices?incident=`), and the page's own shareable URL.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use sitewatch::access::Role;
use sitewatch::core::clock::{Clock, ManualClock};

use crate::customers::{import_csv, three_units};
use crate::helpers::{Db, TestApp, metric, spawn_app_with};

/// A water ingress in building 1 with unit 1-0301 linked as affected, as the desk opens it.
pub async fn water_ingress(app: &TestApp) -> i64 {
    let (status, body) = import_csv(app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    let (status, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"category": "water_ingress", "title": "Ceiling leak in 1-0301",
                "location": "Building 1, floor 3", "reported_by": "desk-chen", "source": "manual"}),
        )
        .await;
    assert_eq!(status, 201, "{inc}");
    let id = inc["id"].as_i64().expect("incident id");
    let link = json!({"type": "link_household", "unit": "1-0301", "owner": "王芳"});
    command(app, id, link, "").await;
    id
}

/// Applies one step to incident `id` as the duty engineer; it must be accepted.
pub async fn command(
    app: &TestApp,
    id: i64,
    action: serde_json::Value,
    note: &str,
) -> serde_json::Value {
    let (status, body) = app
        .post_json(
            &format!("/api/v1/incidents/{id}/commands"),
            json!({"actor": "duty-li", "note": note, "action": action}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn app_on(kind: Db) -> (TestApp, Arc<ManualClock>) {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 2, 0, 0)
        .single()
        .expect("time");
    let clock = Arc::new(ManualClock::new(now));
    (spawn_app_with(kind, "", clock.clone()).await, clock)
}

async fn notice(
    app: &TestApp,
    title: &str,
    target: serde_json::Value,
    expires: chrono::DateTime<Utc>,
) {
    let (status, n) = app
        .post_json(
            "/api/v1/notices",
            json!({"level": "important", "title": title, "body": "Details at the desk.",
                "expires_at": expires, "target": target, "created_by": "desk-chen"}),
        )
        .await;
    assert_eq!(status, 201, "{n}");
}

#[tokio::test]
async fn one_incident_carries_its_timeline_households_and_board_clocks() {
    let (app, _) = app_on(Db::Sqlite).await;
    let id = water_ingress(&app).await;
    let inc = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["state"], "reported");
    assert_eq!(inc["households"][0]["unit"], "1-0301");
    let timeline = inc["timeline"].as_array().expect("timeline");
    assert_eq!(timeline[0]["kind"]["type"], "opened");
    assert_eq!(
        timeline.last().expect("entry")["kind"]["type"],
        "household_linked"
    );
    // The same running clocks, with the same traffic lights, as the board.
    let board = app.get_json("/api/v1/incidents/board").await;
    let mine: Vec<_> = board
        .as_array()
        .expect("board")
        .iter()
        .filter(|c| c["owner_id"] == id)
        .cloned()
        .collect();
    assert!(!mine.is_empty(), "{board}");
    assert_eq!(inc["board"], json!(mine));
    assert!(mine.iter().all(|c| c["status"] == "green"), "{board}");
    command(&app, id, json!({"type": "arrive_on_site"}), "").await;
    let inc = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    let on_site = |v: &serde_json::Value| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|c| c["sla"] == "on_site"))
    };
    assert!(
        !on_site(&inc["board"]),
        "a met clock no longer runs: {}",
        inc["board"]
    );
    assert!(on_site(&inc["clocks"]), "but stays on the record");
}

#[tokio::test]
async fn the_incident_page_has_its_own_url_and_an_unknown_one_is_not_found() {
    let (app, _) = app_on(Db::Sqlite).await;
    let id = water_ingress(&app).await;
    let page = app
        .client
        .get(format!("{}/incidents/{id}", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    // The duty desk's page, whose script draws the incident view.
    assert!(
        html.contains("Test Estate")
            && html.contains(r#"id="incident""#)
            && html.contains("/assets/duty.js"),
        "{html}"
    );
    let missing = app
        .client
        .get(format!("{}/incidents/{}", app.base, id + 100))
        .send()
        .await
        .expect("page");
    assert_eq!(missing.status(), 404);
    // Signed in, the page knows the role, so a viewer is offered no steps.
    crate::auth_walk::user(&app, "root", Role::Admin, "root-password").await;
    let viewer = crate::auth_walk::token(&app, "wall", Role::Viewer).await;
    let html = app
        .client
        .get(format!("{}/incidents/{id}", app.base))
        .bearer_auth(&viewer)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains(r#"<meta name="role" content="viewer">"#));
}

async fn notices_filter_by_incident(kind: Db) {
    let (app, clock) = app_on(kind).await;
    let now = clock.now();
    let id = water_ingress(&app).await;
    let later = now + Duration::days(2);
    notice(
        &app,
        "Riser 1 water off",
        json!({"type": "incident", "incident": id}),
        later,
    )
    .await;
    notice(
        &app,
        "Lift B servicing",
        json!({"type": "building", "building": "1"}),
        later,
    )
    .await;
    notice(
        &app,
        "Old riser notice",
        json!({"type": "incident", "incident": id}),
        now + Duration::minutes(1),
    )
    .await;
    let titles = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|n| n["title"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let mine = titles(
        app.get_json(&format!("/api/v1/notices?incident={id}"))
            .await,
    );
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(
        mine.iter()
            .all(|t| t.contains("riser") || t.contains("Riser")),
        "{mine:?}"
    );
    let other = titles(
        app.get_json(&format!("/api/v1/notices?incident={}", id + 1))
            .await,
    );
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(titles(app.get_json("/api/v1/notices").await).len(), 3);
    clock.advance(Duration::minutes(2));
    let posted = titles(
        app.get_json(&format!("/api/v1/notices?incident={id}&current=true"))
            .await,
    );
    assert_eq!(posted.len(), 1, "{posted:?}");
}

#[tokio::test]
async fn notices_are_listed_by_the_incident_they_target_on_sqlite() {
    notices_filter_by_incident(Db::Sqlite).await;
}

#[tokio::test]
async fn notices_are_listed_by_the_incident_they_target_on_postgres() {
    notices_filter_by_incident(Db::Postgres).await;
}

#[tokio::test]
async fn a_malformed_incident_filter_answers_the_stable_error_body_and_is_counted() {
    let (app, _) = app_on(Db::Sqlite).await;
    let resp = app
        .client
        .get(format!("{}/api/v1/notices?incident=seven", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("invalid"), Some("incident")),
        "the parameter at fault is named"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("incident"),
        "{body}"
    );
    let m = app.metrics().await;
    assert!(metric(&m, r#"sitewatch_api_errors_total{code="invalid"}"#).unwrap_or(0.0) >= 1.0);
    // Still running.
    assert_eq!(app.get_json("/api/v1/notices").await, json!([]));
}
