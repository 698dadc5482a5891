//! MQTT ingest end to end through real Mosquitto: sensor payloads of the common shapes
//! reach the API as point values, bad payloads are counted and dropped without harm, a
//! silent sensor turns stale, NFC scans are stored and judged, and a broker restart without a
//! kept session does not leave the daemon deaf.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use sitewatch::app::App;
use sitewatch::config::Config;
use sitewatch::core::clock::SystemClock;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::helpers::{Db, TestDb, eventually, free_port, fresh_db, metric};

pub(crate) const WAIT: Duration = Duration::from_secs(10);
pub(crate) const SYSTEM_BROKER: u16 = 1883;

static N: AtomicU32 = AtomicU32::new(0);

/// A daemon subscribed to one broker, with its own topic prefix and site id.
pub(crate) struct MqttApp {
    pub(crate) base: String,
    port: u16,
    pub(crate) prefix: String,
    pub(crate) site: String,
    client: reqwest::Client,
    cancel: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Certificates to publish with, for a TLS broker.
    tls: Option<tls::Certs>,
    _db: TestDb,
}

pub(crate) fn unique() -> String {
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = chrono::Utc::now().timestamp_micros() % 1_000_000_000;
    format!("{}_{n}_{t}", std::process::id())
}

fn config(broker: &str, prefix: &str, site: &str, db_url: &str) -> Config {
    let text = format!(
        r#"
[site]
id = "{site}"
name = "MQTT Test"

[http]
listen = "127.0.0.1:0"

[database]
url = "{db_url}"

[mqtt]
{broker}
client_id = "sitewatch-test-{site}"
keep_alive = "5s"

[[devices]]
id = "leak_1"
name = "Leak sensor"
profile = "zigbee_water_leak"
mqtt = {{ topic = "{prefix}/leak_1" }}

[[devices]]
id = "door_1"
name = "Door contact"
profile = "zigbee_door_contact"
mqtt = {{ topic = "{prefix}/door_1" }}

[[devices]]
id = "level"
name = "Tank level"
profile = "mqtt_plain_value"
mqtt = {{ topic = "{prefix}/level" }}

[[devices]]
id = "pump"
name = "Pump running"
profile = "mqtt_plain_value"
mqtt = {{ topic = "{prefix}/pump" }}

[[devices]]
id = "temp"
name = "Plant room temperature"
profile = "mqtt_plain_value"
mqtt = {{ topic = "{prefix}/temp", stale_after = "300ms" }}
"#
    );
    Config::parse(Path::new("mqtt-test.toml"), &text, None).expect("test config is valid")
}

async fn spawn(port: u16) -> MqttApp {
    spawn_with(port, &format!("url = \"mqtt://127.0.0.1:{port}\"")).await
}

/// A daemon whose `[mqtt]` section starts with `broker` (url and TLS settings).
pub(crate) async fn spawn_with(port: u16, broker: &str) -> MqttApp {
    spawn_on(port, broker, fresh_db(Db::Sqlite).await).await
}

/// A daemon as [`spawn_with`] makes it, on the database `db`.
pub(crate) async fn spawn_on(port: u16, broker: &str, db: TestDb) -> MqttApp {
    let id = unique();
    let (prefix, site) = (format!("sitewatch-test/{id}"), format!("t{id}"));
    let app = App::build(
        config(broker, &prefix, &site, &db.url),
        Arc::new(SystemClock),
    )
    .await
    .expect("app builds")
    .with_tick(Duration::from_millis(100));
    let cancel = CancellationToken::new();
    let base = format!("http://{}", app.addr());
    let task = Some(tokio::spawn(app.run_until_stopped(cancel.clone())));
    let app = MqttApp {
        base,
        port,
        prefix,
        site,
        client: reqwest::Client::new(),
        cancel,
        task,
        tls: None,
        _db: db,
    };
    app.wait_subscribed().await;
    app
}

impl MqttApp {
    pub(crate) async fn get_json(&self, path: &str) -> serde_json::Value {
        let resp = self.client.get(format!("{}{path}", self.base)).send();
        let resp = resp.await.expect("request");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("json")
    }

    /// The JSON at `path`, or `None` when the request fails or is not a success.
    pub(crate) async fn get_json_opt(&self, path: &str) -> Option<serde_json::Value> {
        let resp = self.client.get(format!("{}{path}", self.base)).send();
        let resp = resp.await.ok().filter(|r| r.status().is_success())?;
        resp.json().await.ok()
    }

