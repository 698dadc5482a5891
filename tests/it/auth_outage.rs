//! A fault is never a 401: the database stopped for real (the test's own PostgreSQL)
//! under a signed-in session answers 503 with the error body, the console still follows
//! new alarms, and the same session works once the database is back; before the first
//! user exists, a database error answers 503 and the API is open again once it is back.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sitewatch::access::Role;
use sitewatch::core::clock::SystemClock;

use crate::auth::{Session, login, sign_in};
use crate::auth_walk::{raw_client, user};
use crate::helpers::{TestApp, TestDb, eventually, spawn_app_at};
use crate::pg_server::PgServer;

const WAIT: Duration = Duration::from_secs(20);

/// A daemon on a new database of `pg`.
async fn app_on(pg: &PgServer, name: &str) -> TestApp {
    let url = pg.create_db(name).await;
    spawn_app_at(TestDb::at(url), "", Arc::new(SystemClock)).await
}

/// GET `path` with the session (or a made-up cookie): status, `Retry-After`, body text.
async fn fetch(app: &TestApp, path: &str, cookie: &str) -> (u16, Option<String>, String) {
    let resp = raw_client()
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, retry, resp.text().await.expect("body"))
}

fn code(body: &str) -> Value {
    serde_json::from_str::<Value>(body).unwrap_or(Value::Null)["code"].clone()
}

/// Runs a blocking `PgServer` step off the runtime's workers (the daemon runs on them).
async fn on_pg(pg: &Arc<PgServer>, step: fn(&PgServer)) {
    let pg = pg.clone();
    tokio::task::spawn_blocking(move || step(&pg))
        .await
        .expect("pg_ctl step");
}

async fn alarm_state(app: &TestApp, s: &Session, id: &str) -> Option<String> {
    let (status, _, body) = fetch(app, &format!("/api/v1/alarms/{id}"), &s.cookie).await;
    let v: Value = serde_json::from_str(&body).ok()?;
    (status == 200).then(|| v["state"].as_str().map(str::to_owned))?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_answers_503_and_the_console_still_follows_alarms() {
    let pg = Arc::new(PgServer::start());
    let app = app_on(&pg, "auth_outage").await;
    user(&app, "li", Role::DutyEngineer, "li-password").await;
    let s = sign_in(&app, "li", "li-password").await;
    let history = "/api/v1/alarms/history?latest=5";
    assert_eq!(fetch(&app, history, &s.cookie).await.0, 200);

    on_pg(&pg, PgServer::stop).await;
    // A read that needs the database: 503 with the error body, never a 401.
    let (status, _, body) = fetch(&app, history, &s.cookie).await;
    assert_eq!((status, code(&body)), (503, "unavailable".into()), "{body}");
    // A session the daemon cannot check: 503 too, and pages say so instead of the log-in form.
    let stranger = "sw_session=0123456789abcdef";
    let (status, retry, body) = fetch(&app, "/api/v1/alarms", stranger).await;
    assert_eq!((status, code(&body)), (503, "unavailable".into()), "{body}");
    assert_eq!(retry.as_deref(), Some("10"));
    let (status, _, page) = fetch(&app, "/", stranger).await;
    assert_eq!(status, 503);
    assert!(page.contains("Service unavailable, try again"), "{page}");
    // Signing in cannot be checked either: 503, not "wrong password".
    assert_eq!(login(&app, "li", "li-password").await.status(), 503);

    // The signed-in console still follows the plant: a new alarm shows.
    app.sim().set(3, "fault", 1.0);
    let id = "pump_1.fault:discrete";
    eventually("the new alarm in the console", WAIT, || async {
        (alarm_state(&app, &s, id).await.as_deref() == Some("unack_active")).then_some(())
    })
    .await;
    let (status, _, _) = fetch(&app, "/", &s.cookie).await;
    assert_eq!(
        status, 200,
        "the dashboard page still opens for the signed-in user"
    );

    on_pg(&pg, PgServer::start_again).await;
    eventually("the same session reads the journal again", WAIT, || async {
        (fetch(&app, history, &s.cookie).await.0 == 200).then_some(())
    })
    .await;
    eventually(
        "a made-up session refused once it can be checked",
        WAIT,
        || async { (fetch(&app, "/api/v1/alarms", stranger).await.0 == 401).then_some(()) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_the_first_user_a_database_error_is_503_and_the_api_opens_again() {
    let pg = Arc::new(PgServer::start());
    let app = app_on(&pg, "auth_open").await;
    assert_eq!(
        fetch(&app, "/api/v1/alarms", "").await.0,
        200,
        "open: no user yet"
    );
    on_pg(&pg, PgServer::stop).await;
    let (status, _, body) = fetch(&app, "/api/v1/alarms", "").await;
    assert_eq!((status, code(&body)), (503, "unavailable".into()), "{body}");
    on_pg(&pg, PgServer::start_again).await;
    // No restart: the next successful read decides, and no user exists.
    eventually("the API open again", WAIT, || async {
        (fetch(&app, "/api/v1/alarms", "").await.0 == 200).then_some(())
    })
    .await;
    assert_eq!(fetch(&app, "/api/v1/devices", "").await.0, 200);
}
