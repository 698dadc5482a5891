//! An alarm reaches MQTT with the database gone: a private PostgreSQL is stopped, a fire
//! alarm raised on the simulator reaches a real Mosquitto subscriber (the event and the
//! retained state) while writes still fail, and once the database is back the outbox
//! catches up without sending that alarm a second time, and the journal holds it.

use std::sync::Arc;
use std::time::Duration;

use sitewatch::core::clock::SystemClock;

use crate::helpers::{TestApp, TestDb, eventually, metric, spawn_app_at};
use crate::mqtt_out::{Seen, seen, subscribe};
use crate::outage::{ready, wait_failing, wait_ready};
use crate::pg_server::PgServer;

const WAIT: Duration = Duration::from_secs(30);
const ZONE: &str = "fire_panel.zone2_alarm:discrete";

/// The test plant on the database at `url`, publishing to the Mosquitto on 1883.
async fn spawn_on(url: String) -> TestApp {
    let extra = "[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n";
    spawn_app_at(TestDb::at(url), extra, Arc::new(SystemClock)).await
}

/// How many messages `seen` holds on `topic` for the zone alarm's transitions to `state`
/// (raised and escalated both leave it `unack_active`).
fn count(msgs: &Seen, topic: &str, state: &str) -> usize {
    let msgs = msgs.lock().expect("lock");
    msgs.iter()
        .filter(|(t, b, _)| {
            let alarm = if b["kind"] == "alarm" { &b["data"] } else { b };
            t == topic && alarm["alarm"] == ZONE && alarm["state"] == state
        })
        .count()
}

async fn metric_of(app: &TestApp, series: &str) -> Option<f64> {
    metric(&app.metrics().await, series)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_reaches_mqtt_while_postgres_is_down_and_is_not_sent_again_after() {
    let pg = PgServer::start();
    let url = pg.create_db("outbox_outage").await;
    let mut app = spawn_on(url).await;
    wait_ready(&app).await;
    let prefix = format!("sitewatch/{}", app.site);
    let (_client, msgs) = subscribe(1883, &format!("{prefix}/#")).await;
    // A pump fault with the database up: the publisher is connected and has read the
    // outbox table through (the early path never overtakes a row it has not read).
    app.sim().set(3, "fault", 1.0);
    seen(&msgs, "an alarm through the table", |(t, b, _)| {
        t == &format!("{prefix}/events") && b["data"]["alarm"] == "pump_1.fault:discrete"
    })
    .await;
    tokio::task::block_in_place(|| pg.stop());
    wait_failing(&app).await;

    app.sim().set(4, "zone2_alarm", 1.0);
    let events = format!("{prefix}/events");
    let state_topic = format!("{prefix}/alarms/{ZONE}");
    eventually(
        "the alarm event on MQTT with the database down",
        WAIT,
        || async { (count(&msgs, &events, "unack_active") > 0).then_some(()) },
    )
    .await;
    eventually(
        "the alarm state on MQTT with the database down",
        WAIT,
        || async { (count(&msgs, &state_topic, "unack_active") > 0).then_some(()) },
    )
    .await;
    let (_late, late) = subscribe(1883, &state_topic).await;
    let (_, state, retained) = seen(&late, "the retained state, for a late subscriber", |m| {
        m.0 == state_topic
    })
    .await;
    assert!(retained, "kept by the broker as the topic's state");
    assert_eq!(state["state"], "unack_active");
    let (status, body) = ready(&app).await;
    assert_eq!(status, 503, "the database was still down: {body}");
    assert!(
        metric_of(&app, "sitewatch_mqtt_published_early_total").await >= Some(2.0),
        "the event and the state went out before the database kept them"
    );

    tokio::task::block_in_place(|| pg.start_again());
    wait_ready(&app).await;
    // The return, decided with the database up, goes through the table after the raise's
    // rows: once it is seen, a second copy of the raise would have been seen before it.
    app.sim().set(4, "zone2_alarm", 0.0);
    eventually("the return on MQTT through the table", WAIT, || async {
        (count(&msgs, &events, "unack_returned") > 0).then_some(())
    })
    .await;
    let (raised, state) = (
        count(&msgs, &events, "unack_active"),
        count(&msgs, &state_topic, "unack_active"),
    );
    assert_eq!(
        (raised, state),
        (2, 2),
        "raised and escalated (duty engineer) once each, as event and as state"
    );
    let store = app.store().await;
    let journal = store.events(0, Some("alarm"), 1000).await.expect("journal");
    assert!(
        journal
            .iter()
            .any(|e| e.body["alarm"] == ZONE && e.body["state"] == "unack_active"),
        "the raise journalled: {journal:?}"
    );
    eventually("the outbox caught up", WAIT, || async {
        (store.backlog("mqtt").await.ok()? == 0).then_some(())
    })
    .await;
    store.close().await;
    app.stop().await;
}
