//! The many-sites rig (issue 23), shared by `central` and `fleet_page`: a central
//! nats-server of the test's own (free port, its own store directory; the shared one on
//! 4222 is never touched), a central PostgreSQL database of the test's own,
//! `sitewatch central` and `sitewatch serve` sites as child processes (each its own
//! simulator, SQLite file and port), so they can be killed with SIGKILL; and an operator
//! at the centre made with the CLI and signed in.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;
use sqlx::Connection as _;

use crate::helpers::{eventually, free_port, test_plant};
use sitewatch::devices::simulator::Simulator;

pub const LONG: Duration = Duration::from_secs(180);
/// Longest one HTTP call or database query may take.
pub const CALL: Duration = Duration::from_secs(20);

/// `fut`, or a panic naming `what` when it takes longer than [`CALL`].
pub async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(CALL, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {CALL:?}"))
}

/// An HTTP client whose every call is bounded.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(CALL)
        .build()
        .expect("http client")
}

/// A child process killed (SIGKILL) when dropped.
pub struct Proc(pub Child);

impl Proc {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The central nats-server with JetStream, on `port`, storing under `dir`.
pub fn nats(port: u16, dir: &Path) -> Proc {
    let child = Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server is installed (scripts/test checks it)");
    Proc(child)
}

pub fn sitewatch(args: &[&str]) -> Proc {
    // `CENTRAL_TEST_LOGS=dir` keeps each child's log there (for a failure's story).
    let log = std::env::var_os("CENTRAL_TEST_LOGS").map(|dir| {
        let name = args.join("_").replace(['/', '.'], "_");
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(Path::new(&dir).join(format!("{}.log", &name[name.len().saturating_sub(40)..])))
            .expect("log file")
    });
    // The daemon logs to stdout; both go to the log.
    let (stdout, stderr) = match log {
        Some(file) => (
            Stdio::from(file.try_clone().expect("log file")),
            Stdio::from(file),
        ),
        None => (Stdio::null(), Stdio::null()),
    };
    let child = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("SITEWATCH_DATABASE_URL")
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("binary runs");
    Proc(child)
}

/// One site: its config, simulator, port and process.
pub struct Site {
    pub id: String,
    pub config: PathBuf,
    pub db: PathBuf,
    pub port: u16,
    pub sim: Simulator,
    pub proc: Option<Proc>,
}

impl Site {
    pub async fn new(dir: &Path, id: &str, nats_url: &str) -> Site {
        Site::with(dir, id, nats_url, "").await
    }

    /// A site whose config ends with `extra` (more sections).
    pub async fn with(dir: &Path, id: &str, nats_url: &str, extra: &str) -> Site {
        let db = dir.join(format!("{id}.db"));
        let sim = test_plant("sqlite://placeholder.db").await;
        let port = free_port();
        let text = format!(
            r#"
[site]
id = "{id}"
name = "Estate {id}"

[http]
listen = "127.0.0.1:{port}"

[database]
url = "sqlite://{db}"

[central]
url = "{nats_url}"
history = "all"

[[devices]]
id = "pump_1"
name = "Pump 1"
profile = "abb_acs580"
modbus = {{ address = "{sim}", unit_id = 3, poll_interval = "100ms", timeout = "200ms", comm_loss_after = 2 }}

[[devices]]
id = "fire_panel"
name = "Fire panel"
profile = "fire_panel_gateway"
modbus = {{ address = "{sim}", unit_id = 4, poll_interval = "100ms", timeout = "200ms", comm_loss_after = 2 }}

{extra}
"#,
            db = db.display(),
            sim = sim.addr(),
        );
        let config = dir.join(format!("{id}.toml"));
        std::fs::write(&config, text).expect("write site config");
        let mut site = Site {
            id: id.into(),
            config,
            db,
            port,
            sim,
            proc: None,
        };
        site.start().await;
        site
    }

