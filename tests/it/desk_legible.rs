//! Issue 20's legibility items in headless Chromium, zh-CN and English: an alarm speaks
//! the page's language (its rule's zh message on the console, its detail and the incident
//! it opened); a discrete point shows its profile's state words (火警 / fire alarm), not
//! 0/1, on the plant tab and in the alarm's detail; dates on the notice and incident pages
//! are typed in one fixed form, `YYYY-MM-DD HH:MM`, and read in the site's zone (Asia/
//! Shanghai here, UTC+8), whatever Chromium's locale. Screenshots `legible-*`.

use chrono::{DateTime, Duration as Span, Utc};
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::browser::{WAIT, browser, shoot, text_of};
use crate::helpers::{TestApp, eventually};
use crate::incident_page::water_ingress;
use crate::service_desk::{Lang, app, assert_all_chinese, assert_fits, open};

const FIRE: &str = "fire_panel.zone3_alarm:discrete";

pub async fn click(c: &Client, css: &str) {
    let el = eventually(&format!("{css} shown"), WAIT, || async {
        let el = c.find(Locator::Css(css)).await.ok()?;
        el.is_displayed().await.ok()?.then_some(el)
    })
    .await;
    el.click().await.expect("click");
}

pub async fn type_in(c: &Client, css: &str, text: &str) {
    let el = c.find(Locator::Css(css)).await.expect("field");
    el.clear().await.expect("clear");
    el.send_keys(text).await.expect("type");
}

/// Waits until `css` shows text holding `wanted`; returns the text.
pub async fn shows(c: &Client, css: &str, wanted: &str) -> String {
    eventually(&format!("{css} shows {wanted}"), WAIT, || async {
        text_of(c, css).await.filter(|t| t.contains(wanted))
    })
    .await
}

/// The duty desk's alarm console in `lang` (a cookie, so the page is loaded again).
async fn on_the_console(c: &Client, app: &TestApp, lang: Lang) {
    open(c, app, "/", lang).await;
    c.goto(&format!("{}/#alarms", app.base))
        .await
        .expect("page");
    c.refresh().await.expect("reload");
}

async fn fire_alarm(app: &TestApp) {
    app.sim().set(4, "zone3_alarm", 1.0);
    eventually("the fire alarm raised", WAIT, || async {
        let a = app.get_json(&format!("/api/v1/alarms/{FIRE}")).await;
        (a["state"] == "unack_active").then_some(())
    })
    .await;
}

