//! `scripts/fleet-demo` (issue 23): its configs pass `sitewatch check`, and run as a user
//! would (with the test's ports, directory and database instead of the defaults) it
//! brings up a central NATS, `sitewatch central` and three demo sites whose records
//! reach the centre; Ctrl-C stops every process it started.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::helpers::{eventually, free_port};

/// Three demo sites and a centre start slowly on a shared machine in a debug build.
const START: Duration = Duration::from_secs(240);
/// The sites as the centre lists them (by id).
const SITES: [&str; 3] = ["east", "north", "south"];
/// The sites in the script's order: their ports are `FLEET_SITE_PORT` and the next two.
pub const ORDER: [&str; 3] = ["north", "south", "east"];

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fleet-demo")
}

/// `scripts/fleet-demo` running in a process group of its own, stopped (SIGTERM to the
/// group) when dropped.
pub struct FleetDemo {
    child: Child,
    pub dir: tempfile::TempDir,
    pub nats_port: u16,
    pub central: String,
    pub site_ports: Vec<u16>,
}

/// A port `p` with `p + 1` and `p + 2` free too (the script numbers the sites from it).
fn three_free_ports() -> u16 {
    loop {
        let p = free_port();
        if p < 65_000 && (1..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + i)).is_ok()) {
            return p;
        }
    }
}

static RUNS: AtomicU32 = AtomicU32::new(0);

impl FleetDemo {
    /// Starts the script and waits until the centre lists all three sites.
    pub async fn start() -> FleetDemo {
        let dir = tempfile::tempdir().expect("dir");
        let (nats_port, central_port, first) = (free_port(), free_port(), three_free_ports());
        let admin = std::env::var("SITEWATCH_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let server = admin.rsplit_once('/').map_or(admin.as_str(), |x| x.0);
        let database = format!(
            "sitewatch_fleetdemo_{}_{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let log = std::fs::File::create(dir.path().join("script.log")).expect("log");
        let child = Command::new(script())
            .env("SITEWATCH_BIN", env!("CARGO_BIN_EXE_sitewatch"))
            .env("FLEET_DIR", dir.path())
            .env("FLEET_NATS_PORT", nats_port.to_string())
            .env("FLEET_CENTRAL_LISTEN", format!("127.0.0.1:{central_port}"))
            .env("FLEET_SITE_PORT", first.to_string())
            .env("FLEET_PG", server)
            .env("FLEET_DATABASE", &database)
            .env("RUST_LOG", "info")
            .env_remove("SITEWATCH_DATABASE_URL")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("scripts/fleet-demo runs");
        let demo = FleetDemo {
            child,
            dir,
            nats_port,
            central: format!("127.0.0.1:{central_port}"),
            site_ports: (0..3).map(|i| first + i).collect(),
        };
        // The script adds the centre's operators once the centre listens and says so
        // when all is up; signing in before would count as failed attempts.
        eventually("the script to say everything is up", START, || async {
            demo.log().contains("stop with Ctrl-C").then_some(())
        })
        .await;
        let what = "the centre to list the three demo sites";
        eventually(what, START, || async {
            (demo.sites().await == SITES).then_some(())
        })
        .await;
        demo
    }

    /// The site ids `GET /api/v1/fleet` lists to the script's viewer (signed in as the
    /// script prints).
    pub async fn sites(&self) -> Vec<String> {
        let client = reqwest::Client::new();
        let login = client
            .post(format!("http://{}/login", self.central))
            .header("accept", "application/json")
            .form(&[("username", "viewer"), ("password", "viewer-demo")])
            .send()
            .await;
        let cookie = login.ok().and_then(|r| {
            let c = r.headers().get("set-cookie")?.to_str().ok()?;
            Some(c.split(';').next()?.to_owned())
        });
        let Some(cookie) = cookie else {
            return Vec::new();
        };
        let url = format!("http://{}/api/v1/fleet", self.central);
        let Ok(resp) = client.get(&url).header("cookie", cookie).send().await else {
            return Vec::new();
        };
        let rows: serde_json::Value = resp.json().await.unwrap_or_default();
        let mut ids: Vec<String> = rows
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["site"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    }

    /// What the script printed, for a failure's story.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("script.log")).unwrap_or_default()
    }

    /// Ctrl-C to the script alone (its trap stops the rest); its exit status.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: kill only sends a signal to the process the test started.
        unsafe { libc::kill(pid, libc::SIGINT) };
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the script did not stop within 30 s of Ctrl-C:\n{}",
            self.log()
        );
    }
}

impl Drop for FleetDemo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let group = i32::try_from(self.child.id()).expect("pid");
            // SAFETY: the group is the script's own (process_group(0) at spawn).
            unsafe { libc::kill(-group, libc::SIGTERM) };
            let _ = self.child.wait();
        }
    }
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn the_fleet_demo_configs_pass_check() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(script())
        .arg("--configs")
        .arg(dir.path())
        .output()
        .expect("script runs");
    assert!(out.status.success(), "{out:?}");
    for site in SITES {
        let config = dir.path().join(format!("{site}.toml"));
        let out = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
            .arg("check")
            .arg("--config")
            .arg(&config)
            .output()
            .expect("check runs");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains(": ok ("),
            "{site}: {out:?}"
        );
        let parsed = sitewatch::config::Config::load(&config).expect("loads");
        assert_eq!(parsed.site.id, site);
        assert!(parsed.central.is_some(), "{site} forwards to the centre");
    }
    sitewatch::central::CentralConfig::load(&dir.path().join("central.toml"))
        .expect("the centre's config loads");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fleet_demo_brings_three_sites_to_the_centre_and_ctrl_c_stops_everything() {
    let mut fleet = FleetDemo::start().await;
    let log = fleet.log();
    for (site, port) in ORDER.iter().zip(&fleet.site_ports) {
        assert!(
            log.contains(&format!(":{port}/")),
            "{site} URL printed:\n{log}"
        );
    }
    assert!(log.contains(&fleet.central), "centre URL printed:\n{log}");
    let mut ports = fleet.site_ports.clone();
    ports.push(fleet.nats_port);
    ports.push(
        fleet
            .central
            .rsplit_once(':')
            .expect("port")
            .1
            .parse()
            .expect("port"),
    );
    assert!(ports.iter().all(|p| listening(*p)), "all up:\n{log}");
    let status = fleet.interrupt();
    assert!(status.success(), "{status:?}:\n{}", fleet.log());
    let still: Vec<u16> = ports.into_iter().filter(|p| listening(*p)).collect();
    assert!(still.is_empty(), "still listening after Ctrl-C: {still:?}");
}
