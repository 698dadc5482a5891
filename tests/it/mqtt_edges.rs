//! MQTT ingest under faults, through real Mosquitto: nothing acknowledged before it is
//! kept (kill -9 during a replay of thousands of scans), an oversized message refused
//! without a reconnect, a lost broker turning the devices comm-lost and raising its alarm,
//! a value outside a point's states marking it bad, and scans waiting out a database
//! outage while a leak is still raised.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use crate::helpers::{TestDb, eventually, free_port, metric};
use crate::mqtt::{
    MqttApp, OwnBroker, SYSTEM_BROKER, WAIT, publish, publish_bytes, spawn_on, spawn_with, unique,
};
use crate::pg_server::PgServer;

/// Waits for the standing alarm `id`.
async fn alarm(app: &MqttApp, id: &str) -> serde_json::Value {
    eventually(&format!("alarm {id}"), WAIT, || async {
        let list = app.get_json("/api/v1/alarms").await;
        list.as_array()?.iter().find(|a| a["id"] == id).cloned()
    })
    .await
}

/// One device of `/api/v1/devices`.
async fn device(app: &MqttApp, id: &str) -> serde_json::Value {
    let all = app.get_json("/api/v1/devices").await;
    let found = all
        .as_array()
        .and_then(|a| a.iter().find(|d| d["id"] == id));
    found
        .cloned()
        .unwrap_or_else(|| panic!("device {id} in {all}"))
}

/// Waits until `point` has quality `want`.
async fn quality(app: &MqttApp, point: &str, want: &str) -> serde_json::Value {
    eventually(&format!("{point} {want}"), WAIT, || async {
        let p = app.get_json(&format!("/api/v1/points/{point}")).await;
        (p["quality"] == want).then_some(p)
    })
    .await
}