async fn an_alarm_in(lang: Lang) {
    let app = app().await;
    fire_alarm(&app).await;
    let a = app.get_json(&format!("/api/v1/alarms/{FIRE}")).await;
    assert_eq!(a["message_zh"], "Fire panel：3 区火警", "{a}");
    let english = a["message"].as_str().unwrap_or_default().to_owned();
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(1920, 1080).await.expect("control room");
    on_the_console(c, &app, lang).await;
    let row = format!(r#"tr[data-alarm="{FIRE}"]"#);
    let said = lang.pick("3 区火警", "Zone 3 fire alarm");
    let text = shows(c, &row, said).await;
    if lang == Lang::Zh {
        assert!(!text.contains(&english), "{text}");
    }
    // Its detail: the value in the profile's words, not 1.
    click(c, &format!(r#"button[data-open="{FIRE}"]"#)).await;
    shows(c, "#detail-title", said).await;
    let label = lang.pick("告警时数值", "Value at the change");
    let body = shows(c, "#detail-body", label).await;
    let value = body
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_default();
    assert!(value.contains(lang.pick("火警", "fire alarm")), "{body}");
    shoot(c, &format!("legible-alarm-detail-{}-1920", lang.code())).await;
    if lang == Lang::Zh {
        assert_all_chinese(c, "console with a fire alarm").await;
    }
    // The incident the alarm opened is titled in the page's language.
    let incidents = app.get_json("/api/v1/incidents").await;
    let id = incidents
        .as_array()
        .and_then(|l| l.iter().find(|i| i["source"]["alarm"] == FIRE))
        .and_then(|i| i["id"].as_i64())
        .expect("the fire alarm opened an incident");
    c.goto(&format!("{}/incidents/{id}", app.base))
        .await
        .expect("incident page");
    shows(c, "div[data-incident-page] h2", said).await;
    if lang == Lang::Zh {
        assert_all_chinese(c, "the fire incident").await;
    }
    // The service desk's compose form lists it by the same title.
    c.goto(&format!("{}/service/notices/new", app.base))
        .await
        .expect("compose");
    shows(c, "#nt-incident", said).await;
    if lang == Lang::Zh {
        assert_all_chinese(c, "the compose form").await;
    }
    // The plant: the zone's state word; a zone at rest is "normal", not 0.
    c.goto(&format!("{}/#plant", app.base))
        .await
        .expect("plant");
    let cell = |p: &str| format!(r#"tr[data-point="fire_panel.{p}"] td.value"#);
    shows(c, &cell("zone3_alarm"), lang.pick("火警", "fire alarm")).await;
    // A value whose alarm is active stands out (red), the others do not.
    let red = |p: &str| format!(r#"tr[data-point="fire_panel.{p}"] td.value.s-red"#);
    eventually("the alarmed zone in red", WAIT, || async {
        c.find(Locator::Css(&red("zone3_alarm"))).await.ok()
    })
    .await;
    assert!(c.find(Locator::Css(&red("zone1_alarm"))).await.is_err());
    shows(c, &cell("zone1_isolated"), lang.pick("投入", "in service")).await;
    let pump = text_of(c, &cell("zone1_alarm")).await.unwrap_or_default();
    assert_eq!(pump, lang.pick("正常", "normal"));
    shoot(c, &format!("legible-plant-{}-1920", lang.code())).await;
    if lang == Lang::Zh {
        assert_all_chinese(c, "plant").await;
    }
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn an_alarm_is_worded_in_chinese_on_the_zh_page_with_its_state_words() {
    an_alarm_in(Lang::Zh).await;
}

#[tokio::test]
async fn an_alarm_is_worded_in_english_on_the_en_page_with_its_state_words() {
    an_alarm_in(Lang::En).await;
}

/// `at` in Asia/Shanghai as the date fields show it.
fn shanghai(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

async fn value(c: &Client, css: &str) -> String {
    let el = c.find(Locator::Css(css)).await.expect("field");
    el.prop("value").await.ok().flatten().unwrap_or_default()
}

/// Issues the notice (by script: the refusal's toast may still lie over the button).
async fn issue(c: &Client) {
    c.execute("document.getElementById('nt-issue').click();", vec![])
        .await
        .expect("script runs");
}

/// The notice page in zh: the expiry comes prefilled as `YYYY-MM-DD HH:MM` in site time;
/// a date in another order is refused in words next to the field, nothing is issued;
/// typed right, the notice starts at that site time (08:00 in Shanghai is 00:00 UTC).
#[tokio::test]
async fn notice_dates_are_typed_in_one_form_and_kept_in_site_time_zh() {
    let app = app().await;
    let incident = water_ingress(&app).await;
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(390, 844).await.expect("phone");
    let path = format!("/service/notices/new?incident={incident}");
    let before = Utc::now();
    open(c, &app, &path, Lang::Zh).await;
    let expires = eventually("the expiry prefilled", WAIT, || async {
        Some(value(c, "#nt-expires").await).filter(|v| !v.is_empty())
    })
    .await;
    let after = Utc::now();
    let in3 = Span::days(3);
    assert!(
        [shanghai(before + in3), shanghai(after + in3)].contains(&expires),
        "{expires}"
    );
    let kind = c
        .find(Locator::Id("nt-starts"))
        .await
        .expect("field")
        .attr("type")
        .await
        .expect("type");
    assert_ne!(kind.as_deref(), Some("datetime-local"));
    type_in(c, "#nt-title", "3 号楼停水").await;
    type_in(c, "#nt-body", "11 月 25 日 8:00 至 18:30 停水检修。").await;
    type_in(c, "#nt-starts", "25/11/2026 08:00").await;
    issue(c).await;
    shows(c, "#toast", "请按“年-月-日 时:分").await;
    shoot(c, "legible-notice-bad-date-zh-390").await;
    let list = app
        .get_json(&format!("/api/v1/notices?incident={incident}"))
        .await;
    assert_eq!(list, Value::Array(vec![]), "nothing issued");
    type_in(c, "#nt-starts", "2026-11-25 08:00").await;
    type_in(c, "#nt-ends", "2026-11-25 18:30").await;
    assert_fits(c, "compose at 390 px").await;
    assert_all_chinese(c, "compose").await;
    shoot(c, "legible-notice-dates-zh-390").await;
    issue(c).await;
    eventually("the notice's page", WAIT, || async {
        let url = c.current_url().await.ok()?;
        url.path()
            .strip_prefix("/service/notices/")
            .and_then(|n| n.parse::<i64>().ok())
    })
    .await;
    let notices = app
        .get_json(&format!("/api/v1/notices?incident={incident}"))
        .await;
    let n = &notices[0];
    let at = |k: &str| n[k].as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
    assert_eq!(at("starts_at"), "2026-11-25T00:00:00Z".parse().ok(), "{n}");
    assert_eq!(at("ends_at"), "2026-11-25T10:30:00Z".parse().ok(), "{n}");
    let expiry = at("expires_at").map(shanghai);
    assert_eq!(expiry.as_deref(), Some(expires.as_str()), "{n}");
    b.client.clone().close().await.ok();
}

async fn suppress(app: &TestApp, scope: Value, reason: &str) {
    let body =
        serde_json::json!({"scope": scope, "actor": "duty-li", "reason": reason, "minutes": 90});
    let (status, body) = app.post_json("/api/v1/alarms/suppress", body).await;
    assert_eq!(status, 200, "{body}");
}

/// `GET /api/v1/alarms/suppressions` lists who, why, what and until when, paged as every
/// list is; `POST /api/v1/alarms/unsuppress` lifts one through the engine, which refuses
/// a scope with none (409) and annunciates what it hid again.
#[tokio::test]
async fn suppressions_are_listed_paged_and_lifted_through_the_engine() {
    let app = app().await;
    suppress(
        &app,
        serde_json::json!({"type": "device", "id": "pump_1"}),
        "换泵",
    )
    .await;
    suppress(&app, serde_json::json!({"type": "site"}), "停电演练").await;
    let resp = app
        .client
        .get(format!("{}/api/v1/alarms/suppressions?limit=1", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-next-offset"], "1");
    let first: Value = resp.json().await.expect("json");
    assert_eq!(
        first[0]["scope"],
        serde_json::json!({"type": "device", "id": "pump_1"})
    );
    assert_eq!(first[0]["by"], "duty-li");
    assert_eq!(first[0]["reason"], "换泵");
    // 90 minutes of the daemon's (manual) clock: 2026-11-24 02:00 UTC + 1 h 30.
    assert_eq!(first[0]["until"], "2026-11-24T03:30:00Z", "{first}");
    let rest = app
        .get_json("/api/v1/alarms/suppressions?limit=1&offset=1")
        .await;
    assert_eq!(rest[0]["reason"], "停电演练");
    let lift = serde_json::json!({"scope": {"type": "site"}, "actor": "duty-li"});
    let (status, body) = app
        .post_json("/api/v1/alarms/unsuppress", lift.clone())
        .await;
    assert_eq!(status, 200, "{body}");
    let left = app.get_json("/api/v1/alarms/suppressions").await;
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left}");
    let (status, body) = app.post_json("/api/v1/alarms/unsuppress", lift).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let pump = app.get_json("/api/v1/alarms/pump_1.fault:discrete").await;
    assert_eq!(pump["suppressed"], "换泵", "the device window still holds");
}

async fn lift_from_the_console(lang: Lang) {
    let app = app().await;
    suppress(
        &app,
        serde_json::json!({"type": "device", "id": "pump_1"}),
        "换泵检修",
    )
    .await;
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(1920, 1080).await.expect("control room");
    on_the_console(c, &app, lang).await;
    let card = shows(c, "#suppressions", "换泵检修").await;
    assert!(
        card.contains("Pump 1") && card.contains("duty-li"),
        "{card}"
    );
    // Until 03:30 UTC is 11:30 in the site's zone (Asia/Shanghai).
    assert!(card.contains("11:30"), "{card}");
    assert!(
        card.contains(lang.pick("屏蔽中（1）", "Suppressions in force (1)")),
        "{card}"
    );
    if lang == Lang::Zh {
        assert_all_chinese(c, "console with a suppression").await;
    }
    c.set_window_size(390, 844).await.expect("phone");
    assert_fits(c, "console with a suppression at 390 px").await;
    shoot(c, &format!("legible-suppressions-{}-390", lang.code())).await;
    c.set_window_size(1920, 1080).await.expect("control room");
    click(c, r#"#suppressions button[data-lift]"#).await;
    shows(c, "#confirm-text", "换泵检修").await;
    shoot(c, &format!("legible-lift-confirm-{}-1920", lang.code())).await;
    click(c, "#confirm-yes").await;
    eventually("the suppression lifted", WAIT, || async {
        let left = app.get_json("/api/v1/alarms/suppressions").await;
        (left == Value::Array(vec![])).then_some(())
    })
    .await;
    eventually("the card gone", WAIT, || async {
        let el = c.find(Locator::Id("suppressions")).await.ok()?;
        (!el.is_displayed().await.ok()?).then_some(())
    })
    .await;
    let pump = app.get_json("/api/v1/alarms/pump_1.fault:discrete").await;
    assert_eq!(pump["suppressed"], Value::Null, "{pump}");
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn a_suppression_is_shown_and_lifted_from_the_console_zh() {
    lift_from_the_console(Lang::Zh).await;
}

#[tokio::test]
async fn a_suppression_is_shown_and_lifted_from_the_console_en() {
    lift_from_the_console(Lang::En).await;
}

/// The guard page's time left is the daemon's (`now` in `/api/v1/patrol/next`), not the
/// phone's: a phone five hours fast (and the test's phone is days away from the daemon's
/// manual clock anyway) still shows the roof due at 02:21 (ten minutes after the lobby's
/// slot, which the late scan moved) 20 minutes away at 02:01.
#[tokio::test]
async fn the_guard_page_counts_time_left_by_the_daemons_clock() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Db::Sqlite,
        crate::patrol::PATROL,
        crate::patrol::clock(),
    )
    .await;
    crate::patrol::open_tour(&app).await;
    let next = app.get_json("/api/v1/patrol/next?route=night").await;
    assert_eq!(next["now"], "2026-11-24T18:01:00Z", "{next}");
    let scan = serde_json::json!({"id": "s1", "guard": "guard-zhang", "short_code": "B1L"});
    let (status, body) = app.post_json("/api/v1/patrol/scans", scan).await;
    assert_eq!(status, 201, "{body}");
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(390, 844).await.expect("phone");
    open(c, &app, "/guard", Lang::Zh).await;
    // The phone's clock five hours fast, then the guard named: the tour is drawn.
    c.execute(
        "const real = Date.now; Date.now = () => real.call(Date) + 5 * 3600e3;
         const g = document.getElementById('guard'); g.value = 'guard-zhang';
         g.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await
    .expect("script runs");
    let tour = shows(c, "#tour", "roof").await;
    assert!(tour.contains("剩余 20 分 0 秒"), "{tour}");
    assert!(tour.contains("2026/11/25 02:21"), "{tour}");
    shoot(c, "legible-guard-time-left-zh-390").await;
    b.client.clone().close().await.ok();
}

fn duty_entry(text: &str) -> Value {
    serde_json::json!({"author": "duty-li", "shift": "2026-11-24 夜班", "text": text})
}

/// The duty log (值班记录) goes through the engine: the hand-over book numbers each entry
/// and the store writer keeps it with its journal entry. With the row's table locked the
/// write answers 503 `not_yet_stored` (not 201 before it is kept), and once the lock goes
/// the entry is kept by itself, once, with its journal entry; numbering goes on after a
/// restart from the highest kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duty_log_entry_answers_201_only_once_kept_with_its_journal_entry() {
    use sqlx::Connection as _;
    let clock = std::sync::Arc::new(sitewatch::core::clock::SystemClock);
    let app = crate::helpers::spawn_app_with(crate::helpers::Db::Postgres, "", clock.clone()).await;
    let (status, first) = app
        .post_json("/api/v1/duty-log", duty_entry("B2 水泵房巡查正常"))
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["id"], 1, "{first}");
    // A 201 means the row and its journal entry are there, seen from another connection.
    assert_eq!(app.count("select count(*) from duty_log").await, 1);
    assert_eq!(
        app.journalled("duty_log", "text", "B2 水泵房巡查正常")
            .await,
        1
    );

    let mut locker = sqlx::PgConnection::connect(&app.db.url)
        .await
        .expect("connect");
    for sql in ["begin", "lock table duty_log in access exclusive mode"] {
        sqlx::query(sql).execute(&mut locker).await.expect(sql);
    }
    let post = app.post_json("/api/v1/duty-log", duty_entry("3 号梯困人已解救"));
    let (status, body) = tokio::time::timeout(std::time::Duration::from_secs(20), post)
        .await
        .expect("the entry answers while its table is locked");
    assert_eq!(status, 503, "not 201 before the entry is kept: {body}");
    assert_eq!(body["code"], "not_yet_stored", "{body}");
    sqlx::query("rollback")
        .execute(&mut locker)
        .await
        .expect("unlock");
    let rows = "select count(*) from duty_log where text = '3 号梯困人已解救'";
    eventually("the held entry written by itself", WAIT, || async {
        (app.count(rows).await > 0).then_some(())
    })
    .await;
    assert_eq!(app.count(rows).await, 1, "written once");
    assert_eq!(
        app.journalled("duty_log", "text", "3 号梯困人已解救").await,
        1
    );

    let (db, sim) = app.shut_down().await;
    let app = crate::helpers::start(db, sim, "", clock).await;
    let (status, third) = app
        .post_json("/api/v1/duty-log", duty_entry("交班前复核消防主机"))
        .await;
    assert_eq!(
        (status, &third["id"]),
        (201, &serde_json::json!(3)),
        "{third}"
    );
    let log = app
        .get_json("/api/v1/duty-log?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z")
        .await;
    let texts: Vec<&str> = (log["entries"].as_array().into_iter().flatten())
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "B2 水泵房巡查正常",
            "3 号梯困人已解救",
            "交班前复核消防主机"
        ]
    );
}

/// A repair logged for unit 1-0301 (units imported), its number.
async fn a_repair(app: &TestApp) -> i64 {
    let (status, body) = crate::customers::import_csv(app, &crate::customers::three_units()).await;
    assert_eq!(status, 200, "{body}");
    let (status, r) = app
        .post_json(
            "/api/v1/requests",
            serde_json::json!({"kind": {"type": "repair", "emergency": false}, "channel": "phone",
                "unit": "1-0301", "owner": "王芳", "summary": "卫生间天花板渗水",
                "received_by": "desk-chen"}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    r["id"].as_i64().expect("request id")
}

/// Writes `bytes` to a file named `name` in a fresh directory; the path (kept alive).
fn a_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    (dir, path.display().to_string())
}

async fn choose_file(c: &Client, path: &str) {
    c.find(Locator::Id("rq-photo-file"))
        .await
        .expect("file field")
        .send_keys(path)
        .await
        .expect("file chosen");
}

async fn request_photos_in(lang: Lang) {
    let app = app().await;
    let id = a_repair(&app).await;
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(390, 844).await.expect("phone");
    let page = format!("/service/requests/{id}");
    open(c, &app, &page, lang).await;
    shows(
        c,
        "#rq-photos",
        lang.pick("照片与附件（0）", "Photos and files (0)"),
    )
    .await;
    // The camera's button is the page's own, with its capture hint for the phone.
    let field = c.find(Locator::Id("rq-photo-file")).await.expect("field");
    assert_eq!(
        field.attr("accept").await.expect("accept").as_deref(),
        Some("image/*")
    );
    assert!(field.attr("capture").await.expect("capture").is_some());

    // Bytes that are not a PNG, named as one: refused in the page's words.
    let (_d1, fake) = a_file("not-a-photo.png", b"these bytes are text, not an image");
    choose_file(c, &fake).await;
    click(c, "#rq-photo-go").await;
    let said = shows(c, "#toast", lang.pick("文件内容", "the file's contents")).await;
    if lang == Lang::Zh {
        assert!(!said.contains("bytes are not"), "{said}");
        assert_all_chinese(c, "a refused photo").await;
    }
    shoot(
        c,
        &format!("legible-request-photo-refused-{}-390", lang.code()),
    )
    .await;

    let (_d2, png) = a_file("leak.png", crate::browser_desk::PNG);
    choose_file(c, &png).await;
    type_in(c, "#rq-photo-caption", "天花板水渍").await;
    c.execute("document.getElementById('rq-photo-go').click();", vec![])
        .await
        .expect("script runs");
    shows(
        c,
        "#rq-photos",
        lang.pick("照片与附件（1）", "Photos and files (1)"),
    )
    .await;
    eventually("the thumbnail drawn", WAIT, || async {
        let js = "return document.querySelector('#rq-photos .thumbs img')?.naturalWidth || 0;";
        let w = c.execute(js, vec![]).await.ok()?;
        (w == 2).then_some(())
    })
    .await;
    assert_fits(c, "request page with a photo at 390 px").await;
    shoot(c, &format!("legible-request-photo-{}-390", lang.code())).await;
    let r = app.get_json(&format!("/api/v1/requests/{id}")).await;
    let a = &r["attachments"][0];
    assert_eq!(a["caption"], "天花板水渍", "{r}");
    assert_eq!(a["content_type"], "image/png", "{r}");
    assert_eq!(a["added_by"], "desk-chen", "{r}");
    let listed = shows(c, "#rq-timeline", lang.pick("上传照片", "photo attached")).await;
    assert!(listed.contains("desk-chen"), "{listed}");
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn a_request_takes_a_photo_from_its_page_and_lists_it_zh() {
    request_photos_in(Lang::Zh).await;
}

#[tokio::test]
async fn a_request_takes_a_photo_from_its_page_and_lists_it_en() {
    request_photos_in(Lang::En).await;
}

/// The API: an attachment must name a file `/api/v1/files` kept, within the limits.
#[tokio::test]
async fn a_request_attachment_names_a_kept_file_within_the_limits() {
    let app = app().await;
    let id = a_repair(&app).await;
    let url = format!("/api/v1/requests/{id}/commands");
    let attach = |file: &str, kind: &str| {
        serde_json::json!({"actor": "desk-chen", "action": {"type": "attach", "id": file,
            "kind": "scene_photo", "content_type": kind, "size_bytes": 70, "caption": ""}})
    };
    let (status, body) = app.post_json(&url, attach("nope", "image/png")).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("file")),
        "{body}"
    );
    let up = app
        .client
        .post(format!("{}/api/v1/files?by=desk-chen", app.base))
        .header("content-type", "image/png")
        .body(crate::browser_desk::PNG.to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(up.status(), 201);
    let kept: Value = up.json().await.expect("json");
    let file = kept["id"].as_str().expect("id");
    let (status, body) = app.post_json(&url, attach(file, "text/html")).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("file")),
        "{body}"
    );
    let (status, body) = app.post_json(&url, attach(file, "image/png")).await;
    assert_eq!(status, 200, "{body}");
    let r = app.get_json(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(r["attachments"][0]["id"], file, "{r}");
}

/// The incident page in zh: the insurer call's two times are typed in the fixed form and
/// kept as site time (09:58 in Shanghai is 01:58 UTC); a time in the browser's own order is
/// refused next to the field and nothing is sent.
#[tokio::test]
async fn the_insurer_calls_times_are_typed_in_one_form_and_kept_in_site_time_zh() {
    let app = app().await;
    let id = water_ingress(&app).await;
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(390, 844).await.expect("phone");
    open(c, &app, &format!("/incidents/{id}"), Lang::Zh).await;
    let form = r#"form[data-step="notify_insurer"]"#;
    click(c, &format!("{form} summary")).await;
    let fields = [
        ("insurer", "平安财险"),
        ("spoken_to", "李专员"),
        ("reference", "PA-20261124-01"),
        ("policy_number", "POL-778"),
        ("insured_object", "1 栋公共部位"),
        ("cause", "楼上水管爆裂"),
        ("place", "1 栋 3 层"),
        ("loss_outline", "天花板与墙面浸水"),
    ];
    for (name, text) in fields {
        type_in(c, &format!(r#"{form} input[name="{name}"]"#), text).await;
    }
    let called = format!(r#"{form} input[name="called_at"]"#);
    let controlled = format!(r#"{form} input[name="under_control_at"]"#);
    let placeholder = c
        .find(Locator::Css(&called))
        .await
        .expect("field")
        .attr("placeholder")
        .await
        .expect("placeholder");
    assert_eq!(placeholder.as_deref(), Some("2026-11-24 08:00"));
    type_in(c, &called, "11/24/2026 09:58").await;
    type_in(c, &controlled, "2026-11-24 09:40").await;
    let send = format!(
        r#"document.querySelector('{form} button[data-action="notify_insurer"]').click();"#
    );
    c.execute(&send, vec![]).await.expect("script runs");
    shows(c, "#toast", "请按“年-月-日 时:分").await;
    let i = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(i["claim"]["insurer_call"], Value::Null, "nothing sent: {i}");
    type_in(c, &called, "2026-11-24 09:58").await;
    c.execute(&send, vec![]).await.expect("script runs");
    let call = eventually("the insurer call kept", WAIT, || async {
        let i = app.get_json(&format!("/api/v1/incidents/{id}")).await;
        let call = i["claim"]["insurer_call"][1].clone();
        (!call.is_null()).then_some(call)
    })
    .await;
    assert_eq!(call["called_at"], "2026-11-24T01:58:00Z", "{call}");
    assert_eq!(call["under_control_at"], "2026-11-24T01:40:00Z", "{call}");
    shoot(c, "legible-insurer-call-zh-390").await;
    b.client.clone().close().await.ok();
}
