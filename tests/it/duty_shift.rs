//! The duty desk's hand-over and plant tabs and the guard's page, in headless Chromium,
//! in zh-CN and English: a hand-over started by the outgoing person (who is not offered
//! the acknowledgements, and is told why), a note on an item, the incoming person
//! acknowledging item by item and completing it, a duty-log entry for the shift; a
//! point's chart opened from the plant with a 24 h window and the plant searched; the
//! guard page at 390 px scanning by short code with the verdict in words and reporting a
//! finding with a photo. Every view fits
//! its window; the zh views show no English-catalogue phrase and no raw code.
//! Screenshots at 1920 and 390 px in `target/screenshots/`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{WAIT, browser, shoot, text_of};
use crate::customers::{import_csv, three_units};
use crate::helpers::{Db, TestApp, eventually, spawn_app_with};
use crate::service_desk::{Lang, app, assert_all_chinese, assert_fits};

const FIRE: &str = "fire_panel.zone3_alarm:discrete";

/// A site with an open incident and a standing, unacknowledged fire alarm.
async fn a_shift_with_open_items() -> TestApp {
    let app = app().await;
    let (status, body) = import_csv(&app, three_units()).await;
    assert_eq!(status, 200, "{body}");
    let (status, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"category": "water_ingress", "title": "1-0301 天花渗水",
                "location": "1 栋 3 层", "reported_by": "desk-chen", "source": "manual"}),
        )
        .await;
    assert_eq!(status, 201, "{inc}");
    app.sim().set(4, "zone3_alarm", 1.0);
    eventually("the fire alarm raised", WAIT, || async {
        let a = app.get_json(&format!("/api/v1/alarms/{FIRE}")).await;
        (a["state"] == "unack_active").then_some(())
    })
    .await;
    app
}

/// Opens `path` in `lang` as `actor` (open mode: the page asks the name once).
async fn open_as(c: &Client, app: &TestApp, path: &str, lang: Lang, actor: &str) {
    c.goto(&format!("{}{path}", app.base)).await.expect("page");
    let js = format!(
        "localStorage.setItem('actor', '{actor}'); localStorage.setItem('guard', '{actor}');
         localStorage.removeItem('scanQueue'); document.cookie = 'lang={}; path=/';",
        lang.code()
    );
    c.execute(&js, vec![]).await.expect("script runs");
    // A reload: going to the same address with a `#tab` would only move to the fragment.
    c.refresh().await.expect("reload");
}

async fn shown(c: &Client, css: &str) -> fantoccini::elements::Element {
    eventually(&format!("{css} shown"), WAIT, || async {
        let el = c.find(Locator::Css(css)).await.ok()?;
        el.is_displayed().await.ok()?.then_some(el)
    })
    .await
}

async fn click(c: &Client, css: &str) {
    shown(c, css).await.click().await.expect("click");
}

async fn drawn(c: &Client, css: &str, wanted: &str) -> String {
    eventually(&format!("{css} shows {wanted}"), WAIT, || async {
        text_of(c, css).await.filter(|t| t.contains(wanted))
    })
    .await
}

async fn count(c: &Client, css: &str) -> usize {
    let js = format!("return document.querySelectorAll('{css}').length;");
    let n = c.execute(&js, vec![]).await.expect("script runs");
    n.as_u64().unwrap_or(0) as usize
}

async fn views_fit(c: &Client, page: &str, lang: Lang, shot: &str) {
    // Let a second redraw land before measuring.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_fits(c, page).await;
    if lang == Lang::Zh {
        assert_all_chinese(c, page).await;
    }
    shoot(c, &format!("{shot}-{}", lang.code())).await;
}

