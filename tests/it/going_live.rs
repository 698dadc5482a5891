//! Going live at a site: a config found from any folder opens one database, the shipped
//! profiles are built in and a site's own add to them, `init` writes a config `check`
//! accepts, and the systemd unit verifies.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::helpers::{eventually, free_port};

/// Runs the binary from `cwd`, with `stdin` as its input.
fn sitewatch_in(cwd: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .env_remove("SITEWATCH_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("binary ends")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Kills the `serve` child when the test ends, passing or not.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_user_added_from_another_folder_closes_the_daemon_started_from_a_third() {
    let root = tempfile::tempdir().expect("dir");
    let (site, elsewhere, third) = (
        root.path().join("site"),
        root.path().join("elsewhere"),
        root.path().join("third"),
    );
    for d in [&site, &elsewhere, &third] {
        std::fs::create_dir(d).expect("mkdir");
    }
    let port = free_port();
    let config = site.join("site.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\nid = \"s\"\nname = \"S\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n[database]\nurl = \"sqlite://data/sw.db\"\n"
        ),
    )
    .expect("write");
    let args = [
        "user",
        "add",
        "li",
        "--role",
        "admin",
        "--password-stdin",
        "--config",
        path(&config),
    ];
    ok(&sitewatch_in(&elsewhere, &args, "a-long-password\n"));
    assert!(
        site.join("data/sw.db").exists(),
        "the database is beside the config"
    );
    assert!(
        !elsewhere.join("data").exists(),
        "no second database where the command ran"
    );

    let child = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(["serve", "--config", path(&config)])
        .current_dir(&third)
        .env("RUST_LOG", "warn")
        .env_remove("SITEWATCH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let _daemon = Daemon(child);
    let url = format!("http://127.0.0.1:{port}/api/v1/devices");
    let status = eventually("serve answers", Duration::from_secs(20), || async {
        reqwest::get(&url).await.ok().map(|r| r.status().as_u16())
    })
    .await;
    assert_eq!(
        status, 401,
        "the daemon sees the user, so it asks for sign-in"
    );
    assert!(!third.join("data").exists());
}

#[test]
fn profiles_are_built_in_and_a_site_folder_adds_and_overrides() {
    let dir = tempfile::tempdir().expect("dir");
    let own = dir.path().join("devices");
    std::fs::create_dir(&own).expect("mkdir");
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/devices/eastron-sdm630.toml");
    let text = std::fs::read_to_string(shipped).expect("shipped profile");
    std::fs::write(
        own.join("sdm630.toml"),
        text.replace(
            "name = \"Eastron SDM630 three-phase energy meter\"",
            "name = \"SDM630, site wiring\"",
        ),
    )
    .expect("write");
    std::fs::write(
        own.join("boiler.toml"),
        "[profile]\nid = \"boiler\"\nname = \"Boiler\"\nmanual = \"Boiler manual p. 12\"\n\n[[points]]\nname = \"flow_temp\"\ntable = \"holding\"\naddress = 0\ntype = \"i16\"\nunit = \"C\"\n",
    )
    .expect("write");
    let config = dir.path().join("site.toml");
    let device = |id: &str, profile: &str, unit: u8| {
        format!(
            "[[devices]]\nid = \"{id}\"\nname = \"{id}\"\nprofile = \"{profile}\"\nmodbus = {{ address = \"127.0.0.1:502\", unit_id = {unit} }}\n\n"
        )
    };
    std::fs::write(
        &config,
        format!(
            "[site]\nid = \"s\"\nname = \"S\"\n\n[profiles]\ndir = \"devices\"\n\n{}{}{}",
            device("em", "eastron_sdm630", 1),
            device("wm", "tuf_2000m", 2),
            device("boiler", "boiler", 3)
        ),
    )
    .expect("write");

    let out = ok(&sitewatch_in(
        dir.path(),
        &["check", "--config", path(&config)],
        "",
    ));
    assert!(out.contains("profile tuf_2000m: built in"), "{out}");
    assert!(
        out.contains("sdm630.toml (overrides the built-in one)"),
        "{out}"
    );
    assert!(
        out.contains("profile boiler: ") && out.contains("boiler.toml"),
        "{out}"
    );

    let listed = ok(&sitewatch_in(dir.path(), &["profiles"], ""));
    for id in [
        "eastron_sdm630",
        "tuf_2000m",
        "abb_acs580",
        "zigbee_water_leak",
    ] {
        assert!(listed.contains(&format!("{id}  ")), "{listed}");
    }
    assert!(
        listed.contains("manual: Eastron SDM630 Modbus Protocol"),
        "{listed}"
    );
    assert!(!listed.contains("boiler"), "{listed}");
    let site = ok(&sitewatch_in(
        dir.path(),
        &["profiles", "--config", path(&config)],
        "",
    ));
    assert!(site.contains("boiler  Boiler"), "{site}");
    assert!(site.contains("manual: Boiler manual p. 12"), "{site}");
    assert!(site.contains("SDM630, site wiring"), "{site}");
}

#[test]
fn init_writes_a_config_that_check_accepts_and_never_overwrites_it() {
    let dir = tempfile::tempdir().expect("dir");
    let site = dir.path().join("new_site");
    ok(&sitewatch_in(dir.path(), &["init", path(&site)], ""));
    let config = site.join("site.toml");
    let out = ok(&sitewatch_in(
        dir.path(),
        &["check", "--config", path(&config)],
        "",
    ));
    assert!(out.contains("ok (4 devices"), "{out}");
    let text = std::fs::read_to_string(&config).expect("written");
    for part in [
        "timezone",
        "[[alarm_rules]]",
        "[[patrol.routes]]",
        "transport = \"rtu\"",
        "mqtt = {",
    ] {
        assert!(text.contains(part), "init's config shows {part}");
    }

    std::fs::write(&config, "# the site's own edits\n").expect("write");
    let again = sitewatch_in(dir.path(), &["init", path(&site)], "");
    assert!(!again.status.success());
    assert_eq!(
        std::fs::read_to_string(&config).expect("kept"),
        "# the site's own edits\n"
    );
}

#[test]
fn the_systemd_unit_verifies() {
    let Ok(analyze) = which_systemd_analyze() else {
        println!("SKIPPED: systemd-analyze is not installed on this machine");
        return;
    };
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dist/sitewatch.service"
    ))
    .expect("unit file");
    assert!(unit.contains("User=sitewatch") && unit.contains("StateDirectory=sitewatch"));
    assert!(unit.contains("--config /etc/sitewatch/site.toml"));
    // verify wants the binary the unit starts; the one just built stands in for the
    // installed one.
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("sitewatch.service");
    let unit = unit.replace("/usr/local/bin/sitewatch", env!("CARGO_BIN_EXE_sitewatch"));
    std::fs::write(&copy, unit).expect("write");
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze runs");
    let said = String::from_utf8_lossy(&out.stderr);
    // Unknown keys and bad values are only warnings: the unit must give none.
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

fn which_systemd_analyze() -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("systemd-analyze"))
        .find(|p| p.is_file())
        .ok_or(())
}
