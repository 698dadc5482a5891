//! The duty desk in a real headless Chromium: an incident opened from the board shows its
//! page (timeline, notices, photo) and follows a dispatch made elsewhere; the plant tab
//! draws each point's last hour as a sparkline, extends it live and greys it when the
//! device is lost. Screenshots of both are kept as test artifacts.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use fantoccini::{Client, Locator};
use serde_json::json;
use sitewatch::core::clock::{ManualClock, SystemClock};

use crate::browser::{WAIT, browser, shoot, text_of};
use crate::helpers::{Db, TestApp, eventually, spawn_app_with};
use crate::incident_page::{command, water_ingress};

/// A 2×2 PNG: a real image the page must be able to show as a thumbnail.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a,
    0x73, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xb0, 0xce, 0xbf, 0x01,
    0x44, 0x0c, 0x10, 0x0a, 0x00, 0x27, 0xd2, 0x06, 0x09, 0x42, 0x24, 0x76, 0x03, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.map_or(0, |v| v.len())
}

/// Uploads the photo and attaches it to the incident as the scene photo.
async fn attach_photo(app: &TestApp, id: i64) -> String {
    let resp = app
        .client
        .post(format!("{}/api/v1/files?by=duty-li", app.base))
        .header("content-type", "image/png")
        .body(PNG.to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), 201);
    let file: serde_json::Value = resp.json().await.expect("json");
    let file_id = file["id"].as_str().expect("file id").to_owned();
    let action = json!({"type": "attach", "id": file_id, "kind": "scene_photo",
        "content_type": "image/png", "size_bytes": PNG.len(), "caption": "Ceiling, 3F"});
    command(app, id, action, "").await;
    file_id
}

