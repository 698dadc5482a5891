//! Backup and restore of a SQLite site: `sitewatch backup` copies the database of a daemon
//! that is running and writing, `restore` puts the copy into a new site folder, and a
//! daemon started there finds every alarm, incident, scan and unit.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sitewatch::app::App;
use sitewatch::core::clock::SystemClock;
use tokio_util::sync::CancellationToken;

use crate::customers::import_csv;
use crate::helpers::{Db, eventually, spawn_app_with, test_config_for};
use crate::patrol::PATROL;

const WAIT: Duration = Duration::from_secs(10);

fn sitewatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("SITEWATCH_DATABASE_URL")
        .output()
        .expect("binary runs")
}

fn site_toml(dir: &Path, db_url: &str) -> String {
    let path = dir.join("site.toml");
    std::fs::write(
        &path,
        format!("[site]\nid = \"s\"\nname = \"S\"\n\n[database]\nurl = \"{db_url}\"\n"),
    )
    .expect("write");
    path.to_str().expect("utf-8 path").to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The length of a list. A daemon just started on a busy machine may answer 503 while
/// its first reads are slow (the sign-in check gives up after 2 s): ask again then, and
/// never count an error body as an empty list.
async fn count(base: &str, path: &str) -> usize {
    eventually(&format!("{path} answers a list"), WAIT, || async {
        let resp = reqwest::get(format!("{base}{path}")).await.ok()?;
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.ok()?;
        assert!(status == 200 || status == 503, "{path}: {status} {body}");
        body.as_array().map(Vec::len)
    })
    .await
}

#[tokio::test]
async fn a_running_site_backed_up_and_restored_elsewhere_keeps_its_records() {
    let app = spawn_app_with(Db::Sqlite, PATROL, Arc::new(SystemClock)).await;
    app.sim().set(4, "zone2_alarm", 1.0);
    eventually("the fire incident", WAIT, || async {
        let list = app.get_json("/api/v1/incidents").await;
        list.as_array()?
            .iter()
            .any(|i| i["category"] == "fire")
            .then_some(())
    })
    .await;
    let units = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/demo/units.csv"
    ))
    .expect("units");
    let (status, body) = import_csv(&app, &units).await;
    assert_eq!(status, 200, "{body}");
    let scan = json!({"id": "s1", "guard": "guard-zhang", "tag_uid": "04A23B11"});
    let (status, body) = app.post_json("/api/v1/patrol/scans", scan).await;
    assert!(status < 300, "{body}");
    let before = [
        count(&app.base, "/api/v1/alarms").await,
        count(&app.base, "/api/v1/incidents").await,
        count(&app.base, "/api/v1/patrol/scans").await,
        count(&app.base, "/api/v1/units").await,
    ];
    assert!(before.iter().all(|&n| n > 0), "{before:?}");

    // The daemon goes on polling and writing readings while the copy is taken.
    let old = tempfile::tempdir().expect("dir");
    let file = old.path().join("site.backup");
    let config = site_toml(old.path(), &app.db.url);
    let out = sitewatch(&["backup", "--config", &config, file.to_str().expect("path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = sitewatch(&["backup", "--config", &config, file.to_str().expect("path")]);
    assert!(
        stderr(&again).contains("never overwrites"),
        "{}",
        stderr(&again)
    );

    let new = tempfile::tempdir().expect("dir");
    let restored = site_toml(new.path(), "sqlite://data/restored.db");
    let out = sitewatch(&[
        "restore",
        "--config",
        &restored,
        file.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let twice = sitewatch(&[
        "restore",
        "--config",
        &restored,
        file.to_str().expect("path"),
    ]);
    assert!(!twice.status.success());
    assert!(stderr(&twice).contains("--overwrite"), "{}", stderr(&twice));

    let site = app.site.clone();
    let (_old_db, sim) = app.shut_down().await;
    let url = format!("sqlite://{}", new.path().join("data/restored.db").display());
    let config = test_config_for(&site, &sim.addr().to_string(), &url, PATROL);
    let restored_app = App::build(config, Arc::new(SystemClock))
        .await
        .expect("app builds");
    let base = format!("http://{}", restored_app.addr());
    let cancel = CancellationToken::new();
    let task = tokio::spawn(restored_app.run_until_stopped(cancel.clone()));
    let after = [
        count(&base, "/api/v1/alarms").await,
        count(&base, "/api/v1/incidents").await,
        count(&base, "/api/v1/patrol/scans").await,
        count(&base, "/api/v1/units").await,
    ];
    cancel.cancel();
    let _ = task.await;
    assert_eq!(after, before, "alarms, incidents, scans, units");
}
