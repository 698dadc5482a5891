//! The metrics as Prometheus and Grafana see them: `promtool check metrics` finds nothing
//! to complain about, and every query of every panel in `dashboards/` returns series from
//! a real Prometheus (Debian's `prometheus`, installed by `scripts/test`) scraping the real
//! `sitewatch demo` on loopback. Dashboards cannot rot unnoticed.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Db, eventually, spawn_app};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn metrics_pass_promtool_check() {
    let mut app = spawn_app(Db::Sqlite).await;
    let text = eventually("a polled device on /metrics", WAIT, || async {
        let m = app.metrics().await;
        m.contains("sitewatch_modbus_request_duration_seconds_bucket")
            .then_some(m)
    })
    .await;
    promtool_check(&text);
    app.stop().await;
}

#[tokio::test]
async fn every_dashboard_query_returns_series_from_a_real_prometheus() {
    let demo = Demo::start().await;
    let prom = Prometheus::start(demo.addr);
    prom.wait_for_scrapes(2).await;
    promtool_check(&get_text(&format!("http://{}/metrics", demo.addr)).await);
    let defined = defined_metric_names();
    let (mut live, mut fallback, mut failures) = (0, 0, Vec::new());
    for q in dashboard_queries() {
        check_names(&q, &defined, &mut failures);
        match prom.instant(&q.expr).await {
            Ok(rows) if rows.is_empty() => {
                failures.push(format!("{}: `{}` returned no series", q.panel, q.expr));
            }
            Ok(rows) if rows.iter().all(|r| r["metric"] == serde_json::json!({})) => {
                fallback += 1;
            }
            Ok(_) => live += 1,
            Err(e) => failures.push(format!("{}: `{}` failed: {e}", q.panel, q.expr)),
        }
    }
    eprintln!(
        "dashboard queries: {live} with labelled series, {fallback} unlabelled (sums or `or \
         vector(0)`)"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        live + fallback >= 40,
        "too few queries: dashboards not found?"
    );
}

/// Every metric a query names must be defined under `src/`: a typo would otherwise hide
/// behind `or vector(0)`.
fn check_names(q: &PanelQuery, defined: &str, failures: &mut Vec<String>) {
    for name in metric_names(&q.expr) {
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name);
        if !defined.contains(&format!("\"{name}\"")) && !defined.contains(&format!("\"{base}\"")) {
            failures.push(format!("{}: no metric `{name}` in src/", q.panel));
        }
    }
}

fn metric_names(expr: &str) -> Vec<String> {
    expr.match_indices("sitewatch_")
        .map(|(i, _)| {
            expr[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Every Rust source under `src/`, where metrics are defined by their quoted names.
fn defined_metric_names() -> String {
    fn walk(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).expect("read src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).expect("read source"));
            }
        }
    }
    let mut out = String::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

struct PanelQuery {
    panel: String,
    expr: String,
}

/// Every target `expr` of every panel (rows included) of every `dashboards/*.json`, with
/// Grafana's interval variables replaced by what a 24-hour view would use.
fn dashboard_queries() -> Vec<PanelQuery> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dashboards/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "dashboards: {files:?}");
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read dashboard");
        let board: Value = serde_json::from_str(&text).expect("dashboard is JSON");
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        collect(&board, name.as_deref().unwrap_or("?"), &mut out);
    }
    out
}

fn collect(node: &Value, file: &str, out: &mut Vec<PanelQuery>) {
    for panel in node["panels"].as_array().into_iter().flatten() {
        let title = format!("{file} / {}", panel["title"].as_str().unwrap_or("?"));
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap_or("");
            assert!(!expr.is_empty(), "{title}: a target without expr");
            let expr = expr
                .replace("$__rate_interval", "1m")
                .replace("$__interval", "15s")
                .replace("$__range", "24h");
            assert!(!expr.contains('$'), "{title}: unknown variable in `{expr}`");
            out.push(PanelQuery {
                panel: title.clone(),
                expr,
            });
        }
        collect(panel, file, out);
    }
}

/// Pipes an exposition into `promtool check metrics` and fails on any complaint.
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (apt-get install prometheus; scripts/test does)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool finishes");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

async fn get_text(url: &str) -> String {
    let resp = reqwest::get(url).await.expect("request");
    resp.text().await.expect("text")
}

fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// A child process, killed and reaped on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sitewatch demo` on a free port with its own data directory.
struct Demo {
    addr: SocketAddr,
    _child: Running,
    _dir: tempfile::TempDir,
}

impl Demo {
    async fn start() -> Demo {
        let dir = tempfile::tempdir().expect("dir");
        let addr = free_addr();
        let child = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
            .args(["demo", "--listen", &addr.to_string(), "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sitewatch demo starts");
        let demo = Demo {
            addr,
            _child: Running(child),
            _dir: dir,
        };
        let url = format!("http://{addr}/readyz");
        eventually("demo ready", WAIT, || async {
            let ok = reqwest::get(&url).await.ok()?.status().is_success();
            ok.then_some(())
        })
        .await;
        demo
    }
}

/// A Prometheus of our own on a free loopback port, scraping one target every second.
struct Prometheus {
    base: String,
    client: reqwest::Client,
    _child: Running,
    dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().expect("dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: sitewatch\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write prometheus.yml");
        let addr = free_addr();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus runs (apt-get install prometheus; scripts/test does)");
        Prometheus {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            _child: Running(child),
            dir,
        }
    }

    /// Waits until the target is up and Prometheus holds at least `n` scrapes of it.
    async fn wait_for_scrapes(&self, n: u32) {
        let what = format!("{n} scrapes; log:\n{}", self.log());
        let expr = r#"count_over_time(up{job="sitewatch"}[1m]) and up{job="sitewatch"} == 1"#;
        eventually(&what, WAIT, || async {
            let v = self.instant(expr).await.ok()?;
            let count: f64 = v.first()?["value"][1].as_str()?.parse().ok()?;
            (count >= f64::from(n)).then_some(())
        })
        .await;
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The series an instant query returns, or Prometheus's error.
    async fn instant(&self, expr: &str) -> Result<Vec<Value>, String> {
        let resp = self
            .client
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", expr)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = resp.json().await.map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(format!("{}: {}", body["errorType"], body["error"]));
        }
        if body["data"]["resultType"] != "vector" {
            return Err(format!("not an instant vector: {}", body["data"]));
        }
        Ok(body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}