async fn the_handover_in(lang: Lang) {
    let app = a_shift_with_open_items().await;
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(1920, 1080).await.expect("control room");
    open_as(c, &app, "/#handover", lang, "night-wang").await;
    click(c, "#ho-start").await;
    drawn(c, "#ho-items", lang.pick("水浸", "Water ingress")).await;
    let items = count(c, "#ho-items tbody tr[data-item]").await;
    assert!(items >= 2, "the incident and the fire alarm: {items}");
    // The outgoing person is not offered the acknowledgements, and is told why.
    let why = text_of(c, "#ho-current").await.unwrap_or_default();
    assert!(
        why.contains(lang.pick("须由接班人", "the incoming person")),
        "{why}"
    );
    let ack = c
        .find(Locator::Css("button[data-ho-ack]"))
        .await
        .expect("ack");
    assert!(
        !ack.is_enabled().await.expect("state"),
        "outgoing cannot ack"
    );
    // A handling note on the first item.
    let note = r#"#ho-items tbody tr:first-child input[data-ho-note-text]"#;
    shown(c, note)
        .await
        .send_keys("已通知水电班")
        .await
        .expect("type");
    click(c, "#ho-items tbody tr:first-child button[data-ho-note]").await;
    drawn(c, "#ho-items tbody tr:first-child ul.notes", "已通知水电班").await;
    // The duty log of the shift.
    shown(c, "#log-text")
        .await
        .send_keys("02:00 巡查 B2 水泵房，正常")
        .await
        .expect("type");
    click(c, "#log-write").await;
    drawn(c, "#duty-log", "B2 水泵房").await;
    views_fit(
        c,
        "/#handover (started)",
        lang,
        "shift-handover-started-1920",
    )
    .await;

    // The incoming person acknowledges item by item, then completes.
    open_as(c, &app, "/#handover", lang, "day-li").await;
    let complete = shown(c, "#ho-complete").await;
    assert!(!complete.is_enabled().await.expect("state"));
    drawn(
        c,
        "#ho-current",
        lang.pick("未确认", "not yet acknowledged"),
    )
    .await;
    for left in (0..items).rev() {
        click(c, "button[data-ho-ack]:not([disabled])").await;
        eventually("one fewer to acknowledge", WAIT, || async {
            (count(c, "button[data-ho-ack]").await == left).then_some(())
        })
        .await;
    }
    drawn(
        c,
        "#ho-items",
        lang.pick("day-li 已确认", "acknowledged by day-li"),
    )
    .await;
    c.set_window_size(390, 844).await.expect("phone");
    views_fit(
        c,
        "/#handover (acknowledged)",
        lang,
        "shift-handover-acked-390",
    )
    .await;
    click(c, "#ho-complete").await;
    shown(c, "#ho-start").await;
    let list = app.get_json("/api/v1/handovers").await;
    let h = &list[0];
    assert_eq!(h["completed"][0], "day-li", "{h}");
    assert_eq!(h["entries"][0]["notes"][0], "已通知水电班", "{h}");
    let acked: Vec<&Value> = h["entries"]
        .as_array()
        .map(|e| e.iter().map(|x| &x["acknowledged"][0]).collect())
        .unwrap_or_default();
    assert!(acked.iter().all(|a| *a == "day-li"), "{h}");
    drawn(c, "#handover", "day-li").await;
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn a_handover_is_started_acknowledged_item_by_item_and_completed_zh() {
    the_handover_in(Lang::Zh).await;
}

#[tokio::test]
async fn a_handover_is_started_acknowledged_item_by_item_and_completed_en() {
    the_handover_in(Lang::En).await;
}

async fn status(app: &TestApp, path: &str) -> u16 {
    let answer = reqwest::get(format!("{}{path}", app.base)).await;
    answer.expect("answer").status().as_u16()
}

async fn a_points_chart_in(lang: Lang) {
    let app = app().await;
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(1920, 1080).await.expect("control room");
    open_as(c, &app, "/#plant", lang, "duty-li").await;
    // Grouped by system, named from the profile.
    drawn(c, "#plant", lang.pick("配电系统", "Power")).await;
    let point = "em_b1.current_l1";
    click(c, &format!(r#"button[data-chart="{point}"]"#)).await;
    click(c, r#"button[data-win="24h"]"#).await;
    drawn(
        c,
        "#pl-chart-card h2",
        lang.pick("A 相电流", "Phase 1 current"),
    )
    .await;
    let span = eventually("a 24 h chart drawn", WAIT, || async {
        let v = c
            .execute(
                "const i = document.getElementById('pl-chart');
                 if (!i || !i.complete || !i.naturalWidth) return null;
                 const u = new URL(i.src);
                 return Date.parse(u.searchParams.get('to')) - Date.parse(u.searchParams.get('from'));",
                vec![],
            )
            .await
            .ok()?;
        v.as_i64()
    })
    .await;
    assert_eq!(span, 24 * 3600 * 1000);
    views_fit(c, "/#plant (chart)", lang, "shift-plant-chart-1920").await;
    // A window of one's own, typed in the page's order (not the browser's locale).
    click(c, r#"button[data-win="custom"]"#).await;
    let from = shown(c, "#pl-from").await;
    let shown_as = from.prop("value").await.ok().flatten().unwrap_or_default();
    assert!(
        shown_as.starts_with(lang.pick("2026/11/23 ", "23/11/2026 ")),
        "{shown_as}"
    );
    from.clear().await.expect("cleared");
    from.send_keys(lang.pick("2026/11/20 08:00", "20/11/2026 08:00"))
        .await
        .expect("type");
    click(c, "#pl-custom button[type=submit]").await;
    eventually("the chart from 20 Nov 08:00 site time", WAIT, || async {
        let v = c
            .execute(
                "return new URL(document.getElementById('pl-chart').src).searchParams.get('from');",
                vec![],
            )
            .await
            .ok()?;
        (v.as_str()? == "2026-11-20T00:00:00.000Z").then_some(())
    })
    .await;
    views_fit(c, "/#plant (custom)", lang, "shift-plant-custom-1920").await;
    // The chart is the server's drawing, in site time.
    let url = format!(
        "{}/api/v1/points/{point}/chart?from=2026-11-23T02:00:00Z&to=2026-11-24T02:00:00Z",
        app.base
    );
    let svg = reqwest::get(url)
        .await
        .expect("chart")
        .text()
        .await
        .expect("svg");
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("11-23 10:00"), "site time with the day: {svg}");
    assert!(svg.contains("<circle"), "the readings drawn: {svg}");
    // Refusals: an unknown point, a window running backwards.
    assert_eq!(status(&app, "/api/v1/points/nope/chart").await, 404);
    let backwards =
        format!("/api/v1/points/{point}/chart?from=2026-11-24T02:00:00Z&to=2026-11-23T02:00:00Z");
    assert_eq!(status(&app, &backwards).await, 422);
    assert_eq!(
        status(&app, &format!("/api/v1/points/{point}/chart?window=1h")).await,
        422,
        "an unknown parameter is refused by name"
    );
    // The search keeps what matches.
    shown(c, "#pl-q")
        .await
        .send_keys(lang.pick("电压", "voltage"))
        .await
        .expect("type");
    eventually("only voltages", WAIT, || async {
        (count(c, r#"tr[data-point="em_b1.current_l1"]"#).await == 0).then_some(())
    })
    .await;
    assert!(count(c, r#"tr[data-point="em_b1.voltage_l1"]"#).await > 0);
    c.set_window_size(390, 844).await.expect("phone");
    views_fit(c, "/#plant (search)", lang, "shift-plant-search-390").await;
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn a_points_chart_opens_with_a_24_h_window_zh() {
    a_points_chart_in(Lang::Zh).await;
}

#[tokio::test]
async fn a_points_chart_opens_with_a_24_h_window_en() {
    a_points_chart_in(Lang::En).await;
}

async fn the_guard_scans_in(lang: Lang) {
    let app = spawn_app_with(Db::Sqlite, crate::patrol::PATROL, crate::patrol::clock()).await;
    crate::patrol::open_tour(&app).await;
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(390, 844).await.expect("phone");
    open_as(c, &app, "/guard", lang, "guard-zhang").await;
    drawn(c, "#tour", "b1 lobby").await;
    shown(c, "#code")
        .await
        .send_keys("b1l")
        .await
        .expect("type");
    click(c, "#send").await;
    drawn(
        c,
        "#result",
        lang.pick("打卡成功，按时", "counted, on time"),
    )
    .await;
    drawn(c, "#tour", "roof").await;
    // The same tag again: refused, in words.
    shown(c, "#code")
        .await
        .send_keys("b1l")
        .await
        .expect("type");
    click(c, "#send").await;
    let words = [
        lang.pick("重复扫描", "Scanned twice"),
        lang.pick("此点本轮已完成", "Already done"),
    ];
    let refused = eventually("the second scan refused in words", WAIT, || async {
        text_of(c, "#result")
            .await
            .filter(|t| words.iter().any(|w| t.contains(w)))
    })
    .await;
    assert!(!refused.contains('_'), "{refused}");
    // A finding with its category, a note and a photo (the camera on a phone).
    let dir = tempfile::tempdir().expect("dir");
    let photo = dir.path().join("door.png");
    std::fs::write(&photo, crate::browser_desk::PNG).expect("photo");
    c.find(Locator::Id("f-photo"))
        .await
        .expect("picker")
        .send_keys(&photo.display().to_string())
        .await
        .expect("file chosen");
    drawn(c, "#f-name", "door.png").await;
    shown(c, "#f-text")
        .await
        .send_keys("B1 北门未锁")
        .await
        .expect("type");
    click(c, "#f-send").await;
    drawn(c, "#f-result", lang.pick("已上报", "Reported")).await;
    views_fit(c, "/guard", lang, "shift-guard-390").await;
    c.set_window_size(1920, 1080).await.expect("desk");
    views_fit(c, "/guard", lang, "shift-guard-1920").await;
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn the_guard_page_scans_by_short_code_with_the_verdict_in_words_at_390_px_zh() {
    the_guard_scans_in(Lang::Zh).await;
}

#[tokio::test]
async fn the_guard_page_scans_by_short_code_with_the_verdict_in_words_at_390_px_en() {
    the_guard_scans_in(Lang::En).await;
}
