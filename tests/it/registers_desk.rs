//! The duty desk's registers tab in zh and en at 1920 and 390 px: a key out past its
//! return and an overdue maintenance task stand out (red rule), words not codes on the zh
//! page; a key signed out and a task marked done from the page are kept (rules.md §13.23,
//! §13.13). Screenshots in `target/screenshots/`.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use fantoccini::{Client, Locator};
use serde_json::json;
use sitewatch_core::clock::ManualClock;

use crate::browser::{WAIT, browser, shoot, text_of};
use crate::helpers::{Db, TestApp, eventually, spawn_app_with};
use crate::service_desk::{Lang, assert_all_chinese, assert_fits, open};

async fn a_site_with_registers() -> TestApp {
    // 10:00 site time on 2026-12-07.
    let start = Utc
        .with_ymd_and_hms(2026, 12, 7, 2, 0, 0)
        .single()
        .expect("time");
    let clock = Arc::new(ManualClock::new(start));
    let app = spawn_app_with(Db::Sqlite, "", clock.clone()).await;
    let post_csv = |path: &'static str, body: &'static str| {
        let req = app.client.post(format!("{}{path}", app.base));
        async move {
            let resp = req
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await;
            assert_eq!(resp.expect("import").status().as_u16(), 200, "{path}");
        }
    };
    post_csv(
        "/api/v1/keys/import",
        "id,kind,label,location,keeper\nK-PR1,plant_room,B1 水泵房,A3,cs\nK-ROOF,roof_door,1 栋天台门,A9,security\n",
    )
    .await;
    post_csv(
        "/api/v1/maintenance/import",
        "id,equipment,kind,name,last_done,next_due\nP1-lube,B1,lubrication,1 号泵润滑,,2026-12-01\nP1-ctl,B1,control_circuits,1 号泵控制回路,2026-12-05,\n",
    )
    .await;
    let back = start + chrono::Duration::hours(1);
    let (status, body) = app
        .post_json(
            "/api/v1/keys/K-PR1/sign-out",
            json!({"holder": "eng-zhao", "expected_back": back}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    clock.advance(chrono::Duration::hours(2));
    app
}

async fn drawn(c: &Client, css: &str, wanted: &str) {
    eventually(&format!("{css} shows {wanted}"), WAIT, || async {
        text_of(c, css).await.filter(|t| t.contains(wanted))
    })
    .await;
}

async fn click(c: &Client, css: &str) {
    let el = c.find(Locator::Css(css)).await.expect(css);
    el.click().await.expect("click");
}

async fn row_class(c: &Client, css: &str) -> String {
    let el = c.find(Locator::Css(css)).await.expect(css);
    el.attr("class").await.ok().flatten().unwrap_or_default()
}

async fn the_registers_tab_in(lang: Lang) {
    let app = a_site_with_registers().await;
    let b = browser().await;
    let c = &b.client;
    for width in [1920, 390] {
        c.set_window_size(width, if width == 390 { 844 } else { 1080 })
            .await
            .expect("size");
        // The language cookie is read on a page load: a change of hash alone is none.
        open(c, &app, "/", lang).await;
        c.goto(&format!("{}/#registers", app.base))
            .await
            .expect("page");
        c.refresh().await.expect("reload");
        drawn(c, "#rg-keys", lang.pick("逾期未还", "overdue")).await;
        drawn(c, "#rg-tasks", lang.pick("逾期", "overdue")).await;
        assert_eq!(row_class(c, r#"tr[data-keyset="K-PR1"]"#).await, "overdue");
        assert_eq!(row_class(c, r#"tr[data-task="P1-lube"]"#).await, "overdue");
        // The tab's badge: one key overdue, one task overdue.
        drawn(c, r#"nav button[data-tab="registers"] .count"#, "2").await;
        assert_fits(c, "registers").await;
        if lang == Lang::Zh {
            assert_all_chinese(c, "registers").await;
        }
        shoot(c, &format!("duty-registers-{}-{width}", lang.code())).await;
    }
    click(c, r#"button[data-key-out="K-ROOF"]"#).await;
    drawn(c, r#"tr[data-keyset="K-ROOF"]"#, "desk-chen").await;
    click(c, r#"button[data-key-in="K-PR1"]"#).await;
    drawn(
        c,
        r#"tr[data-keyset="K-PR1"]"#,
        lang.pick("在柜", "on the board"),
    )
    .await;
    click(c, r#"button[data-task-done="P1-lube"]"#).await;
    drawn(c, r#"tr[data-task="P1-lube"]"#, "2026-12-07").await;
    shoot(c, &format!("duty-registers-{}-after", lang.code())).await;
    assert_eq!(
        app.count("select count(*) from key_loans where key_set_id = 'K-ROOF' and holder = 'desk-chen' and expected_back_ms is not null").await,
        1
    );
    assert_eq!(
        app.count("select count(*) from maintenance_done where task_id = 'P1-lube' and done_on = '2026-12-07'").await,
        1
    );
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn the_registers_tab_shows_overdue_keys_and_tasks_and_takes_sign_outs_and_done_zh() {
    the_registers_tab_in(Lang::Zh).await;
}

#[tokio::test]
async fn the_registers_tab_shows_overdue_keys_and_tasks_and_takes_sign_outs_and_done_en() {
    the_registers_tab_in(Lang::En).await;
}
