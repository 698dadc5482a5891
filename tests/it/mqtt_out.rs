//! MQTT out: alarm transitions reach the broker as retained state and as events, the
//! daemon's status is online with an offline last will, and an alarm raised while the
//! broker is down is delivered when it comes back (the outbox keeps it).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use sitewatch::core::clock::SystemClock;

use crate::helpers::{Db, TestApp, eventually, free_port, metric, spawn_app_with};
use crate::mqtt::OwnBroker;

const WAIT: Duration = Duration::from_secs(15);

pub type Seen = Arc<Mutex<Vec<(String, serde_json::Value, bool)>>>;

/// A subscriber recording every message under `filter`.
pub async fn subscribe(port: u16, filter: &str) -> (AsyncClient, Seen) {
    let id = format!("it-sub-{}", free_port());
    let (client, mut events) = AsyncClient::new(MqttOptions::new(id, "127.0.0.1", port), 64);
    client
        .subscribe(filter, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    let seen: Seen = Arc::default();
    let out = seen.clone();
    tokio::spawn(async move {
        while let Ok(ev) = events.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = ev {
                let body = serde_json::from_slice(&p.payload).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(&p.payload).into())
                });
                out.lock()
                    .expect("lock")
                    .push((p.topic.clone(), body, p.retain));
            }
        }
    });
    (client, seen)
}

pub async fn seen(
    seen: &Seen,
    what: &str,
    pred: impl Fn(&(String, serde_json::Value, bool)) -> bool,
) -> (String, serde_json::Value, bool) {
    eventually(what, WAIT, || async {
        seen.lock().expect("lock").iter().find(|m| pred(m)).cloned()
    })
    .await
}

async fn with_broker(port: u16) -> TestApp {
    let extra = format!("[mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\n");
    spawn_app_with(Db::Sqlite, &extra, Arc::new(SystemClock)).await
}

#[tokio::test]
async fn fire_zone_alarm_reaches_a_real_mosquitto_subscriber_and_the_dashboard_api() {
    let app = with_broker(1883).await;
    let (_client, msgs) = subscribe(1883, &format!("sitewatch/{}/#", app.site)).await;
    app.sim().set(4, "zone2_alarm", 1.0);
    let alarm_topic = format!(
        "sitewatch/{}/alarms/fire_panel.zone2_alarm:discrete",
        app.site
    );
    let (_, state, _) = seen(&msgs, "alarm state", |(t, b, _)| {
        t == &alarm_topic && b["state"] == "unack_active"
    })
    .await;
    assert_eq!(state["priority"], "emergency");
    let api = app
        .get_json("/api/v1/alarms/fire_panel.zone2_alarm:discrete")
        .await;
    assert_eq!(
        (api["state"].as_str(), api["priority"].as_str()),
        (Some("unack_active"), Some("emergency"))
    );
    let events = format!("sitewatch/{}/events", app.site);
    seen(&msgs, "alarm event", |(t, b, _)| {
        t == &events
            && b["kind"] == "alarm"
            && b["data"]["alarm"] == "fire_panel.zone2_alarm:discrete"
    })
    .await;
    let status = format!("sitewatch/{}/status", app.site);
    seen(&msgs, "online status", |(t, b, _)| {
        t == &status && b == "online"
    })
    .await;
    let point = format!("sitewatch/{}/points/fire_panel.zone2_alarm", app.site);
    seen(&msgs, "point value", |(t, b, _)| {
        t == &point && b["value"] == 1.0
    })
    .await;
    // A late subscriber gets the alarm's state as the retained message.
    let (_late, late) = subscribe(1883, &alarm_topic).await;
    let (_, _, retain) = seen(
        &late,
        "retained state for a late subscriber",
        |(t, _, _)| t == &alarm_topic,
    )
    .await;
    assert!(retain);
}

#[tokio::test]
async fn an_alarm_raised_while_the_broker_is_down_is_delivered_when_it_returns() {
    let port = free_port();
    let mut broker = OwnBroker::start_on(port);
    broker.ready().await;
    let app = with_broker(port).await;
    eventually("publisher connected", WAIT, || async {
        (metric(&app.metrics().await, "sitewatch_mqtt_publisher_connected") == Some(1.0))
            .then_some(())
    })
    .await;
    broker.kill();
    app.sim().set(3, "fault", 1.0);
    eventually("alarm queued in the outbox", WAIT, || async {
        let m = app.metrics().await;
        (metric(&m, r#"sitewatch_outbox_backlog{channel="mqtt"}"#).unwrap_or(0.0) >= 2.0)
            .then_some(())
    })
    .await;
    let mut broker = OwnBroker::start_on(port);
    broker.ready().await;
    let alarm_topic = format!("sitewatch/{}/alarms/pump_1.fault:discrete", app.site);
    let (_client, msgs) = subscribe(port, &alarm_topic).await;
    let (_, state, _) = seen(&msgs, "alarm delivered after the outage", |(t, _, _)| {
        t == &alarm_topic
    })
    .await;
    assert_eq!(state["state"], "unack_active");
    eventually("outbox drained", WAIT, || async {
        let m = app.metrics().await;
        (metric(&m, r#"sitewatch_outbox_backlog{channel="mqtt"}"#) == Some(0.0)).then_some(())
    })
    .await;
    broker.kill();
}
