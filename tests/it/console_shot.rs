//! The front page's screenshot: the console at 1440 px in zh-CN with standing alarms (a
//! fire zone and a pump fault), taken from a real daemon in headless Chromium. Always
//! written to `target/screenshots/console.png`; with `SITEWATCH_UPDATE_DOCS=1` also to
//! `docs/console.png`, the picture README.md shows.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use sitewatch::core::clock::ManualClock;

use crate::browser::{WAIT, browser, shoot, text_of};
use crate::helpers::{Db, eventually, spawn_app_with};

#[tokio::test]
async fn the_console_with_standing_alarms_for_the_front_page() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 24, 18, 14, 0)
            .single()
            .expect("time"),
    ));
    let app = spawn_app_with(Db::Sqlite, "", clock).await;
    app.sim().set(4, "zone2_alarm", 1.0);
    app.sim().set(3, "fault", 1.0);
    let b = browser().await;
    b.client
        .set_window_size(1440, 900)
        .await
        .expect("window size");
    b.client
        .goto(&format!("{}/#alarms", app.base))
        .await
        .expect("page loads");
    for row in [
        r#"tr[data-alarm="fire_panel.zone2_alarm:discrete"]"#,
        r#"tr[data-alarm="pump_1.fault:discrete"]"#,
    ] {
        eventually(&format!("{row} shown"), WAIT, || async {
            text_of(&b.client, row).await
        })
        .await;
    }
    let title = eventually("the standing alarms counted in the title", WAIT, || async {
        b.client.title().await.ok().filter(|t| t.starts_with('('))
    })
    .await;
    assert!(title.contains("Test Estate"), "{title}");
    shoot(&b.client, "console").await;
    if std::env::var_os("SITEWATCH_UPDATE_DOCS").is_some() {
        let png = b.client.screenshot().await.expect("screenshot");
        let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/console.png");
        std::fs::write(docs, png).expect("write docs/console.png");
    }
    b.client.clone().close().await.ok();
}
