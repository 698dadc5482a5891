//! The command line as a site engineer uses it: `check` reports every problem with file
//! and line and exits non-zero; `migrate` prepares a database.

use std::process::Command;

fn sitewatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("binary runs")
}

#[test]
fn check_accepts_the_example_config() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo/site.toml");
    let out = sitewatch(&["check", "--config", config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("8 devices"), "{stdout}");
}

#[test]
fn check_reports_config_and_profile_problems_with_file_and_line() {
    let dir = tempfile::tempdir().expect("dir");
    let profiles = dir.path().join("profiles");
    std::fs::create_dir(&profiles).expect("mkdir");
    std::fs::write(
        profiles.join("broken.toml"),
        "[profile]\nid = \"broken\"\nname = \"B\"\nmanual = \"m\"\n\n[[points]]\nname = \"x\"\ntable = \"coil\"\naddress = 1\ntype = \"f32\"\n",
    )
    .expect("write");
    let site = dir.path().join("site.toml");
    std::fs::write(
        &site,
        "[site]\nid = \"s\"\nname = \"S\"\n\n[profiles]\ndir = \"profiles\"\n\n[[devices]]\nid = \"d1\"\nname = \"D\"\nprofile = \"missing\"\nmodbus = { address = \"127.0.0.1:502\" }\n",
    )
    .expect("write");
    let out = sitewatch(&["check", "--config", site.to_str().expect("utf-8 path")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.toml:6:1: point `x`: a coil table holds bits"),
        "{err}"
    );
    assert!(
        err.contains("site.toml:8:1: device `d1`: unknown profile `missing`"),
        "{err}"
    );
}

#[test]
fn check_names_a_missing_config_file() {
    let out = sitewatch(&["check", "--config", "/nonexistent/site.toml"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/site.toml: cannot read"));
}

#[test]
fn migrate_creates_a_sqlite_database_from_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("sub/dir/site.db");
    let site = dir.path().join("site.toml");
    std::fs::write(
        &site,
        format!(
            "[site]\nid = \"s\"\nname = \"S\"\n\n[database]\nurl = \"sqlite://{}\"\n",
            db.display()
        ),
    )
    .expect("write");
    let out = sitewatch(&["migrate", "--config", site.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.exists());
}

/// A site config with one meter at `address`, polled fast, in `dir`.
fn meter_site(dir: &std::path::Path, address: &str) -> std::path::PathBuf {
    let site = dir.join("site.toml");
    let text = format!(
        "[site]\nid = \"t\"\nname = \"T\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[database]\nurl = \"sqlite://{}\"\n\n[[devices]]\nid = \"meter_1\"\nname = \"Meter\"\nprofile = \"eastron_sdm630\"\nmodbus = {{ address = \"{address}\", poll_interval = \"100ms\", timeout = \"200ms\", comm_loss_after = 2 }}\n",
        dir.join("sw.db").display()
    );
    std::fs::write(&site, text).expect("write");
    site
}

/// A loopback address nothing listens on.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

#[test]
fn device_read_fails_when_no_read_succeeds() {
    let dir = tempfile::tempdir().expect("dir");
    let site = meter_site(dir.path(), &closed_address());
    let out = sitewatch(&[
        "device",
        "read",
        "meter_1",
        "--config",
        site.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a device that never answered is not a success"
    );
    assert!(
        stderr.contains("every read of `meter_1` failed"),
        "{stderr}"
    );
    // The table still shows each point with its error, for the engineer at the panel.
    assert!(String::from_utf8_lossy(&out.stdout).contains("voltage_l1"));
}

/// Waits for a line of the daemon's log that contains every one of `words`.
async fn log_line(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    words: &[&str],
) -> String {
    let wait = async {
        while let Some(line) = lines.recv().await {
            if words.iter().all(|w| line.contains(w)) {
                return line;
            }
        }
        panic!("the log ended without a line with {words:?}");
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("no log line with {words:?} within 20 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_its_address_database_open_api_and_each_comm_loss_and_recovery() {
    use sitewatch::devices::simulator::Simulator;
    let dir = tempfile::tempdir().expect("dir");
    let placeholder = meter_site(dir.path(), "127.0.0.1:1");
    let config = sitewatch::config::Config::load(&placeholder).expect("valid");
    let sims = sitewatch::devices::sim_devices(&config.devices);
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), &sims)
        .await
        .expect("simulator");
    let addr = sim.addr();
    let site = meter_site(dir.path(), &addr.to_string());
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(["serve", "--config", site.to_str().expect("utf-8")])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    log_line(&mut lines, &["sitewatch serving", "http://127.0.0.1:"]).await;
    let db = log_line(&mut lines, &["database"]).await;
    assert!(db.contains("sqlite://") && db.contains("sw.db"), "{db}");
    log_line(
        &mut lines,
        &[
            "WARN",
            "no user exists",
            "open, without sign-in",
            "only on loopback",
        ],
    )
    .await;
    drop(sim);
    let lost = log_line(&mut lines, &["device communication lost", "meter_1"]).await;
    assert!(lost.contains("reason="), "{lost}");
    let sim = Simulator::start(addr, &sims)
        .await
        .expect("simulator again");
    log_line(&mut lines, &["device communication recovered", "meter_1"]).await;
    drop(sim);
    child.kill().expect("stop the daemon");
    child.wait().expect("daemon stopped");
}
