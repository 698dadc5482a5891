//! Nothing acknowledged before it is kept, for commands: a service request logged at the
//! desk answers 201 only once the database holds it. Against the test's own PostgreSQL:
//!
//! - up: 201, and a separate connection finds the request's journal entry at that moment;
//! - writes held (another session locks the journal table, so reads still work and the
//!   engine takes the request in, but the writer cannot commit): 503 `not_yet_stored`
//!   after the engine's wait, and once the lock goes the request is stored by itself,
//!   exactly once, without a resend and without a restart;
//! - a key loan's own table locked: the sign-out answers 503 `not_yet_stored` (its row
//!   and its journal entry are one transaction of the writer, not a handler's second
//!   write), and once the lock goes both are kept by themselves, once;
//! - stopped: the intake cannot check the unit register, so nothing is decided and the
//!   answer is 503 `unavailable`; a client that resends on that code (and only on it)
//!   ends with the request there exactly once once the database is back.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sitewatch::core::clock::SystemClock;
use sqlx::Connection as _;

use crate::customers::{import_csv, three_units};
use crate::helpers::{Db, TestApp, TestDb, eventually, spawn_app_at, spawn_app_with};
use crate::outage::{wait_failing, wait_ready};
use crate::pg_server::PgServer;

const WAIT: Duration = Duration::from_secs(30);

fn intake(summary: &str) -> Value {
    json!({
        "kind": {"type": "repair", "emergency": false},
        "channel": "hotline",
        "unit": "1-0301",
        "owner": "王芳",
        "summary": summary,
        "received_by": "desk-chen"
    })
}

/// POSTs a request intake; the status and body. Bounded well above the engine's 5 s wait:
/// the daemon must answer, not hang.
async fn take_in(app: &TestApp, summary: &str) -> (u16, Value) {
    let post = app.post_json("/api/v1/requests", intake(summary));
    tokio::time::timeout(Duration::from_secs(20), post)
        .await
        .expect("the intake answers while the database is away")
}

/// The requests the engine holds with `summary`.
async fn requests_with(app: &TestApp, summary: &str) -> Vec<Value> {
    let all = app.get_json("/api/v1/requests").await;
    let all = all.as_array().cloned().unwrap_or_default();
    all.into_iter()
        .filter(|r| r["summary"] == summary)
        .collect()
}

/// The journal entries of request `id`, read on a connection of the test's own.
async fn journalled(url: &str, id: &Value) -> usize {
    let store = sitewatch::store::Store::connect(url)
        .await
        .expect("connect");
    let entries = store
        .events(0, Some("request"), 100_000)
        .await
        .expect("read");
    let id = id.to_string();
    entries.iter().filter(|e| e.subject == id).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_intake_answers_201_only_once_stored_and_503_not_yet_stored_when_writes_hang() {
    let pg = PgServer::start();
    let url = pg.create_db("write_barrier").await;
    let app = spawn_app_at(TestDb::at(url.clone()), "", Arc::new(SystemClock)).await;
    wait_ready(&app).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");

    // Up: the 201 comes after the commit.
    let (status, body) = take_in(&app, "厨房水龙头漏水").await;
    assert_eq!(status, 201, "{body}");
    let per_intake = journalled(&url, &body["id"]).await;
    assert!(per_intake > 0, "stored when answered");

    // Writes held: another session locks the journal; reads still work.
    let mut locker = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query("begin")
        .execute(&mut locker)
        .await
        .expect("begin");
    sqlx::query("lock table events in access exclusive mode")
        .execute(&mut locker)
        .await
        .expect("lock");
    let (status, body) = take_in(&app, "卫生间地漏堵塞").await;
    assert_eq!(status, 503, "not 201 before it is stored: {body}");
    assert_eq!(body["code"], "not_yet_stored", "{body}");
    let taken = requests_with(&app, "卫生间地漏堵塞").await;
    assert_eq!(taken.len(), 1, "the engine took it in: {taken:?}");
    sqlx::query("rollback")
        .execute(&mut locker)
        .await
        .expect("unlock");
    let id = taken[0]["id"].clone();
    eventually("the held request written by itself", WAIT, || async {
        (journalled(&url, &id).await > 0).then_some(())
    })
    .await;
    assert_eq!(journalled(&url, &id).await, per_intake, "written once");
    assert_eq!(requests_with(&app, "卫生间地漏堵塞").await.len(), 1);
    assert!(app.running(), "the daemon never restarted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_loan_whose_row_cannot_be_written_answers_503_and_is_kept_once_by_itself() {
    let app = spawn_app_with(Db::Postgres, "", Arc::new(SystemClock)).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");
    let mut locker = sqlx::PgConnection::connect(&app.db.url)
        .await
        .expect("connect");
    for sql in ["begin", "lock table key_loans in access exclusive mode"] {
        sqlx::query(sql).execute(&mut locker).await.expect(sql);
    }
    let out = json!({"holder": "insp-he", "purpose": "巡查"});
    let post = app.post_json("/api/v1/keys/1-0302/sign-out", out);
    let (status, body) = tokio::time::timeout(Duration::from_secs(20), post)
        .await
        .expect("the sign-out answers while its table is locked");
    assert_eq!(status, 503, "not 200 before the loan is stored: {body}");
    assert_eq!(body["code"], "not_yet_stored", "{body}");
    assert_eq!(
        app.journalled("vacant", "kind", "key").await,
        0,
        "one transaction"
    );
    sqlx::query("rollback")
        .execute(&mut locker)
        .await
        .expect("unlock");
    let rows = "select count(*) from key_loans where holder = 'insp-he'";
    eventually("the held loan written by itself", WAIT, || async {
        (app.count(rows).await > 0).then_some(())
    })
    .await;
    assert_eq!(app.count(rows).await, 1, "written once");
    assert_eq!(app.journalled("vacant", "kind", "key").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_stopped_a_request_intake_answers_503_and_a_resend_on_unavailable_keeps_it_once()
 {
    let pg = PgServer::start();
    let url = pg.create_db("write_barrier_stop").await;
    let app = spawn_app_at(TestDb::at(url.clone()), "", Arc::new(SystemClock)).await;
    wait_ready(&app).await;
    let (status, body) = import_csv(&app, &three_units()).await;
    assert_eq!(status, 200, "{body}");

    tokio::task::block_in_place(|| pg.stop());
    wait_failing(&app).await;
    let summary = "阳台推拉门卡住";
    let (status, body) = take_in(&app, summary).await;
    assert_eq!(status, 503, "not 201 with the database stopped: {body}");
    let code = body["code"].as_str().unwrap_or_default().to_owned();
    assert!(
        code == "unavailable" || code == "not_yet_stored",
        "the stable error body: {body}"
    );

    tokio::task::block_in_place(|| pg.start_again());
    wait_ready(&app).await;
    // The client's rule: resend on `unavailable` (nothing was decided), never on
    // `not_yet_stored` (the change is made and will be written).
    if code == "unavailable" {
        let (status, body) = take_in(&app, summary).await;
        assert_eq!(status, 201, "{body}");
    }
    let held = eventually("the request held once", WAIT, || async {
        let held = requests_with(&app, summary).await;
        (!held.is_empty()).then_some(held)
    })
    .await;
    assert_eq!(held.len(), 1, "exactly once: {held:?}");
    let id = held[0]["id"].clone();
    eventually("the request stored", WAIT, || async {
        (journalled(&url, &id).await > 0).then_some(())
    })
    .await;
    assert!(app.running(), "the daemon never restarted");
}
