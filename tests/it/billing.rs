//! Meter readings for billing (抄表): at 00:00 on the cut-off day (the 20th, rules.md
//! §13.10) every meter's reading is kept once, and exported as CSV by the API and the CLI.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use sitewatch::core::clock::ManualClock;

use crate::helpers::{Db, eventually, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn meters_are_read_at_the_cut_off_and_exported_as_csv() {
    // 23:59:30 on the 20th in Shanghai: the 20th is still in (截止当月20日, seed 004:85).
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 20, 15, 59, 30)
            .single()
            .expect("time"),
    ));
    let mut app = spawn_app_with(Db::Sqlite, "[billing]\ncutoff_day = 20\n", clock.clone()).await;
    app.sim().set(1, "import_energy", 12345.5);
    eventually("meter read", WAIT, || async {
        (app.point("em_b1.import_energy").await["value"] == 12345.5).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.get_json("/api/v1/meter-snapshots/periods").await,
        serde_json::json!([]),
        "not before the cut-off"
    );
    clock.advance(chrono::Duration::seconds(31));
    let rows = eventually("snapshot taken", WAIT, || async {
        let v = app.get_json("/api/v1/meter-snapshots?period=2026-11").await;
        v.as_array().filter(|a| !a.is_empty()).cloned()
    })
    .await;
    // Only energy and water counters are meters; the voltage is not.
    let points: Vec<&str> = rows.iter().filter_map(|r| r["point"].as_str()).collect();
    assert_eq!(points, vec!["em_b1.import_energy"]);
    assert_eq!(
        (rows[0]["value"].as_f64(), rows[0]["quality"].as_str()),
        (Some(12345.5), Some("good"))
    );
    // The meter moves on; the snapshot does not.
    app.sim().set(1, "import_energy", 12400.0);
    clock.advance(chrono::Duration::hours(1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/meter-snapshots?period=2026-11&format=csv",
            app.base
        ))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].ends_with(",taken_at,flag"), "{csv}");
    // §13.10: the cut-off at the end of the 20th and the export due 21st–23rd, site time.
    let cut = app
        .get_json("/api/v1/meter-snapshots/cutoff?period=2026-11")
        .await;
    assert_eq!(cut["cutoff_at"], "2026-11-20T16:00:00Z", "{cut}");
    assert_eq!(cut["export_from"], "2026-11-20T16:00:00Z", "{cut}");
    assert_eq!(cut["export_by"], "2026-11-23T16:00:00Z", "{cut}");
    assert_eq!(cut["taken"], true, "{cut}");
    assert_eq!(cut["unread"], serde_json::json!([]), "{cut}");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("sitewatch_meters_unread_at_cutoff 0"),
        "{metrics}"
    );
    assert!(lines[0].starts_with("period,unit,device,point,value"));
    assert!(
        lines[1].starts_with("2026-11,,em_b1,em_b1.import_energy,12345.5,kWh,good,"),
        "{csv}"
    );
    let bad = app
        .client
        .get(format!(
            "{}/api/v1/meter-snapshots?period=11-2026",
            app.base
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), 422);
    app.stop().await;
    // The same rows from the command line, for Finance's spreadsheet.
    let dir = tempfile::tempdir().expect("dir");
    let site = dir.path().join("site.toml");
    std::fs::write(
        &site,
        format!(
            "[site]\nid = \"s\"\nname = \"S\"\n\n[database]\nurl = \"{}\"\n",
            app.db.url
        ),
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args([
            "export",
            "meter-snapshots",
            "--period",
            "2026-11",
            "--config",
            site.to_str().expect("path"),
        ])
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), csv);
}

#[tokio::test]
async fn a_snapshot_taken_late_waits_for_the_meters_first_reading() {
    // The daemon starts on the 25th: November's cut-off has passed with no snapshot.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0)
            .single()
            .expect("time"),
    ));
    let app = spawn_app_with(Db::Sqlite, "", clock).await;
    app.sim().set(1, "import_energy", 777.0);
    let rows = eventually("late snapshot taken", WAIT, || async {
        let v = app.get_json("/api/v1/meter-snapshots?period=2026-11").await;
        v.as_array().filter(|a| !a.is_empty()).cloned()
    })
    .await;
    assert_eq!(
        (rows[0]["value"].as_f64(), rows[0]["quality"].as_str()),
        (Some(777.0), Some("good")),
        "{rows:?}"
    );
}