#[tokio::test]
async fn a_one_mebibyte_message_is_refused_without_a_reconnect_and_the_next_leak_is_raised() {
    let mut app = spawn_with(
        SYSTEM_BROKER,
        &format!("url = \"mqtt://127.0.0.1:{SYSTEM_BROKER}\""),
    )
    .await;
    let topic = format!("{}/leak_1", app.prefix);
    publish_bytes(SYSTEM_BROKER, &topic, vec![b'x'; 1 << 20]).await;
    app.send("leak_1", r#"{"water_leak":true}"#).await;
    alarm(&app, "leak_1.leak:discrete").await;
    let text = app.metrics().await;
    let series =
        |client: &str| format!(r#"sitewatch_mqtt_connection_failures_total{{client="{client}"}}"#);
    assert_eq!(
        metric(&text, r#"sitewatch_mqtt_rejects_total{reason="too_large"}"#),
        Some(1.0)
    );
    assert_eq!(
        metric(&text, &series("readings")),
        Some(0.0),
        "no reconnect"
    );
    assert_eq!(metric(&text, "sitewatch_mqtt_connected"), Some(1.0));
    app.stop().await;
    // Acked, so the broker does not send it again to the next start of the same session.
}

#[tokio::test]
async fn a_value_outside_the_points_states_marks_it_bad_until_a_good_one_comes() {
    let mut app = spawn_with(
        SYSTEM_BROKER,
        &format!("url = \"mqtt://127.0.0.1:{SYSTEM_BROKER}\""),
    )
    .await;
    app.send("leak_1", r#"{"water_leak":5,"battery":90}"#).await;
    quality(&app, "leak_1.leak", "bad_config").await;
    app.value("leak_1.battery", 90.0).await;
    app.counter(
        r#"sitewatch_mqtt_rejects_total{reason="unknown_state"}"#,
        1.0,
    )
    .await;
    let alarms = app.get_json("/api/v1/alarms").await;
    assert!(
        !alarms.to_string().contains("leak_1.leak:discrete"),
        "5 is no leak: {alarms}"
    );
    app.send("leak_1", r#"{"water_leak":false}"#).await;
    app.value("leak_1.leak", 0.0).await;
    app.stop().await;
}

#[tokio::test]
async fn a_lost_broker_turns_mqtt_devices_comm_lost_raises_its_alarm_and_recovers() {
    let port = free_port();
    let mut broker = OwnBroker::start_on(port);
    broker.ready().await;
    let mut app = spawn_with(
        port,
        &format!("url = \"mqtt://127.0.0.1:{port}\"\nlost_after = \"1s\""),
    )
    .await;
    app.send("leak_1", r#"{"water_leak":false}"#).await;
    app.value("leak_1.leak", 0.0).await;
    app.value("mqtt.connected", 1.0).await;
    broker.kill();
    let broker_alarm = alarm(&app, "mqtt:comm").await;
    assert_eq!(broker_alarm["state"], "unack_active", "{broker_alarm}");
    let leak = quality(&app, "leak_1.leak", "comm_lost").await;
    assert_eq!(leak["value"], 0.0, "the last value is kept, flagged");
    let point = quality(&app, "mqtt.connected", "comm_lost").await;
    assert_eq!(point["value"], 0.0);
    let leak_device = device(&app, "leak_1").await;
    assert_eq!(leak_device["up"], false, "{leak_device}");
    let why = leak_device["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("MQTT broker connection lost"), "{leak_device}");
    let mut broker = OwnBroker::start_on(port);
    broker.ready().await;
    app.wait_subscribed().await;
    app.value("mqtt.connected", 1.0).await;
    eventually("broker alarm returned", WAIT, || async {
        let list = app.get_json("/api/v1/alarms").await;
        let a = list
            .as_array()?
            .iter()
            .find(|a| a["id"] == "mqtt:comm")?
            .clone();
        (a["state"] == "unack_returned").then_some(())
    })
    .await;
    eventually("leak_1 up again", WAIT, || async {
        (device(&app, "leak_1").await["up"] == true).then_some(())
    })
    .await;
    app.send("leak_1", r#"{"water_leak":false}"#).await;
    app.value("leak_1.leak", 0.0).await;
    app.stop().await;
    broker.kill();
}

#[tokio::test]
async fn reader_scans_wait_out_a_database_outage_while_a_leak_is_still_raised() {
    let pg = PgServer::start();
    let url = pg.create_db(&format!("sw_{}", unique())).await;
    let db = TestDb::at(url);
    let mut app = spawn_on(
        SYSTEM_BROKER,
        &format!("url = \"mqtt://127.0.0.1:{SYSTEM_BROKER}\""),
        db,
    )
    .await;
    pg.stop();
    let scan_topic = format!("sitewatch/{}/scan/gate_1", app.site);
    publish(
        SYSTEM_BROKER,
        &scan_topic,
        r#"{"uid":"04A22B1A","id":"outage-1"}"#,
    )
    .await;
    // Judged, and held in the writer's backlog. (Whether it has failed a try yet depends
    // on which batch the writer was retrying when it came, so retries are not awaited.)
    eventually(
        "the scan judged and waiting to be stored",
        Duration::from_secs(30),
        || async {
            let text = app.metrics().await;
            let judged = r#"sitewatch_patrol_scans_total{result="not_allowed"}"#;
            let waiting = r#"sitewatch_store_backlog_rows{kind="records"}"#;
            let held = metric(&text, judged)? >= 1.0 && metric(&text, waiting)? >= 1.0;
            held.then_some(())
        },
    )
    .await;
    app.send("leak_1", r#"{"water_leak":true}"#).await;
    // The API's sign-in check reads the database, so the alarm is seen in /metrics.
    let leak = r#"sitewatch_alarms{priority="emergency",state="unack_active"}"#;
    app.counter(leak, 1.0).await;
    pg.start_again();
    let scans = eventually(
        "scan stored after the outage",
        Duration::from_secs(60),
        || async {
            let resp = app.get_json_opt("/api/v1/patrol/scans").await?;
            let rows = resp.as_array()?.clone();
            (!rows.is_empty()).then_some(rows)
        },
    )
    .await;
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0]["scan"]["id"], "outage-1");
    // Judged once and its verdict stored, not left for the next start to judge.
    assert_eq!(scans[0]["result"]["result"], "not_allowed", "{}", scans[0]);
    app.stop().await;
}

/// A daemon in a child process (`sitewatch serve`), as a site runs it.
struct Daemon {
    child: Child,
    http: u16,
}

impl Daemon {
    fn start(config: &Path, http: u16) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the daemon starts");
        Daemon { child, http }
    }

    async fn wait_subscribed(&self) {
        let url = format!("http://127.0.0.1:{}/metrics", self.http);
        let series = r#"sitewatch_mqtt_client_connected{client="scans"}"#;
        eventually("scans client subscribed", WAIT, || async {
            let text = reqwest::get(&url).await.ok()?.text().await.ok()?;
            (metric(&text, series) == Some(1.0)).then_some(())
        })
        .await;
    }

    /// Sends `signal` and waits for the process to end.
    fn signal(mut self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill has no memory preconditions; the pid is our own child.
        unsafe { libc::kill(pid, signal) };
        self.child.wait().expect("daemon ends");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The scan ids stored in the SQLite file at `db`.
async fn stored_scan_ids(db: &Path) -> Vec<String> {
    use sqlx::Connection;
    let url = format!("sqlite://{}", db.display());
    let Ok(mut conn) = sqlx::SqliteConnection::connect(&url).await else {
        return Vec::new();
    };
    sqlx::query_scalar("select scan_id from scans")
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default()
}

/// Publishes `n` QoS 1 scans with ids `s0`… and waits for every PubAck.
async fn publish_scans(port: u16, topic: &str, n: usize) {
    let mut o = MqttOptions::new(format!("pub-{}", unique()), "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(o, 64);
    let topic = topic.to_owned();
    tokio::spawn(async move {
        for i in 0..n {
            let body = format!(r#"{{"uid":"04A22B1A","id":"s{i}"}}"#);
            client
                .publish(&topic, QoS::AtLeastOnce, false, body)
                .await
                .expect("publish queued");
        }
    });
    let mut acked = 0;
    let all = tokio::time::timeout(Duration::from_secs(60), async {
        while acked < n {
            match events.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(e) => panic!("publisher: {e}"),
            }
        }
    });
    all.await.expect("broker acknowledged every scan");
}

#[tokio::test]
async fn kill_9_during_a_replay_of_thousands_of_scans_loses_none() {
    const SCANS: usize = 3000;
    let port = free_port();
    let broker = OwnBroker::start_configured(port, "max_queued_messages 10000\n");
    broker.ready().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("site.db");
    let (site, http) = (format!("k{}", unique()), free_port());
    let config = dir.path().join("site.toml");
    let text = format!(
        "[site]\nid = \"{site}\"\nname = \"Kill test\"\n\n[http]\nlisten = \"127.0.0.1:{http}\"\n\n\
         [database]\nurl = \"sqlite://{}\"\n\n[mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\n\
         client_id = \"sitewatch-kill-{site}\"\n",
        db.display()
    );
    std::fs::write(&config, text).expect("config");
    // Once, so the broker keeps a session with the scan subscription; then away.
    let daemon = Daemon::start(&config, http);
    daemon.wait_subscribed().await;
    daemon.signal(libc::SIGTERM);
    publish_scans(port, &format!("sitewatch/{site}/scan/gate_1"), SCANS).await;
    let daemon = Daemon::start(&config, http);
    let stored = eventually("replay under way", Duration::from_secs(60), || async {
        let n = stored_scan_ids(&db).await.len();
        (n >= 300).then_some(n)
    })
    .await;
    daemon.signal(libc::SIGKILL);
    let at_kill = stored_scan_ids(&db).await.len();
    assert!(
        at_kill < SCANS,
        "killed mid-replay ({stored} then {at_kill} stored)"
    );
    let daemon = Daemon::start(&config, http);
    let ids = eventually("every scan stored", Duration::from_secs(90), || async {
        let ids = stored_scan_ids(&db).await;
        (ids.len() >= SCANS).then_some(ids)
    })
    .await;
    daemon.signal(libc::SIGTERM);
    let unique_ids: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let want: BTreeSet<String> = (0..SCANS).map(|i| format!("s{i}")).collect();
    let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(ids.len(), SCANS, "each scan stored once");
    assert_eq!(unique_ids, want);
}
