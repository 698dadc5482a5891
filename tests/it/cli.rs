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
    assert!(stdout.contains("7 devices"), "{stdout}");
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