    pub async fn start(&mut self) {
        let config = self.config.to_str().expect("utf-8").to_owned();
        self.proc = Some(sitewatch(&["serve", "--config", &config]));
        let url = self.url("/healthz");
        eventually("the site answers", LONG, || async {
            http()
                .get(&url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        })
        .await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> u16 {
        let resp = http()
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: POST {path}: {e}", self.id));
        resp.status().as_u16()
    }

    /// A count from the site's own SQLite file (read beside the running daemon: WAL).
    pub async fn count(&self, sql: &str) -> i64 {
        let url = format!("sqlite://{}?mode=ro", self.db.display());
        bounded(&format!("{}: {sql}", self.id), async {
            let mut conn = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("open site db");
            let n: i64 = sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .unwrap_or(0);
            let _ = conn.close().await;
            n
        })
        .await
    }

    /// The outbox ids still on site.
    pub async fn kept_ids(&self) -> Vec<i64> {
        let url = format!("sqlite://{}?mode=ro", self.db.display());
        bounded(&format!("{}: the outbox ids", self.id), async {
            let mut conn = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("open site db");
            let ids = sqlx::query_scalar("select outbox_id from outbox")
                .fetch_all(&mut conn)
                .await
                .expect("outbox ids");
            let _ = conn.close().await;
            ids
        })
        .await
    }

    /// Panics when the site has purged a record the centre does not hold. The site is
    /// read first: a row gone from it then must be at the centre when read after.
    pub async fn purged_only_what_the_centre_holds(&self, centre: &Centre) {
        let last = self.last_id().await;
        let kept: std::collections::HashSet<i64> = self.kept_ids().await.into_iter().collect();
        let held: std::collections::HashSet<i64> = centre.record_ids(&self.id).await;
        let early: Vec<i64> = (1..=last)
            .filter(|id| !kept.contains(id) && !held.contains(id))
            .collect();
        assert!(
            early.is_empty(),
            "{}: {} rows purged before the centre held them, first {:?}",
            self.id,
            early.len(),
            &early[..early.len().min(10)]
        );
    }

    /// Rows waiting to be forwarded.
    pub async fn unsent(&self) -> i64 {
        self.count("select count(*) from outbox where channel = 'central' and sent_ms is null")
            .await
    }

    /// Forwarded rows still on site (not yet behind the centre's watermark).
    pub async fn kept_after_forwarding(&self) -> i64 {
        self.count("select count(*) from outbox where channel = 'central' and sent_ms is not null")
            .await
    }

    /// The site's last outbox id (every outbox row is a central record here).
    pub async fn last_id(&self) -> i64 {
        self.count("select coalesce(max(seq), 0) from sqlite_sequence where name = 'outbox'")
            .await
    }

    pub async fn activity(&self, n: usize, tag: &str) {
        for i in 0..n {
            let body = json!({
                "kind": {"type": "repair", "emergency": false},
                "channel": "hotline",
                "unit": "1-0301",
                "owner": "王芳",
                "summary": format!("{tag} leak {i}"),
                "received_by": "desk-chen"
            });
            assert_eq!(self.post("/api/v1/requests", body).await, 201);
            self.sim.set(3, "fault", (i % 2) as f64);
        }
    }
}

/// The central database: counts per site.
pub struct Centre {
    pub url: String,
}

impl Centre {
    pub async fn one(&self, sql: &str, site: &str) -> i64 {
        bounded(&format!("centre: {sql}"), async {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("central db");
            let n: i64 = sqlx::query_scalar(sql)
                .bind(site)
                .fetch_one(&mut conn)
                .await
                .unwrap_or(-1);
            let _ = conn.close().await;
            n
        })
        .await
    }

    /// Every record id held for `site`, records and history.
    pub async fn record_ids(&self, site: &str) -> std::collections::HashSet<i64> {
        bounded(&format!("centre: {site}'s ids"), async {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("central db");
            let ids: Vec<i64> = sqlx::query_scalar(
                "select record_id from central_records where site_id = $1 \
                 union all select record_id from central_history where site_id = $1",
            )
            .bind(site)
            .fetch_all(&mut conn)
            .await
            .expect("central ids");
            let _ = conn.close().await;
            ids.into_iter().collect()
        })
        .await
    }

    /// Rows held for `site`, records and history.
    pub async fn rows(&self, site: &str) -> i64 {
        self.one(
            "select (select count(*) from central_records where site_id = $1) \
             + (select count(*) from central_history where site_id = $1)",
            site,
        )
        .await
    }

    /// Distinct record ids held for `site`, and the highest.
    pub async fn ids(&self, site: &str) -> (i64, i64) {
        let distinct = self
            .one(
                "select count(distinct record_id) from (select record_id from central_records \
                 where site_id = $1 union all select record_id from central_history where site_id = $1) x",
                site,
            )
            .await;
        let max = self
            .one(
                "select coalesce(max(record_id), 0) from (select record_id from central_records \
                 where site_id = $1 union all select record_id from central_history where site_id = $1) x",
                site,
            )
            .await;
        (distinct, max)
    }
}

/// Writes `dir/central.toml` for a centre on `nats_url`, `db_url` and `port`, with
/// `extra` (more sections) after it, and returns its path.
pub fn central_toml(dir: &Path, nats_url: &str, db_url: &str, port: u16, extra: &str) -> PathBuf {
    let path = dir.join("central.toml");
    let text = format!(
        "[nats]\nurl = \"{nats_url}\"\n\n[database]\nurl = \"{db_url}\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n{extra}"
    );
    std::fs::write(&path, text).expect("write central config");
    path
}

pub fn central_process(config: &Path) -> Proc {
    sitewatch(&["central", "--config", config.to_str().expect("utf-8")])
}

/// Adds an operator at the centre with `sitewatch central user add`, password on stdin.
pub fn add_operator(central_toml: &Path, name: &str, role: &str, password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args([
            "central",
            "user",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
        ])
        .arg("--config")
        .arg(central_toml)
        .env_remove("SITEWATCH_CENTRAL_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("password");
    drop(stdin);
    let out = child.wait_with_output().expect("user add");
    assert!(
        out.status.success(),
        "central user add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A signed-in operator's session at the centre.
pub struct Session {
    /// `Cookie` header value.
    pub cookie: String,
    /// The session's CSRF token, for changes.
    pub csrf: String,
}

/// Signs in at the centre (`base` is `http://host:port`) and returns the session.
pub async fn sign_in(base: &str, name: &str, password: &str) -> Session {
    let resp = http()
        .post(format!("{base}/login"))
        .header("accept", "application/json")
        .form(&[("username", name), ("password", password)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status().as_u16(), 200, "signed in");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    let body: serde_json::Value = resp.json().await.expect("json");
    Session {
        cookie,
        csrf: body["csrf"].as_str().expect("csrf").to_owned(),
    }
}

impl Session {
    /// GET `url` as this operator: status and JSON body (`null` when not JSON).
    pub async fn get(&self, url: &str) -> (u16, serde_json::Value) {
        let resp = http()
            .get(url)
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }
}
