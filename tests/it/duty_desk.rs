//! The duty desk (值班台) in headless Chromium, in zh-CN and English, at 1920 px (the
//! control room) and 390 px (a phone): the console with an acknowledged fire alarm and
//! its history, the incident board, an incident's page (a water ingress dispatched, a
//! household linked, its clocks), the plant and the hand-overs. Every view fits its
//! window; the zh views show no English-catalogue phrase and no raw code (`water_ingress`,
//! `manual`, `current_l1`, `unack_active`); the status line counts a new fire alarm and
//! the alarms tab carries a badge. Screenshots in `target/screenshots/`.

use std::time::Duration;

use fantoccini::Client;
use serde_json::json;

use crate::browser::{WAIT, browser, shoot, text_of};
use crate::customers::{import_csv, three_units};
use crate::helpers::{TestApp, eventually};
use crate::incident_page::command;
use crate::service_desk::{Lang, app, assert_all_chinese, assert_fits, open};

const FIRE: &str = "fire_panel.zone3_alarm:discrete";

/// A site with a standing fire alarm (acknowledged), a dispatched water ingress with a
/// household, and a hand-over started.
async fn a_working_site() -> (TestApp, i64) {
    let app = app().await;
    let (status, body) = import_csv(&app, three_units()).await;
    assert_eq!(status, 200, "{body}");
    // Typed by people in Chinese, as the zh page's check reads every word on it.
    let (status, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"category": "water_ingress", "title": "1-0301 天花渗水",
                "location": "1 栋 3 层", "reported_by": "desk-chen", "source": "manual"}),
        )
        .await;
    assert_eq!(status, 201, "{inc}");
    let incident = inc["id"].as_i64().expect("incident id");
    let link = json!({"type": "link_household", "unit": "1-0301", "owner": "王芳"});
    command(&app, incident, link, "").await;
    command(&app, incident, json!({"type": "dispatch"}), "赵师傅已出发").await;
    app.sim().set(4, "zone3_alarm", 1.0);
    eventually("the fire alarm raised", WAIT, || async {
        let a = app.get_json(&format!("/api/v1/alarms/{FIRE}")).await;
        (a["state"] == "unack_active").then_some(())
    })
    .await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/alarms/{FIRE}/acknowledge"),
            json!({"actor": "duty-li"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, h) = app
        .post_json(
            "/api/v1/handovers",
            json!({"outgoing": "night-wang", "note": "B2 水泵房需再巡一次"}),
        )
        .await;
    assert_eq!(status, 201, "{h}");
    (app, incident)
}

/// Waits until `css` shows text holding `wanted`.
async fn drawn(c: &Client, css: &str, wanted: &str) {
    eventually(&format!("{css} shows {wanted}"), WAIT, || async {
        text_of(c, css).await.filter(|t| t.contains(wanted))
    })
    .await;
}

async fn every_tab(c: &Client, app: &TestApp, incident: i64, lang: Lang, width: u32) {
    let pick = |zh: &'static str, en: &'static str| lang.pick(zh, en);
    let views = [
        (
            "/#alarms".to_owned(),
            "#alarms",
            pick("火警", "fire alarm"),
            "alarms",
        ),
        (
            "/#incidents".to_owned(),
            "#incidents",
            pick("水浸", "Water ingress"),
            "incidents",
        ),
        (
            format!("/incidents/{incident}"),
            "#timeline",
            pick("关联住户 · 1-0301", "household linked · 1-0301"),
            "incident",
        ),
        (
            "/#plant".to_owned(),
            "#plant",
            pick("A 相电流", "Phase 1 current"),
            "plant",
        ),
        (
            "/#handover".to_owned(),
            "#handover",
            "night-wang",
            "handover",
        ),
        ("/#patrol".to_owned(), "#patrol", "—", ""),
        (
            "/#service".to_owned(),
            "#service",
            pick("本月指标", "KPIs this month"),
            "",
        ),
    ];
    for (page, css, wanted, shot) in views {
        c.goto(&format!("{}{page}", app.base)).await.expect("page");
        c.refresh().await.expect("reload");
        drawn(c, css, wanted).await;
        // Sparklines and the console's history come a moment after the first draw.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_fits(c, &page).await;
        if lang == Lang::Zh {
            assert_all_chinese(c, &page).await;
        }
        if !shot.is_empty() {
            shoot(c, &format!("duty-{shot}-{}-{width}", lang.code())).await;
        }
    }
}

async fn the_duty_desk_in(lang: Lang) {
    let (app, incident) = a_working_site().await;
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(1920, 1080).await.expect("control room");
    open(c, &app, "/", lang).await;
    // The console's history names the acknowledgement in words, not `acknowledged`.
    drawn(c, "#alarms .card:last-child tbody", "duty-li").await;
    let history = text_of(c, "#alarms .card:last-child tbody")
        .await
        .unwrap_or_default();
    assert!(
        history.contains(lang.pick("确认", "acknowledged")),
        "{history}"
    );
    // The incident page: the category, the source and the state in words.
    c.goto(&format!("{}/incidents/{incident}", app.base))
        .await
        .expect("page");
    drawn(
        c,
        "div[data-incident-page] h2",
        lang.pick("水浸", "Water ingress"),
    )
    .await;
    let head = text_of(c, "div[data-incident-page]")
        .await
        .unwrap_or_default();
    assert!(
        head.contains(lang.pick("人工登记", "logged by hand")),
        "{head}"
    );
    drawn(
        c,
        "#timeline",
        lang.pick("已报告 → 已派工", "reported → dispatched"),
    )
    .await;
    // The plant: the leak sensor's and the drive's words from their profiles.
    c.goto(&format!("{}/#plant", app.base)).await.expect("page");
    let cell = r#"tr[data-point="pump_1.fault"] td.value"#;
    let fault = eventually("the drive's fault state", WAIT, || async {
        text_of(c, cell).await.filter(|t| t != "—")
    })
    .await;
    assert_eq!(fault, lang.pick("正常", "ok"));
    every_tab(c, &app, incident, lang, 1920).await;
    c.set_window_size(390, 844).await.expect("phone");
    every_tab(c, &app, incident, lang, 390).await;
    // A new fire alarm: the status line counts it by priority on every tab, and the
    // alarms tab carries a badge until it is acknowledged.
    drawn(
        c,
        "#statusline",
        lang.pick("无未确认告警", "No unacknowledged alarms"),
    )
    .await;
    drawn(
        c,
        "#statusline",
        lang.pick("服务器连接正常", "server connected"),
    )
    .await;
    app.sim().set(4, "zone2_alarm", 1.0);
    drawn(c, "#statusline", lang.pick("紧急 1", "emergency 1")).await;
    drawn(c, r#"nav button[data-tab="alarms"] .count"#, "1").await;
    shoot(c, &format!("duty-status-{}-390", lang.code())).await;
    if lang == Lang::Zh {
        assert_all_chinese(c, "status line").await;
    }
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn the_duty_desk_shows_words_not_codes_at_1920_and_390_px_zh() {
    the_duty_desk_in(Lang::Zh).await;
}

#[tokio::test]
async fn the_duty_desk_shows_words_not_codes_at_1920_and_390_px_en() {
    the_duty_desk_in(Lang::En).await;
}