#[tokio::test]
async fn an_incident_opened_from_the_board_shows_its_timeline_notices_and_photo() {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 2, 0, 0)
        .single()
        .expect("time");
    let app = spawn_app_with(Db::Sqlite, "", Arc::new(ManualClock::new(now))).await;
    let id = water_ingress(&app).await;
    let file_id = attach_photo(&app, id).await;
    let b = browser().await;
    let c = &b.client;
    c.goto(&format!("{}/#incidents", app.base))
        .await
        .expect("page loads");
    let link = format!(r#"div[data-incident="{id}"] a.open"#);
    let open = eventually("the incident on the board", WAIT, || async {
        c.find(Locator::Css(&link)).await.ok()
    })
    .await;
    open.click().await.expect("open the incident");
    let page = format!("/incidents/{id}");
    eventually("the incident's own URL", WAIT, || async {
        c.current_url().await.ok().filter(|u| u.path() == page)
    })
    .await;
    // The page redraws every second: read until the household step is drawn.
    let rows = "#timeline tbody tr[data-event]";
    eventually("the timeline up to the photo", WAIT, || async {
        let all = text_of(c, "#timeline").await?;
        let last = text_of(c, &format!("{rows}:last-child")).await?;
        // The photo by its caption, in words; its id is a hash.
        (all.contains("关联住户 · 1-0301") && last.contains("附件") && last.contains("Ceiling, 3F"))
            .then_some(())
    })
    .await;
    let before = count(c, rows).await;
    eventually("a running SLA clock", WAIT, || async {
        text_of(c, r#"table.clocks td.clock span[class^="s-"]"#)
            .await
            .filter(|t| t.starts_with("剩余") && !t.contains(':'))
    })
    .await;
    eventually("the photo shown as a thumbnail", WAIT, || async {
        let js = "const i = document.querySelector('.thumbs img'); return i && i.complete ? [i.naturalWidth, i.src] : null;";
        let v = c.execute(js, vec![]).await.ok()?;
        let ok = v[0].as_u64() == Some(2) && v[1].as_str()?.ends_with(&file_id);
        ok.then_some(())
    })
    .await;

    // Dispatched from another desk, through the API: the open page follows.
    command(
        &app,
        id,
        json!({"type": "dispatch"}),
        "plumber Zhao on the way",
    )
    .await;
    let grown = eventually("the dispatch on the timeline", WAIT, || async {
        let text = text_of(c, "#timeline").await?;
        let n = count(c, rows).await;
        (n > before && text.contains("已报告 → 已派工") && text.contains("plumber Zhao"))
            .then_some(n)
    })
    .await;
    assert!(grown > before);
    eventually("the header shows the new state", WAIT, || async {
        text_of(c, "div[data-incident-page] .badge.state")
            .await
            .filter(|t| t == "已派工")
    })
    .await;

    // A notice to this incident's households is listed; one to a building is not.
    for (title, target) in [
        (
            "Riser 1 water off",
            json!({"type": "incident", "incident": id}),
        ),
        (
            "Lift B servicing",
            json!({"type": "building", "building": "1"}),
        ),
    ] {
        let (status, n) = app
            .post_json(
                "/api/v1/notices",
                json!({"level": "urgent", "title": title, "body": "Details at the desk.",
                    "expires_at": now + Duration::days(1), "target": target, "created_by": "desk-chen"}),
            )
            .await;
        assert_eq!(status, 201, "{n}");
    }
    let notices = eventually("the incident's notice", WAIT, || async {
        text_of(c, "#incident-notices tbody")
            .await
            .filter(|t| t.contains("Riser 1 water off"))
    })
    .await;
    assert!(!notices.contains("Lift B"), "{notices}");
    assert!(
        notices.contains("0/1"),
        "one household to deliver to: {notices}"
    );
    shoot(c, "incident_page").await;

    // The page offers the steps its state allows; the engineer on site takes one.
    c.execute("localStorage.setItem('actor', 'duty-wang');", vec![])
        .await
        .expect("script runs");
    let step = r#"div[data-incident-page] button[data-action="arrive_on_site"]"#;
    assert_eq!(
        count(
            c,
            r#"div[data-incident-page] button[data-action="dispatch"]"#
        )
        .await,
        0
    );
    c.find(Locator::Css(step))
        .await
        .expect("on-site button")
        .click()
        .await
        .expect("click");
    eventually("on site shown", WAIT, || async {
        text_of(c, "div[data-incident-page] .badge.state")
            .await
            .filter(|t| t == "已到场")
    })
    .await;
    let inc = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(inc["state"], "on_site");
    let last = inc["timeline"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .rev()
                .find(|e| e["kind"]["type"] == "state_changed")
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["actor"], "duty-wang", "{last}");

    // The board's tab buttons lead back to the dashboard.
    c.find(Locator::Css(r#"nav button[data-tab="incidents"]"#))
        .await
        .expect("incidents tab")
        .click()
        .await
        .expect("click");
    eventually("back on the board", WAIT, || async {
        c.find(Locator::Css(&link)).await.ok()
    })
    .await;
    b.client.clone().close().await.ok();
}

/// The `points` attribute of a point's sparkline, as (x, y) pairs.
async fn sparkline(c: &Client, point: &str) -> Option<Vec<(f64, f64)>> {
    let css = format!(r#"tr[data-point="{point}"] svg.spark polyline"#);
    let attr = c
        .find(Locator::Css(&css))
        .await
        .ok()?
        .attr("points")
        .await
        .ok()??;
    attr.split_whitespace()
        .map(|pair| {
            let (x, y) = pair.split_once(',')?;
            Some((x.parse().ok()?, y.parse().ok()?))
        })
        .collect()
}

/// Sets the meter's voltage and waits until history has kept it.
async fn set_voltage(app: &TestApp, volts: f64) {
    app.sim().set(1, "voltage_l1", volts);
    eventually(&format!("{volts} V in history"), WAIT, || async {
        let rows = app
            .get_json("/api/v1/points/em_b1.voltage_l1/readings")
            .await;
        rows.as_array()?
            .iter()
            .any(|r| r["value"] == volts)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_plant_tab_draws_a_live_sparkline_of_the_last_hour() {
    let app = spawn_app_with(Db::Sqlite, "", Arc::new(SystemClock)).await;
    for volts in [228.0, 233.0, 226.0, 231.0] {
        set_voltage(&app, volts).await;
    }
    let b = browser().await;
    let c = &b.client;
    c.goto(&format!("{}/#plant", app.base))
        .await
        .expect("page loads");
    let point = "em_b1.voltage_l1";
    let first = eventually("a sparkline from history", WAIT, || async {
        sparkline(c, point).await.filter(|p| p.len() >= 4)
    })
    .await;
    // Oldest on the left, newest on the right, inside the drawing.
    assert!(first.windows(2).all(|w| w[0].0 <= w[1].0), "{first:?}");
    assert!(
        first
            .iter()
            .all(|(x, y)| (0.0..=120.0).contains(x) && (0.0..=24.0).contains(y))
    );
    shoot(c, "plant_sparklines").await;
    // Two more kept values arrive over SSE: the line grows by both without a reload (the
    // current value's tip alone could add only one).
    set_voltage(&app, 240.0).await;
    set_voltage(&app, 236.0).await;
    eventually("the sparkline extended live", WAIT, || async {
        sparkline(c, point)
            .await
            .filter(|p| p.len() >= first.len() + 2)
    })
    .await;
    // A lost device's history is still drawn, greyed.
    app.sim().stop();
    let css = format!(r#"tr[data-point="{point}"] svg.spark"#);
    eventually("the sparkline greyed", WAIT, || async {
        let el = c.find(Locator::Css(&css)).await.ok()?;
        let opacity = el.css_value("opacity").await.ok()?;
        (opacity == "0.5").then_some(())
    })
    .await;
    b.client.clone().close().await.ok();
}
