//! The duty engineer's alarm console and incident page in headless Chromium, in zh-CN and
//! English. The console: at 390 px a fire alarm rings once sound is turned on, is
//! acknowledged from the phone layout and the rest silenced; at 1920 px the list filters
//! by device, text and priority, two fire alarms are acknowledged together with one
//! comment, the pump alarm's detail shows its chart and is shelved after a confirmation,
//! unshelved, its device suppressed for a window, and it is taken out of service and back. The incident page (signed in): a
//! water ingress dispatched to a person from the staff list, a resolve held back with the
//! reason in words, a household added by a unit search, a photo attached from the file
//! picker, and a notice to the households: the compose form arrives prefilled, says that
//! customer service issues notices, and the clerk issues it from the same link.
//! Screenshots in `target/screenshots/duty-console-*` and `duty-console-incident-*`.

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use sitewatch::access::Role;

use crate::browser::{WAIT, browser, shoot, text_of};
use crate::browser_desk::PNG;
use crate::customers::{import_csv, three_units};
use crate::helpers::{TestApp, eventually};
use crate::service_desk::{Lang, app, assert_all_chinese, assert_fits, open};

const ZONE: [&str; 3] = [
    "fire_panel.zone1_alarm:discrete",
    "fire_panel.zone2_alarm:discrete",
    "fire_panel.zone3_alarm:discrete",
];
const PUMP: &str = "pump_1.fault:discrete";

async fn click(c: &Client, css: &str) {
    let el = eventually(&format!("{css} shown"), WAIT, || async {
        let el = c.find(Locator::Css(css)).await.ok()?;
        el.is_displayed().await.ok()?.then_some(el)
    })
    .await;
    el.click().await.expect("click");
}

async fn type_in(c: &Client, css: &str, text: &str) {
    let el = c.find(Locator::Css(css)).await.expect("field");
    el.clear().await.expect("clear");
    el.send_keys(text).await.expect("type");
}

async fn choose(c: &Client, css: &str, value: &str) {
    eventually(&format!("{css} = {value}"), WAIT, || async {
        let el = c.find(Locator::Css(css)).await.ok()?;
        el.select_by_value(value).await.ok()
    })
    .await;
}

/// Waits until `css` shows text holding `wanted`; returns the text.
async fn shows(c: &Client, css: &str, wanted: &str) -> String {
    eventually(&format!("{css} shows {wanted}"), WAIT, || async {
        text_of(c, css).await.filter(|t| t.contains(wanted))
    })
    .await
}

async fn rows(c: &Client) -> Vec<String> {
    let js = "return [...document.querySelectorAll('#alarm-list tr[data-alarm]')].map(r => r.dataset.alarm);";
    let v = c.execute(js, vec![]).await.expect("script runs");
    serde_json::from_value(v).unwrap_or_default()
}

/// Waits until the list shows exactly `wanted` (in any order).
async fn listed(c: &Client, wanted: &[&str]) {
    let mut wanted: Vec<String> = wanted.iter().map(|s| (*s).to_owned()).collect();
    wanted.sort();
    eventually(&format!("the list shows {wanted:?}"), WAIT, || async {
        let mut got = rows(c).await;
        got.sort();
        (got == wanted).then_some(())
    })
    .await;
}

async fn alarm(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/v1/alarms/{id}")).await
}

async fn until_alarm(app: &TestApp, id: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    eventually(&format!("{id}: {what}"), WAIT, || async {
        let a = alarm(app, id).await;
        ok(&a).then_some(a)
    })
    .await
}

async fn body_data(c: &Client, key: &str) -> String {
    let js = format!("return document.body.dataset.{key} || '';");
    let v = c.execute(&js, vec![]).await.expect("script runs");
    v.as_str().unwrap_or_default().to_owned()
}

async fn confirm_dialog(c: &Client, wanted: &str, shot: &str) {
    shows(c, "#confirm-text", wanted).await;
    shoot(c, shot).await;
    click(c, "#confirm-yes").await;
}

