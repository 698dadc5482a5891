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

/// Every target `expr` of every panel (rows included) of every site board in
/// `dashboards/` (all but `fleet.json`, which reads the central Prometheus: see
/// [`the_fleet_board_reads_every_site_through_remote_write_as_docs_fleet_metrics_sets_it_up`]),
/// with Grafana's interval variables replaced by what a 24-hour view would use.
fn dashboard_queries() -> Vec<PanelQuery> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dashboards/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| !p.ends_with(FLEET_BOARD))
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
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: sitewatch\n    static_configs:\n      - targets: ['{target}']\n"
        );
        Prometheus::with(&config, &[], free_addr())
    }

    /// A Prometheus on `addr` with this config and these flags (its storage in a
    /// directory of its own).
    fn with(config_text: &str, flags: &[&str], addr: SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().expect("dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_text).expect("write prometheus.yml");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let storage = if flags.contains(&"--enable-feature=agent") {
            "--storage.agent.path"
        } else {
            "--storage.tsdb.path"
        };
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("{storage}={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
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

/// The board that reads the central Prometheus.
const FLEET_BOARD: &str = "fleet.json";

/// The ```yaml configs of docs/fleet-metrics.md: the site's agent's, then the centre's.
fn fleet_metrics_configs() -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet-metrics.md");
    let text = std::fs::read_to_string(path).expect("docs/fleet-metrics.md");
    let blocks: Vec<String> = text
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(blocks.len(), 2, "the site's and the centre's config");
    (blocks[0].clone(), blocks[1].clone())
}

/// `promtool check config` on `text`; fails on any complaint.
fn promtool_check_config(text: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, text).expect("write config");
    let out = Command::new("promtool")
        .args(["check", "config"])
        .arg(&file)
        .output()
        .expect("promtool runs (apt-get install prometheus; scripts/test does)");
    assert!(out.status.success(), "{text}\n{out:?}");
}

/// docs/fleet-metrics.md's set-up for real: `scripts/fleet-demo`'s three sites and centre,
/// each site scraped by a Prometheus in agent mode with the docs' site config, all
/// remote-writing to a Prometheus with the docs' central config (the test's addresses, a
/// 1 s scrape). Every query of the fleet board returns series there, the per-site ones
/// for all three sites.
#[tokio::test(flavor = "multi_thread")]
async fn the_fleet_board_reads_every_site_through_remote_write_as_docs_fleet_metrics_sets_it_up() {
    let (site_yml, central_yml) = fleet_metrics_configs();
    promtool_check_config(&site_yml);
    promtool_check_config(&central_yml);
    let fleet = crate::fleet_demo::FleetDemo::start().await;
    let fast = |t: &str| t.replace("15s", "1s").replace("10s", "1s");
    let central_addr = free_addr();
    let central = Prometheus::with(
        &fast(&central_yml).replace("127.0.0.1:8090", &fleet.central),
        &["--web.enable-remote-write-receiver"],
        central_addr,
    );
    let agents: Vec<Prometheus> = crate::fleet_demo::ORDER
        .iter()
        .zip(&fleet.site_ports)
        .map(|(site, port)| {
            let config = fast(&site_yml)
                .replace("site: north", &format!("site: {site}"))
                .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
                .replace(
                    "http://central.example.net:9090",
                    &format!("http://{central_addr}"),
                );
            let flags = [
                "--enable-feature=agent",
                "--storage.agent.retention.max-time=8d",
                "--storage.agent.wal-compression",
            ];
            Prometheus::with(&config, &flags, free_addr())
        })
        .collect();
    let logs = || {
        agents
            .iter()
            .map(Prometheus::log)
            .collect::<Vec<_>>()
            .join("\n")
    };
    // A few samples of every site and of the centre: rates need two in their window.
    let ready = r#"count(count_over_time(sitewatch_central_connected[1m]) >= 3)
                   and on() count_over_time(sitewatch_central_applied_total[1m]) >= 3"#;
    eventually(
        &format!("three sites remote-written; agents:\n{}", logs()),
        START_FLEET,
        || async {
            let v = central.instant(ready).await.ok()?;
            let n: f64 = v.first()?["value"][1].as_str()?.parse().ok()?;
            (n >= 3.0).then_some(())
        },
    )
    .await;
    let defined = defined_metric_names();
    let mut queries = Vec::new();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dashboards")
        .join(FLEET_BOARD);
    let board: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fleet.json")).expect("JSON");
    collect(&board, FLEET_BOARD, &mut queries);
    assert!(
        queries.len() >= 12,
        "fleet board queries: {}",
        queries.len()
    );
    let (mut failures, mut per_site) = (Vec::new(), 0);
    for q in &queries {
        check_names(q, &defined, &mut failures);
        match central.instant(&q.expr).await {
            Ok(rows) if rows.is_empty() => {
                failures.push(format!("{}: `{}` returned no series", q.panel, q.expr));
            }
            Ok(rows) => {
                // A per-site query has every site, not some.
                let mut sites: Vec<&str> = rows
                    .iter()
                    .filter_map(|r| r["metric"]["site"].as_str())
                    .collect();
                sites.sort_unstable();
                sites.dedup();
                if !sites.is_empty() && sites != ["east", "north", "south"] {
                    failures.push(format!("{}: sites {sites:?}", q.panel));
                }
                per_site += usize::from(!sites.is_empty());
            }
            Err(e) => failures.push(format!("{}: `{}` failed: {e}", q.panel, q.expr)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(per_site >= 7, "only {per_site} queries answered per site");
}

/// Three demo sites, a centre and four Prometheus servers on a shared machine.
const START_FLEET: Duration = Duration::from_secs(120);