    pub(crate) async fn metrics(&self) -> String {
        let resp = self.client.get(format!("{}/metrics", self.base)).send();
        resp.await.expect("request").text().await.expect("text")
    }

    pub(crate) async fn wait_connected(&self, want: f64) {
        eventually(
            &format!("sitewatch_mqtt_connected {want}"),
            WAIT,
            || async {
                let text = self.metrics().await;
                (metric(&text, "sitewatch_mqtt_connected") == Some(want)).then_some(())
            },
        )
        .await;
    }

    pub(crate) async fn wait_subscribed(&self) {
        self.wait_connected(1.0).await;
    }

    pub(crate) async fn send(&self, device_topic: &str, payload: &str) {
        if let Some(tls) = &self.tls {
            let topic = format!("{}/{device_topic}", self.prefix);
            tls.publish(self.port, &topic, payload);
            return;
        }
        publish(
            self.port,
            &format!("{}/{device_topic}", self.prefix),
            payload,
        )
        .await;
    }

    /// Waits until `point` is `want` with good quality.
    pub(crate) async fn value(&self, point: &str, want: f64) -> serde_json::Value {
        eventually(&format!("{point} = {want}"), WAIT, || async {
            let p = self.get_json(&format!("/api/v1/points/{point}")).await;
            (p["value"].as_f64() == Some(want) && p["quality"] == "good").then_some(p)
        })
        .await
    }

    pub(crate) async fn counter(&self, series: &str, at_least: f64) {
        eventually(&format!("{series} >= {at_least}"), WAIT, || async {
            let text = self.metrics().await;
            (metric(&text, series).unwrap_or(0.0) >= at_least).then_some(())
        })
        .await;
    }

    pub(crate) async fn stop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("joins").expect("stops cleanly");
        }
    }
}

impl Drop for MqttApp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Publishes one QoS 1 message and waits for the broker's PubAck.
pub(crate) async fn publish(port: u16, topic: &str, payload: &str) {
    publish_bytes(port, topic, payload.as_bytes().to_vec()).await;
}

/// Publishes one QoS 1 message of any bytes and waits for the broker's PubAck.
pub(crate) async fn publish_bytes(port: u16, topic: &str, payload: Vec<u8>) {
    let mut o = MqttOptions::new(format!("pub-{}", unique()), "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    o.set_max_packet_size(4 << 20, 4 << 20);
    let (client, mut events) = AsyncClient::new(o, 10);
    client
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .expect("publish queued");
    let acked = tokio::time::timeout(WAIT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => break,
                Ok(_) => {}
                Err(e) => panic!("publisher: {e}"),
            }
        }
    });
    acked.await.expect("broker acknowledged the publish");
    let _ = client.try_disconnect();
}

