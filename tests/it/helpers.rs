//! `spawn_app`: a daemon on a free port, its own simulator and its own database.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sitewatch::app::App;
use sitewatch::config::Config;
use sitewatch::core::clock::{Clock, SystemClock};
use sitewatch::devices::{self, simulator::Simulator};
use sitewatch::store::Store;
use sqlx::Connection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A fresh, empty database of the given kind; its URL and a guard that drops it.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A database the test made itself (on a server or a disk of its own), which it
    /// cleans up itself.
    pub fn at(url: String) -> TestDb {
        TestDb { url, _dir: None }
    }
}

fn pg_admin_url() -> String {
    std::env::var("SITEWATCH_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub async fn fresh_db(kind: Db) -> TestDb {
    match kind {
        Db::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            TestDb {
                url,
                _dir: Some(dir),
            }
        }
        Db::Postgres => {
            let name = format!(
                "sitewatch_t{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                chrono::Utc::now().timestamp_micros() % 1_000_000
            );
            let admin = pg_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("PostgreSQL is up (scripts/test starts it)");
            sqlx::query(&format!("create database {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin
                .rsplit_once('/')
                .map_or(admin.as_str(), |x| x.0)
                .to_owned();
            TestDb {
                url: format!("{base}/{name}"),
                _dir: None,
            }
        }
    }
}

/// A running daemon with its simulator.
pub struct TestApp {
    pub base: String,
    /// Site id, unique per test (MQTT topics are under `sitewatch/{site}`).
    pub site: String,
    sim: Option<Simulator>,
    pub db: TestDb,
    pub client: reqwest::Client,
    cancel: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The demo plant's devices, polled every 100 ms, comm-lost after 2 misses.
pub fn test_config(sim_addr: &str, db_url: &str) -> Config {
    test_config_with(sim_addr, db_url, "")
}

/// The test plant plus `extra` TOML (patrol routes, alarm rules…).
pub fn test_config_with(sim_addr: &str, db_url: &str, extra: &str) -> Config {
    test_config_for("t", sim_addr, db_url, extra)
}

/// The same, for site `site` (MQTT topics are under `sitewatch/{site}`).
pub fn test_config_for(site: &str, sim_addr: &str, db_url: &str, extra: &str) -> Config {
    let text = format!(
        r#"
[site]
id = "{site}"
name = "Test Estate"

[http]
listen = "127.0.0.1:0"

[database]
url = "{db_url}"

[[devices]]
id = "em_b1"
name = "Energy meter"
profile = "eastron_sdm630"
modbus = {{ address = "{sim_addr}", unit_id = 1, poll_interval = "100ms", timeout = "200ms", comm_loss_after = 2 }}

[[devices]]
id = "pump_1"
name = "Pump 1"
profile = "abb_acs580"
modbus = {{ address = "{sim_addr}", unit_id = 3, poll_interval = "100ms", timeout = "200ms", comm_loss_after = 2 }}

[[devices]]
id = "fire_panel"
name = "Fire panel"
profile = "fire_panel_gateway"
modbus = {{ address = "{sim_addr}", unit_id = 4, poll_interval = "100ms", timeout = "200ms", comm_loss_after = 2 }}

{extra}
"#
    );
    Config::parse(Path::new("test.toml"), &text, None).expect("test config is valid")
}

pub async fn spawn_app(kind: Db) -> TestApp {
    spawn_app_with(kind, "", Arc::new(SystemClock)).await
}

/// A daemon with `extra` config, on `clock`.
pub async fn spawn_app_with(kind: Db, extra: &str, clock: Arc<dyn Clock>) -> TestApp {
    spawn_app_at(fresh_db(kind).await, extra, clock).await
}

/// A daemon with `extra` config, on `clock`, on a database the test made (`TestDb::at`).
pub async fn spawn_app_at(db: TestDb, extra: &str, clock: Arc<dyn Clock>) -> TestApp {
    // Logs stay silent unless asked for (`TEST_LOG=1`).
    if std::env::var_os("TEST_LOG").is_some() {
        sitewatch::telemetry::init();
    }
    let sim = test_plant(&db.url).await;
    start(db, sim, extra, clock).await
}

/// The test config's plant, simulated on a free port.
pub async fn test_plant(db_url: &str) -> Simulator {
    let placeholder = test_config("127.0.0.1:1", db_url);
    Simulator::start(
        "127.0.0.1:0".parse().expect("addr"),
        &devices::sim_devices(&placeholder.devices),
    )
    .await
    .expect("simulator starts")
}

/// Starts a daemon on an existing database and simulator (a restart).
pub async fn start(db: TestDb, sim: Simulator, extra: &str, clock: Arc<dyn Clock>) -> TestApp {
    let site = format!(
        "t{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let config = test_config_for(&site, &sim.addr().to_string(), &db.url, extra);
    let app = App::build(config, clock).await.expect("app builds");
    let base = format!("http://{}", app.addr());
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(cancel.clone()));
    TestApp {
        site,
        base,
        sim: Some(sim),
        db,
        client: reqwest::Client::new(),
        cancel,
        task: Some(task),
    }
}

impl TestApp {
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("json body")
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn metrics(&self) -> String {
        let resp = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("request");
        resp.text().await.expect("text")
    }

    /// Stops the daemon and hands back its database and simulator, for a restart.
    pub async fn shut_down(mut self) -> (TestDb, Simulator) {
        self.stop().await;
        let db = std::mem::replace(
            &mut self.db,
            TestDb {
                url: String::new(),
                _dir: None,
            },
        );
        let sim = self.sim.take().expect("simulator present until shut down");
        (db, sim)
    }

    /// The plant this daemon polls.
    pub fn sim(&self) -> &Simulator {
        self.sim
            .as_ref()
            .expect("simulator present until shut down")
    }

    pub async fn point(&self, id: &str) -> serde_json::Value {
        self.get_json(&format!("/api/v1/points/{id}")).await
    }

    /// Stops the daemon the way SIGTERM does and waits for it to finish.
    pub async fn stop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.await
                .expect("app task joins")
                .expect("app stops cleanly");
        }
    }

    /// The daemon's task has not ended (it never restarted under the test).
    pub fn running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.db.url).await.expect("store connects")
    }

    /// The answer of `select count(*) …` on a connection of the test's own: what the
    /// database holds at this moment.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.db.url)
            .await
            .expect("connect");
        sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .expect("count")
    }

    /// The journal entries of `kind` whose body's `field` is `value`.
    pub async fn journalled(&self, kind: &str, field: &str, value: &str) -> usize {
        let entries = self.store().await.events(0, Some(kind), 100_000).await;
        let entries = entries.expect("journal");
        entries.iter().filter(|e| e.body[field] == value).count()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Polls `check` every 50 ms until it returns `Some`, or panics with `what` after `within`
/// (also when one check is still running then: a check that hangs cannot hang the test).
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let checked = tokio::time::timeout_at(deadline, check()).await;
        if let Some(v) = checked.unwrap_or_else(|_| panic!("timed out waiting for {what}")) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A metric sample's value from Prometheus text, by exact series text.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.trim().parse().ok())
    })
}

