//! Tasks report how they end: a long-running task that ends before the stop turns
//! `/readyz` not ready, naming it, and is counted in `/metrics`; the daemon still stops
//! cleanly. (The supervisor's unit test covers panics, errors and the log line.)

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sitewatch::app::App;
use sitewatch::core::clock::SystemClock;
use tokio_util::sync::CancellationToken;

use crate::helpers::{Db, eventually, fresh_db, metric, test_config, test_plant};

const WAIT: Duration = Duration::from_secs(30);

async fn ready(client: &reqwest::Client, base: &str) -> (u16, Value) {
    let resp = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("request");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

#[tokio::test]
async fn a_task_that_ends_early_shows_in_readyz_and_metrics() {
    let db = fresh_db(Db::Sqlite).await;
    let sim = test_plant(&db.url).await;
    let config = test_config(&sim.addr().to_string(), &db.url);
    // Stands for a source whose future ends on its own: it runs until told to return.
    let (end, told) = tokio::sync::oneshot::channel::<()>();
    let app = App::build(config, Arc::new(SystemClock))
        .await
        .expect("app builds")
        .also_run("probe_source", async move {
            let _ = told.await;
        });
    let base = format!("http://{}", app.addr());
    let cancel = CancellationToken::new();
    let run = tokio::spawn(app.run_until_stopped(cancel.clone()));
    let client = reqwest::Client::new();
    let (c, b) = (&client, base.as_str());
    eventually("/readyz says ready", WAIT, || async move {
        let (status, body) = ready(c, b).await;
        (status == 200 && body["ended"] == json!([])).then_some(())
    })
    .await;

    end.send(()).expect("the task is waiting");
    let body = eventually("/readyz says not ready", WAIT, || async move {
        let (status, body) = ready(c, b).await;
        (status == 503).then_some(body)
    })
    .await;
    assert_eq!(
        body["ended"],
        json!([{ "task": "probe_source", "reason": "returned", "detail": null }])
    );
    assert_eq!(
        (&body["database"], &body["engine"], &body["writes"]["ok"]),
        (&json!(true), &json!(true), &json!(true)),
        "only the task is wrong: {body}"
    );
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    let series = r#"sitewatch_task_exits_total{reason="returned",task="probe_source"}"#;
    assert_eq!(metric(&text, series), Some(1.0), "{series}");
    assert_eq!(
        text.matches("sitewatch_task_exits_total{").count(),
        1,
        "no other task ended"
    );

    cancel.cancel();
    run.await
        .expect("app task joins")
        .expect("app stops cleanly");
    drop(sim);
}