async fn the_console_in(lang: Lang) {
    let app = app().await;
    for zone in 1..=3 {
        app.sim().set(4, &format!("zone{zone}_alarm"), 1.0);
    }
    app.sim().set(3, "fault", 1.0);
    for id in ZONE.iter().chain([&PUMP]) {
        until_alarm(&app, id, "raised", |a| a["state"] == "unack_active").await;
    }
    let b = browser().await;
    let c = &b.client;
    let code = lang.code();

    // The phone: sound on, it rings; a fire alarm acknowledged from the row; silenced.
    c.set_window_size(390, 844).await.expect("phone");
    // The alarms tab is the desk's first (a fragment alone would not reload the page in
    // the language just chosen).
    open(c, &app, "/", lang).await;
    listed(c, &[ZONE[0], ZONE[1], ZONE[2], PUMP]).await;
    click(c, "#sound-on").await;
    eventually("ringing", WAIT, || async {
        (body_data(c, "ringing").await == "1").then_some(())
    })
    .await;
    assert!(!body_data(c, "tones").await.is_empty(), "a tone played");
    shows(c, "#sound-state", lang.pick("正在响铃", "ringing")).await;
    assert_fits(c, "console at 390 px").await;
    if lang == Lang::Zh {
        assert_all_chinese(c, "console at 390 px").await;
    }
    shoot(c, &format!("duty-console-phone-{code}-390")).await;
    click(
        c,
        &format!(r#"tr[data-alarm="{}"] button[data-ack]"#, ZONE[0]),
    )
    .await;
    let acked = until_alarm(&app, ZONE[0], "acknowledged", |a| {
        a["state"] == "ack_active"
    })
    .await;
    assert_eq!(acked["acked_by"], "desk-chen");
    click(c, "#sound-silence").await;
    eventually("silenced", WAIT, || async {
        body_data(c, "ringing").await.is_empty().then_some(())
    })
    .await;

    // The control room: filters, then two fire alarms acknowledged with one comment.
    c.set_window_size(1920, 1080).await.expect("control room");
    choose(c, "#f-device", "pump_1").await;
    listed(c, &[PUMP]).await;
    choose(c, "#f-device", "").await;
    type_in(c, "#f-q", "zone3").await;
    listed(c, &[ZONE[2]]).await;
    type_in(c, "#f-q", "").await;
    c.execute("const q = document.getElementById('f-q'); q.value = ''; q.dispatchEvent(new Event('input'));", vec![])
        .await
        .expect("script runs");
    choose(c, "#f-priority", "emergency").await;
    listed(c, &ZONE).await;
    shows(c, "#alarm-list .pager", lang.pick("共 3 条", "of 3")).await;
    click(c, "#select-page").await;
    shows(c, "#selected-count", lang.pick("已选 2 条", "2 selected")).await;
    let comment = lang.pick(
        "值班已复核，消防中控确认误报",
        "checked with the fire control room",
    );
    type_in(c, "#bulk-note", comment).await;
    click(c, "#bulk-ack").await;
    for id in &ZONE[1..] {
        let a = until_alarm(&app, id, "acknowledged", |a| a["state"] == "ack_active").await;
        assert_eq!(a["acked_by"], "desk-chen", "{a}");
        // The engine answers before the writer has journalled the step: wait for it.
        let history = format!("/api/v1/alarms/history?latest=5&alarm={id}");
        let acked = eventually("the acknowledgement journalled", WAIT, || async {
            let journal = app.get_json(&history).await;
            let acked = |r: &&Value| r["body"]["transition"]["kind"] == "acknowledged";
            journal.as_array()?.iter().find(acked).cloned()
        })
        .await;
        assert_eq!(acked["body"]["note"], comment, "{acked}");
    }
    assert_eq!(alarm(&app, PUMP).await["state"], "unack_active");

    // The pump alarm's detail: not yet acknowledged, its chart; shelved after a
    // confirmation, unshelved; its device suppressed for a window.
    choose(c, "#f-priority", "").await;
    click(c, &format!(r#"button[data-open="{PUMP}"]"#)).await;
    shows(
        c,
        "#detail-body",
        lang.pick("尚未确认", "not yet acknowledged"),
    )
    .await;
    eventually("the chart drawn", WAIT, || async {
        let v = c
            .execute(
                "return document.getElementById('detail-chart').naturalWidth;",
                vec![],
            )
            .await
            .ok()?;
        (v.as_u64()? > 0).then_some(())
    })
    .await;
    shoot(c, &format!("duty-console-detail-{code}-1920")).await;
    let reason = lang.pick("水泵检修中", "pump under repair");
    type_in(c, "#shelve-reason", reason).await;
    choose(c, "#shelve-minutes", "30").await;
    click(c, "#shelve-go").await;
    confirm_dialog(c, reason, &format!("duty-console-confirm-{code}-1920")).await;
    let shelved = until_alarm(&app, PUMP, "shelved", |a| !a["shelved"].is_null()).await;
    assert_eq!(shelved["shelved"]["reason"], reason);
    shows(c, "#shelve-state", reason).await;
    click(c, "#unshelve-go").await;
    until_alarm(&app, PUMP, "unshelved", |a| a["shelved"].is_null()).await;
    shows(c, "#detail-history", lang.pick("取消搁置", "unshelved")).await;
    let window = lang.pick("更换水泵", "replacing the pump");
    type_in(c, "#suppress-reason", window).await;
    click(c, "#suppress-go").await;
    confirm_dialog(c, window, &format!("duty-console-suppress-{code}-1920")).await;
    until_alarm(&app, PUMP, "suppressed", |a| a["suppressed"] == window).await;
    shows(c, "#suppress-state", window).await;
    let broken = lang.pick("传感器已拆除", "sensor removed");
    type_in(c, "#oos-reason", broken).await;
    click(c, "#oos-go").await;
    confirm_dialog(c, broken, &format!("duty-console-oos-{code}-1920")).await;
    until_alarm(&app, PUMP, "out of service", |a| {
        a["out_of_service"]["reason"] == broken
    })
    .await;
    click(c, "#rts-go").await;
    until_alarm(&app, PUMP, "back in service", |a| {
        a["out_of_service"].is_null()
    })
    .await;
    assert_fits(c, "console at 1920 px").await;
    if lang == Lang::Zh {
        assert_all_chinese(c, "console detail at 1920 px").await;
    }
    c.set_window_size(390, 844).await.expect("phone");
    assert_fits(c, "console detail at 390 px").await;
    shoot(c, &format!("duty-console-detail-{code}-390")).await;
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn the_alarm_console_filters_acknowledges_shelves_and_suppresses_zh() {
    the_console_in(Lang::Zh).await;
}

#[tokio::test]
async fn the_alarm_console_filters_acknowledges_shelves_and_suppresses_en() {
    the_console_in(Lang::En).await;
}

async fn sign_in(c: &Client, app: &TestApp, name: &str, password: &str, lang: Lang) {
    c.goto(&format!("{}/login", app.base))
        .await
        .expect("log-in page");
    let cookie = format!("document.cookie = 'lang={}; path=/';", lang.code());
    c.execute(&cookie, vec![]).await.expect("script runs");
    type_in(c, "#username", name).await;
    type_in(c, "#password", password).await;
    click(c, "#signin").await;
    eventually("signed in", WAIT, || async {
        c.current_url().await.ok().filter(|u| u.path() != "/login")
    })
    .await;
}

async fn api(app: &TestApp, token: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// Waits until the compose form shows the incident's title with the incident as target.
async fn prefilled(c: &Client, title: &str, id: i64) {
    eventually("the compose form, prefilled", WAIT, || async {
        let v = c
            .execute(
                "return [document.getElementById('nt-title').value, document.querySelector('input[name=target]:checked')?.value, document.getElementById('nt-incident').value, document.getElementById('nt-body').value.length > 0];",
                vec![],
            )
            .await
            .ok()?;
        (v == json!([title, "incident", id.to_string(), true])).then_some(())
    })
    .await;
}

async fn the_incident_in(lang: Lang) {
    let app = app().await;
    let (status, body) = import_csv(&app, three_units()).await;
    assert_eq!(status, 200, "{body}");
    let title = lang.pick("1-0301 天花渗水", "Ceiling leak in 1-0301");
    let (status, inc) = app
        .post_json(
            "/api/v1/incidents",
            json!({"category": "water_ingress", "title": title,
                "location": lang.pick("1 栋 3 层", "Building 1, floor 3"),
                "reported_by": "desk-chen", "source": "manual"}),
        )
        .await;
    assert_eq!(status, 201, "{inc}");
    let id = inc["id"].as_i64().expect("incident id");
    for (name, role) in [
        ("zhao", Role::DutyEngineer),
        ("sun", Role::DutyEngineer),
        ("chen", Role::CustomerService),
    ] {
        crate::auth_walk::user(&app, name, role, &format!("{name}-password")).await;
    }
    let admin = crate::auth_walk::token(&app, "auditor", Role::Admin).await;
    let b = browser().await;
    let c = &b.client;
    let code = lang.code();
    c.set_window_size(1920, 1080).await.expect("control room");
    sign_in(c, &app, "zhao", "zhao-password", lang).await;
    c.goto(&format!("{}/incidents/{id}", app.base))
        .await
        .expect("incident page");

    // Dispatch to a person from the staff list; the timeline names them.
    choose(c, r#"form[data-step="dispatch"] select[name="to"]"#, "sun").await;
    click(c, r#"button[data-action="dispatch"]"#).await;
    shows(
        c,
        "div[data-incident-page] .badge.state",
        lang.pick("已派工", "dispatched"),
    )
    .await;
    shows(c, "#timeline", lang.pick("派工给 · sun", "sent · sun")).await;
    shows(
        c,
        "div[data-incident-page]",
        lang.pick("已派给 sun", "Sent: sun"),
    )
    .await;
    // An insured accident resolves only with its report and insurer call: said in words.
    shows(
        c,
        r#"form[data-step="resolve"] .why"#,
        lang.pick(
            "需先完成：事件报告、报保险",
            "first: incident report, insurer told",
        ),
    )
    .await;

    // A household found by its unit and added.
    type_in(c, "#hh-q", "1-0302").await;
    click(c, "#hh-form button").await;
    click(c, r#"button[data-link="1-0302"]"#).await;
    shows(c, r#"#households tr[data-unit="1-0302"]"#, "张伟").await;

    // A photo from the file picker (the camera on a phone).
    let dir = tempfile::tempdir().expect("dir");
    let photo = dir.path().join("leak.png");
    std::fs::write(&photo, PNG).expect("photo");
    let picker = c.find(Locator::Id("photo-file")).await.expect("picker");
    picker
        .send_keys(&photo.display().to_string())
        .await
        .expect("file chosen");
    type_in(c, "#photo-caption", lang.pick("3 层天花", "Ceiling, 3F")).await;
    click(c, "#photo-go").await;
    eventually("the photo shown", WAIT, || async {
        c.find(Locator::Css("div[data-incident-page] ~ .card .thumbs img"))
            .await
            .ok()
    })
    .await;
    let stored = api(&app, &admin, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(stored["attachments"][0]["added_by"], "zhao", "{stored}");
    let dispatched = stored["timeline"]
        .as_array()
        .and_then(|t| t.iter().find(|e| e["kind"]["type"] == "dispatched"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(dispatched["kind"]["to"], "sun", "{dispatched}");
    assert_eq!(dispatched["actor"], "zhao", "{dispatched}");
    if lang == Lang::Zh {
        assert_all_chinese(c, "incident page at 1920 px").await;
    }
    let top = "window.scrollTo(0, 0);";
    c.execute(top, vec![]).await.expect("script runs");
    shoot(c, &format!("duty-console-incident-{code}-1920")).await;
    c.set_window_size(390, 844).await.expect("phone");
    assert_fits(c, "incident page at 390 px").await;
    c.execute(top, vec![]).await.expect("script runs");
    shoot(c, &format!("duty-console-incident-{code}-390")).await;
    c.set_window_size(1920, 1080).await.expect("control room");

    // The households' notice: the compose form arrives with the incident and its title.
    // Customer service issues notices: the duty engineer's form says so; the clerk opens
    // the same link and issues it.
    click(c, "#notify").await;
    prefilled(c, title, id).await;
    shows(
        c,
        "#nt-why",
        lang.pick("通知由客服发出", "Customer service issues notices"),
    )
    .await;
    let compose = c.current_url().await.expect("url").to_string();
    click(c, "#logout").await;
    eventually("signed out", WAIT, || async {
        c.current_url().await.ok().filter(|u| u.path() == "/login")
    })
    .await;
    sign_in(c, &app, "chen", "chen-password", lang).await;
    c.goto(&compose).await.expect("compose form");
    prefilled(c, title, id).await;
    click(c, "#nt-issue").await;
    let notice = eventually("the notice's page", WAIT, || async {
        let url = c.current_url().await.ok()?;
        url.path()
            .strip_prefix("/service/notices/")
            .and_then(|n| n.parse::<i64>().ok())
    })
    .await;
    let n = api(&app, &admin, &format!("/api/v1/notices/{notice}")).await;
    assert_eq!(n["target"]["incident"], id, "{n}");
    let units: Vec<&str> = n["deliveries"]
        .as_array()
        .map(|d| d.iter().filter_map(|x| x["unit"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(units, ["1-0302"], "{n}");
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn an_incident_is_dispatched_to_a_named_person_with_a_household_a_photo_and_a_notice_zh() {
    the_incident_in(Lang::Zh).await;
}

#[tokio::test]
async fn an_incident_is_dispatched_to_a_named_person_with_a_household_a_photo_and_a_notice_en() {
    the_incident_in(Lang::En).await;
}

/// A meter serving unit 1-0301 that never answers: its comm-loss alarm is building 1's.
const HALL_METER: &str = r#"
[[devices]]
id = "hall_meter"
name = "Hall meter"
profile = "eastron_sdm630"
unit = "1-0301"
modbus = { address = "127.0.0.1:1", unit_id = 9, poll_interval = "100ms", timeout = "200ms", comm_loss_after = 2 }
"#;

/// GET `path`: the status, the `X-Total-Count` header and the body.
async fn listing(app: &TestApp, path: &str) -> (u16, Option<String>, Value) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request");
    let total = resp
        .headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        resp.status().as_u16(),
        total,
        resp.json().await.unwrap_or(Value::Null),
    )
}

fn ids(body: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = body
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["id"].as_str()).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    ids
}

/// The API under the console: filters by priority, device, building and text, paged with
/// a total; several alarms acknowledged with one note, all or none; a device suppressed
/// for some minutes on the daemon's clock; one alarm's history; its point's chart.
#[tokio::test]
async fn the_console_api_filters_pages_acknowledges_together_and_suppresses() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Db::Sqlite,
        HALL_METER,
        std::sync::Arc::new(sitewatch::core::clock::SystemClock),
    )
    .await;
    let (status, body) = import_csv(&app, three_units()).await;
    assert_eq!(status, 200, "{body}");
    app.sim().set(4, "zone1_alarm", 1.0);
    app.sim().set(4, "zone2_alarm", 1.0);
    app.sim().set(3, "fault", 1.0);
    for id in [ZONE[0], ZONE[1], PUMP] {
        until_alarm(&app, id, "raised", |a| a["state"] == "unack_active").await;
    }
    let (status, total, body) = listing(&app, "/api/v1/alarms?priority=emergency").await;
    assert_eq!((status, total.as_deref()), (200, Some("2")), "{body}");
    assert_eq!(ids(&body), [ZONE[0], ZONE[1]]);
    let (_, total, body) =
        listing(&app, "/api/v1/alarms?priority=emergency&limit=1&offset=1").await;
    assert_eq!(
        (total.as_deref(), ids(&body).len()),
        (Some("2"), 1),
        "{body}"
    );
    let (_, _, body) = listing(&app, "/api/v1/alarms?device=pump_1").await;
    assert_eq!(ids(&body), [PUMP]);
    let (_, _, body) = listing(&app, "/api/v1/alarms?q=ZONE2").await;
    assert_eq!(ids(&body), [ZONE[1]]);
    eventually("building 1's meter lost", WAIT, || async {
        let (_, _, body) = listing(&app, "/api/v1/alarms?building=1").await;
        (ids(&body) == ["hall_meter:comm"]).then_some(())
    })
    .await;
    let (_, _, body) = listing(&app, "/api/v1/alarms?building=2").await;
    assert_eq!(ids(&body), Vec::<&str>::new());

    // Together, with one note; one that cannot be acknowledged refuses the lot.
    let ack = |alarms: &[&str]| json!({"alarms": alarms, "actor": "duty-li", "note": "都已复核"});
    let (status, events) = app
        .post_json("/api/v1/alarms/acknowledge", ack(&[ZONE[0], PUMP]))
        .await;
    assert_eq!(status, 200, "{events}");
    assert_eq!(events.as_array().map(Vec::len), Some(2), "{events}");
    let (status, body) = app
        .post_json("/api/v1/alarms/acknowledge", ack(&[ZONE[0], ZONE[1]]))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(alarm(&app, ZONE[1]).await["state"], "unack_active");
    let (status, body) = app.post_json("/api/v1/alarms/acknowledge", ack(&[])).await;
    assert_eq!((status, &body["field"]), (422, &json!("alarms")), "{body}");
    let history = app
        .get_json(&format!(
            "/api/v1/alarms/history?latest=10&alarm={}",
            ZONE[0]
        ))
        .await;
    let rows = history.as_array().cloned().unwrap_or_default();
    assert!(rows.iter().all(|r| r["subject"] == ZONE[0]), "{history}");
    let acked = rows
        .iter()
        .find(|r| r["body"]["transition"]["kind"] == "acknowledged")
        .cloned()
        .unwrap_or_default();
    assert_eq!(acked["body"]["note"], "都已复核", "{history}");

    // A device suppressed for half an hour of the daemon's time.
    let window = json!({"scope": {"type": "device", "id": "pump_1"}, "actor": "duty-li",
        "reason": "换泵", "minutes": 30});
    let (status, body) = app.post_json("/api/v1/alarms/suppress", window).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(alarm(&app, PUMP).await["suppressed"], "换泵");
    let endless = json!({"scope": {"type": "site"}, "actor": "duty-li", "reason": "演练"});
    let (status, body) = app.post_json("/api/v1/alarms/suppress", endless).await;
    assert_eq!((status, &body["field"]), (422, &json!("until")), "{body}");

    // The chart of a point's alarm; an alarm that watches no point has none.
    let resp = app
        .client
        .get(format!("{}/api/v1/alarms/{}/chart", app.base, ZONE[0]))
        .send()
        .await
        .expect("chart");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    let svg = resp.text().await.expect("svg");
    assert!(
        svg.starts_with("<svg") && svg.contains("class=\"raised\""),
        "{svg}"
    );
    let (status, _, _) = listing(&app, "/api/v1/alarms/hall_meter:comm/chart").await;
    assert_eq!(status, 404);
}