/// A site config with the given `[[devices]]` text; profiles from `profiles` when given,
/// the built-in set otherwise.
pub fn site_config(db_url: &str, devices: &str, profiles: Option<&Path>) -> Config {
    let dir = profiles.map_or(String::new(), |p| {
        format!("[profiles]\ndir = \"{}\"\n", p.display())
    });
    let text = format!(
        "[site]\nid = \"t\"\nname = \"Test Estate\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[database]\nurl = \"{db_url}\"\n\n{dir}\n{devices}"
    );
    Config::parse(Path::new("test.toml"), &text, Some(Path::new("/")))
        .unwrap_or_else(|p| panic!("test config is valid: {p}"))
}

/// Runs a daemon with `config` next to an already started simulator.
pub async fn spawn_app_on(db: TestDb, sim: Simulator, config: Config) -> TestApp {
    spawn_app_on_at(db, sim, config, Arc::new(SystemClock)).await
}

/// The same, on `clock`.
pub async fn spawn_app_on_at(
    db: TestDb,
    sim: Simulator,
    config: Config,
    clock: Arc<dyn Clock>,
) -> TestApp {
    let app = App::build(config, clock).await.expect("app builds");
    let base = format!("http://{}", app.addr());
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(cancel.clone()));
    TestApp {
        base,
        site: "t".into(),
        sim: Some(sim),
        db,
        client: reqwest::Client::new(),
        cancel,
        task: Some(task),
    }
}

impl TestApp {
    /// Puts a new simulator in place of the old one (a device restarted).
    pub fn set_sim(&mut self, sim: Simulator) {
        self.sim = Some(sim);
    }

    /// One device of `/api/v1/devices`.
    pub async fn device(&self, id: &str) -> serde_json::Value {
        let all = self.get_json("/api/v1/devices").await;
        all.as_array()
            .and_then(|a| a.iter().find(|d| d["id"] == id).cloned())
            .unwrap_or_else(|| panic!("device {id} in {all}"))
    }
}

/// A TCP port nothing listens on right now (for a chromedriver, a private Mosquitto…).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