#[tokio::test]
async fn zigbee2mqtt_leak_payload_arrives_as_point_values() {
    let mut app = spawn(SYSTEM_BROKER).await;
    app.send(
        "leak_1",
        r#"{"battery":97,"voltage":3005,"water_leak":true,"linkquality":120}"#,
    )
    .await;
    let leak = app.value("leak_1.leak", 1.0).await;
    assert_eq!(leak["states"]["1"], "leak", "{leak}");
    let battery = app.value("leak_1.battery", 97.0).await;
    assert_eq!(battery["unit"], "%");
    app.send("door_1", r#"{"contact":false,"battery":100}"#)
        .await;
    app.value("door_1.open", 1.0).await;
    let devices = app.get_json("/api/v1/devices").await;
    let leak = devices
        .as_array()
        .and_then(|d| d.iter().find(|d| d["id"] == "leak_1").cloned())
        .expect("leak device listed");
    assert_eq!(leak["address"], format!("mqtt:{}/leak_1", app.prefix));
    app.stop().await;
}

#[tokio::test]
async fn a_leak_reported_over_mqtt_raises_an_emergency_and_opens_a_water_ingress_incident() {
    let mut app = spawn(SYSTEM_BROKER).await;
    app.send("leak_1", r#"{"water_leak":true}"#).await;
    let alarm = eventually("leak alarm", WAIT, || async {
        let list = app.get_json("/api/v1/alarms").await;
        list.as_array()?
            .iter()
            .find(|a| a["id"] == "leak_1.leak:discrete")
            .cloned()
    })
    .await;
    assert_eq!(
        (alarm["priority"].as_str(), alarm["state"].as_str()),
        (Some("emergency"), Some("unack_active"))
    );
    eventually("water ingress incident", WAIT, || async {
        let list = app.get_json("/api/v1/incidents").await;
        list.as_array()?
            .iter()
            .find(|i| i["category"] == "water_ingress")
            .cloned()
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn plain_numbers_and_booleans_are_point_values() {
    let mut app = spawn(SYSTEM_BROKER).await;
    app.send("level", "42.5").await;
    app.value("level.value", 42.5).await;
    app.send("pump", "true").await;
    app.value("pump.value", 1.0).await;
    app.send("pump", "OFF").await;
    app.value("pump.value", 0.0).await;
    app.send("pump", "false").await;
    app.send("level", "-1.25").await;
    app.value("level.value", -1.25).await;
    app.counter(r#"sitewatch_mqtt_messages_total{result="ok"}"#, 5.0)
        .await;
    app.stop().await;
}

#[tokio::test]
async fn malformed_payloads_are_counted_dropped_and_survived() {
    let mut app = spawn(SYSTEM_BROKER).await;
    app.send("leak_1", "{not json").await;
    app.send("leak_1", r#"{"temperature":21}"#).await;
    app.send("level", "hot").await;
    app.send("door_1", r#"{"contact":"ajar"}"#).await;
    for reason in ["malformed", "missing_path", "not_numeric", "unmapped"] {
        let series = format!(r#"sitewatch_mqtt_rejects_total{{reason="{reason}"}}"#);
        app.counter(&series, 1.0).await;
    }
    app.counter(r#"sitewatch_mqtt_messages_total{result="rejected"}"#, 4.0)
        .await;
    // Still running, still listening: the next good payload is taken.
    app.send("leak_1", r#"{"water_leak":false}"#).await;
    app.value("leak_1.leak", 0.0).await;
    let text = app.metrics().await;
    assert_eq!(metric(&text, "sitewatch_mqtt_connected"), Some(1.0));
    app.stop().await;
}

#[tokio::test]
async fn silent_sensor_turns_stale_and_keeps_its_last_value() {
    let mut app = spawn(SYSTEM_BROKER).await;
    app.send("temp", "21.5").await;
    app.value("temp.value", 21.5).await;
    let p = eventually("temp.value stale", WAIT, || async {
        let p = app.get_json("/api/v1/points/temp.value").await;
        (p["quality"] == "stale").then_some(p)
    })
    .await;
    assert_eq!(p["value"], 21.5);
    // A point without stale_after override stays good.
    app.send("level", "3").await;
    let level = app.value("level.value", 3.0).await;
    assert_eq!(level["quality"], "good");
    app.stop().await;
}

#[tokio::test]
async fn nfc_reader_scans_are_stored_and_judged() {
    let mut app = spawn(SYSTEM_BROKER).await;
    let topic = format!("sitewatch/{}/scan/gate_1", app.site);
    publish(
        app.port,
        &topic,
        r#"{"uid":"04:A2:2B:1A:5C:80","guard":"g7"}"#,
    )
    .await;
    publish(app.port, &topic, "not a uid").await;
    let scans = eventually("scan stored", WAIT, || async {
        let rows = app.get_json("/api/v1/patrol/scans").await;
        let rows = rows.as_array().cloned().unwrap_or_default();
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    // The reader is not listed in `[patrol] readers`: the scan is kept, flagged.
    assert_eq!(scans[0]["scan"]["source"]["reader"], "gate_1");
    assert_eq!(scans[0]["scan"]["tag"]["value"], "04:A2:2B:1A:5C:80");
    assert_eq!(scans[0]["scan"]["guard"], "g7");
    assert_eq!(scans[0]["result"]["result"], "not_allowed");
    app.counter(r#"sitewatch_mqtt_rejects_total{reason="bad_scan"}"#, 1.0)
        .await;
    app.stop().await;
}

/// A Mosquitto of our own, without persistence: a restart forgets every session.
pub(crate) struct OwnBroker {
    port: u16,
    child: Option<Child>,
}

impl OwnBroker {
    /// One whose configuration file adds `settings` (Mosquitto's `name value` lines).
    pub(crate) fn start_configured(port: u16, settings: &str) -> OwnBroker {
        let conf = std::env::temp_dir().join(format!("sitewatch-test-mosquitto-{port}.conf"));
        let text = format!("listener {port} 127.0.0.1\nallow_anonymous true\n{settings}");
        std::fs::write(&conf, text).expect("broker config");
        let spawn = |program: &str| {
            Command::new(program)
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
        };
        let child = spawn("mosquitto")
            .or_else(|_| spawn("/usr/sbin/mosquitto"))
            .expect("mosquitto runs (scripts/test installs it)");
        OwnBroker {
            port,
            child: Some(child),
        }
    }

    pub(crate) fn start_on(port: u16) -> OwnBroker {
        let child = Command::new("mosquitto")
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .or_else(|_| {
                Command::new("/usr/sbin/mosquitto")
                    .args(["-p", &port.to_string()])
                    .spawn()
            })
            .expect("mosquitto runs (scripts/test installs it)");
        OwnBroker {
            port,
            child: Some(child),
        }
    }

    pub(crate) async fn ready(&self) {
        let addr = format!("127.0.0.1:{}", self.port);
        eventually("own mosquitto listening", WAIT, || async {
            tokio::net::TcpStream::connect(&addr).await.ok().map(|_| ())
        })
        .await;
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn subscriptions_are_renewed_after_a_broker_restart_without_session() {
    let port = free_port();
    let mut broker = OwnBroker::start_on(port);
    broker.ready().await;
    let mut app = spawn(port).await;
    app.send("level", "1").await;
    app.value("level.value", 1.0).await;
    broker.kill();
    app.wait_connected(0.0).await;
    let mut broker = OwnBroker::start_on(port);
    broker.ready().await;
    app.wait_subscribed().await;
    // The new broker knows nothing of us: only a renewed subscription delivers this.
    app.send("level", "2").await;
    app.value("level.value", 2.0).await;
    app.stop().await;
    broker.kill();
}

/// Subscribes `topic` at QoS 1 in a persistent session and goes away: the broker keeps
/// queueing for it.
async fn park_a_subscriber(port: u16, topic: &str) {
    let mut o = MqttOptions::new(format!("parked-{}", unique()), "127.0.0.1", port);
    o.set_clean_session(false);
    let (client, mut events) = AsyncClient::new(o, 10);
    client
        .subscribe(topic, QoS::AtLeastOnce)
        .await
        .expect("subscribe queued");
    let acked = tokio::time::timeout(WAIT, async {
        while !matches!(events.poll().await, Ok(Event::Incoming(Packet::SubAck(_)))) {}
    });
    acked.await.expect("broker acknowledged the subscription");
    client.disconnect().await.expect("disconnect queued");
    let _ = tokio::time::timeout(WAIT, async { while events.poll().await.is_ok() {} }).await;
}

#[tokio::test]
async fn messages_the_broker_drops_show_in_the_metrics() {
    let port = free_port();
    // Figures every second, and room for one queued message per client.
    let broker = OwnBroker::start_configured(
        port,
        "persistence false\nsys_interval 1\nmax_queued_messages 1\n",
    );
    broker.ready().await;
    let mut app = spawn(port).await;
    park_a_subscriber(port, "parked/readings").await;
    for i in 0..5 {
        publish(port, "parked/readings", &i.to_string()).await;
    }
    // One queued for the parked subscriber, four dropped by the broker.
    app.counter("sitewatch_mqtt_broker_dropped_messages", 4.0)
        .await;
    // The broker's own figure is not a device message, nor a reject.
    let text = app.metrics().await;
    assert_eq!(
        metric(
            &text,
            r#"sitewatch_mqtt_rejects_total{reason="unknown_topic"}"#
        ),
        Some(0.0)
    );
    assert_eq!(metric(&text, "sitewatch_mqtt_connected"), Some(1.0));
    app.stop().await;
}

#[tokio::test]
async fn the_demo_broker_carries_sensor_messages() {
    let broker = sitewatch::broker::EmbeddedBroker::start()
        .await
        .expect("embedded broker starts");
    let port = broker.addr().port();
    // As the demo configures it: rumqttd closes the connection of a client asking for
    // `$SYS`.
    let mut app = spawn_with(
        port,
        &format!("url = \"mqtt://127.0.0.1:{port}\"\nbroker_stats = false"),
    )
    .await;
    app.send("leak_1", r#"{"water_leak":true}"#).await;
    app.value("leak_1.leak", 1.0).await;
    app.stop().await;
}

/// A site CA, a broker certificate for `localhost` and a client certificate, made with the
/// `openssl` command, and a Mosquitto that demands a client certificate.
mod tls {
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};

    pub(super) struct Certs {
        dir: tempfile::TempDir,
    }

    fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `name` signed by the CA with the X.509 v3 extensions `ext` (webpki takes no v1).
    fn signed(dir: &Path, name: &str, ext: &str) {
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        openssl(dir, &["genrsa", "-out", &key, "2048"]);
        let subj = format!("/CN={name}");
        openssl(
            dir,
            &["req", "-new", "-key", &key, "-subj", &subj, "-out", &csr],
        );
        let ext_file = format!("{name}.ext");
        std::fs::write(dir.join(&ext_file), ext).expect("ext file");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &crt,
                "-extfile",
                &ext_file,
            ],
        );
    }

    impl Certs {
        pub(super) fn make() -> Certs {
            let dir = tempfile::tempdir().expect("temp dir");
            let d = dir.path();
            openssl(d, &["genrsa", "-out", "ca.key", "2048"]);
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-new",
                    "-key",
                    "ca.key",
                    "-subj",
                    "/CN=Site CA",
                    "-days",
                    "2",
                    "-out",
                    "ca.crt",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            );
            signed(
                d,
                "broker",
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
            );
            signed(d, "sitewatch", "extendedKeyUsage=clientAuth\n");
            // Mosquitto started as root drops to its own user, which must read these.
            use std::os::unix::fs::PermissionsExt;
            for path in [d.to_path_buf(), d.join("broker.key")] {
                let mode = if path.is_dir() { 0o755 } else { 0o644 };
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .expect("permissions");
            }
            Certs { dir }
        }

        pub(super) fn path(&self, file: &str) -> PathBuf {
            self.dir.path().join(file)
        }

        /// A Mosquitto on `port` that speaks only TLS and wants a client certificate.
        pub(super) fn broker(&self, port: u16) -> Child {
            let conf = self.path("mosquitto.conf");
            let text = format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\nrequire_certificate true\n\
                 cafile {}\ncertfile {}\nkeyfile {}\n",
                self.path("ca.crt").display(),
                self.path("broker.crt").display(),
                self.path("broker.key").display(),
            );
            std::fs::write(&conf, text).expect("broker config");
            Command::new("mosquitto")
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("mosquitto runs")
        }

        /// Publishes one QoS 1 message over TLS with the client certificate.
        pub(super) fn publish(&self, port: u16, topic: &str, payload: &str) {
            let status = Command::new("mosquitto_pub")
                .args(["-h", "localhost", "-p", &port.to_string(), "-q", "1"])
                .args(["-t", topic, "-m", payload, "--cafile"])
                .arg(self.path("ca.crt"))
                .arg("--cert")
                .arg(self.path("sitewatch.crt"))
                .arg("--key")
                .arg(self.path("sitewatch.key"))
                .status()
                .expect("mosquitto_pub runs");
            assert!(status.success(), "mosquitto_pub over TLS failed");
        }
    }
}

#[tokio::test]
async fn a_tls_broker_with_the_sites_own_ca_and_client_certificates_is_read() {
    let certs = tls::Certs::make();
    let port = free_port();
    let mut broker = certs.broker(port);
    let addr = format!("127.0.0.1:{port}");
    eventually("TLS mosquitto listening", WAIT, || async {
        tokio::net::TcpStream::connect(&addr).await.ok().map(|_| ())
    })
    .await;
    let section = format!(
        "url = \"mqtts://localhost:{port}\"\nca_file = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"",
        certs.path("ca.crt").display(),
        certs.path("sitewatch.crt").display(),
        certs.path("sitewatch.key").display(),
    );
    let mut app = spawn_with(port, &section).await;
    app.tls = Some(certs);
    app.send("level", "4.5").await;
    app.value("level.value", 4.5).await;
    app.stop().await;
    let _ = broker.kill();
    let _ = broker.wait();
}
