//! Site plans (issue 20): an admin uploads a floor's image and places a device, a patrol
//! checkpoint and a unit on it; other roles read it but cannot change it; an unknown id,
//! a place off the image or a PDF as the image is refused with the error body and
//! nothing kept. Each marker answers its live state: a raised fire alarm (emergency,
//! unacknowledged, with its id), a device that stops answering (comm lost), ok. On both
//! SQLite and PostgreSQL. Then the page in headless Chromium, zh-CN and English: the
//! admin uploads and places, a raised alarm turns the marker red without a reload, a tap
//! shows it and opens the alarm in the console; 390 px fits with 44 px markers.
//! Screenshots in `target/screenshots/`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use sitewatch::access::Role;

use crate::auth_walk::{raw_client, token, user};
use crate::browser::{WAIT, browser, shoot, text_of};
use crate::customers::{import_csv, three_units};
use crate::helpers::{Db, TestApp, eventually, spawn_app_with};
use crate::service_desk::{Lang, assert_all_chinese, assert_fits};

const FIRE: &str = "fire_panel.zone3_alarm:discrete";
/// The demo's drawing of a basement: a real PNG of 1200x800.
const PLAN_PNG: &[u8] = include_bytes!("../../examples/demo/plan-1-B1.png");

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = raw_client()
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn upload(app: &TestApp, token: &str, content_type: &str, body: &[u8]) -> String {
    let resp = raw_client()
        .post(format!("{}/api/v1/files", app.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.expect("json");
    body["id"].as_str().expect("file id").to_owned()
}

fn marker<'a>(plan: &'a Value, key: &str) -> &'a Value {
    plan["markers"]
        .as_array()
        .and_then(|ms| {
            ms.iter().find(|m| {
                format!(
                    "{}:{}",
                    m["kind"].as_str().unwrap_or(""),
                    m["id"].as_str().unwrap_or("")
                ) == key
            })
        })
        .unwrap_or_else(|| panic!("no marker {key} in {plan}"))
}

async fn plans_are_placed_by_an_admin_and_checked(db: Db) {
    let app = spawn_app_with(db, crate::patrol::PATROL, crate::patrol::clock()).await;
    let (status, body) = import_csv(&app, three_units()).await;
    assert_eq!(status, 200, "{body}");
    // A user turns sign-in on; the roles then call with their API tokens.
    user(&app, "root", Role::Admin, "root-password").await;
    let admin = token(&app, "root-api", Role::Admin).await;
    let duty = token(&app, "duty-li", Role::DutyEngineer).await;
    let guard = token(&app, "guard-wang", Role::Guard).await;
    let image = upload(&app, &admin, "image/png", PLAN_PNG).await;

    // Only an admin sets the image; a PDF is no plan.
    let put = Some(json!({"image": image}));
    let (status, _) = call(&app, "PUT", "/api/v1/plans/T1/B1", &duty, put.clone()).await;
    assert_eq!(status, 403);
    let pdf = upload(&app, &admin, "application/pdf", b"%PDF-1.4 plan").await;
    let (status, err) = call(
        &app,
        "PUT",
        "/api/v1/plans/T1/B1",
        &admin,
        Some(json!({"image": pdf})),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (422, Some("invalid"), Some("image")),
        "{err}"
    );
    let (status, plan) = call(&app, "PUT", "/api/v1/plans/T1/B1", &admin, put).await;
    assert_eq!(status, 200, "{plan}");

    // An unknown device, a place off the image: refused, the plan keeps no markers.
    let bad = json!({"markers": [{"kind": "device", "id": "pump_9", "x": 0.5, "y": 0.5}]});
    let (status, err) = call(
        &app,
        "PUT",
        "/api/v1/plans/T1/B1/markers",
        &admin,
        Some(bad),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (422, Some("invalid"), Some("markers")),
        "{err}"
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap_or("")
            .contains("no device `pump_9`"),
        "{err}"
    );
    let off = json!({"markers": [{"kind": "device", "id": "pump_1", "x": 1.5, "y": 0.5}]});
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/plans/T1/B1/markers",
        &admin,
        Some(off),
    )
    .await;
    assert_eq!(status, 422);
    let unit = json!({"markers": [{"kind": "unit", "id": "9-9999", "x": 0.5, "y": 0.5}]});
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/plans/T1/B1/markers",
        &admin,
        Some(unit),
    )
    .await;
    assert_eq!(status, 422);

    let good = json!({"markers": [
        {"kind": "device", "id": "fire_panel", "x": 0.25, "y": 0.5},
        {"kind": "device", "id": "pump_1", "x": 0.75, "y": 0.5},
        {"kind": "checkpoint", "id": "b1_lobby", "x": 0.1, "y": 0.9},
        {"kind": "unit", "id": "1-0301", "x": 0.5, "y": 0.2},
    ]});
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/plans/T1/B1/markers",
        &guard,
        Some(good.clone()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, plan) = call(
        &app,
        "PUT",
        "/api/v1/plans/T1/B1/markers",
        &admin,
        Some(good),
    )
    .await;
    assert_eq!(status, 200, "{plan}");

    // Every role reads it: names from the config and the register, all ok so far.
    let (status, plan) = call(&app, "GET", "/api/v1/plans/T1/B1", &guard, None).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["image"], image.as_str());
    let cp = marker(&plan, "checkpoint:b1_lobby");
    assert_eq!(
        (cp["name"].as_str(), cp["x"].as_f64()),
        (Some("B1 lobby"), Some(0.1))
    );
    assert_eq!(marker(&plan, "device:fire_panel")["name"], "Fire panel");
    assert_eq!(marker(&plan, "unit:1-0301")["state"], "ok");
    let (_, list) = call(&app, "GET", "/api/v1/plans", &guard, None).await;
    assert_eq!(
        (list[0]["building"].as_str(), list[0]["markers"].as_u64()),
        (Some("T1"), Some(4)),
        "{list}"
    );

    // Live state: the fire alarm on its device; the drive stops answering.
    app.sim().set(4, "zone3_alarm", 1.0);
    app.sim().set_delay(3, Duration::from_secs(5));
    let plan = eventually(
        "the plan shows the alarm and the comm loss",
        WAIT,
        || async {
            let (_, plan) = call(&app, "GET", "/api/v1/plans/T1/B1", &duty, None).await;
            let fire = marker(&plan, "device:fire_panel");
            let pump = marker(&plan, "device:pump_1");
            (fire["state"] == "alarm" && pump["state"] == "comm_lost").then_some(plan)
        },
    )
    .await;
    let fire = marker(&plan, "device:fire_panel");
    assert_eq!(
        (
            fire["priority"].as_str(),
            fire["unacknowledged"].as_bool(),
            fire["alarm"].as_str()
        ),
        (Some("emergency"), Some(true), Some(FIRE)),
        "{fire}"
    );
    assert_eq!(marker(&plan, "device:pump_1")["alarm"], "pump_1:comm");
    app.sim().set_delay(3, Duration::ZERO);
}

#[tokio::test]
async fn plans_are_placed_by_an_admin_checked_and_live_on_sqlite() {
    plans_are_placed_by_an_admin_and_checked(Db::Sqlite).await;
}

#[tokio::test]
async fn plans_are_placed_by_an_admin_checked_and_live_on_postgres() {
    plans_are_placed_by_an_admin_and_checked(Db::Postgres).await;
}

// ---- the page ----------------------------------------------------------------------------

async fn click(c: &Client, css: &str) {
    let el = eventually(&format!("{css} shown"), WAIT, || async {
        let el = c.find(Locator::Css(css)).await.ok()?;
        el.is_displayed().await.ok()?.then_some(el)
    })
    .await;
    el.click().await.expect("click");
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect("script runs")
}

async fn sign_in(c: &Client, app: &TestApp, lang: Lang) {
    c.goto(&format!("{}/login", app.base))
        .await
        .expect("log-in page");
    js(
        c,
        &format!("document.cookie = 'lang={}; path=/';", lang.code()),
    )
    .await;
    c.find(Locator::Css("#username"))
        .await
        .expect("name")
        .send_keys("root")
        .await
        .expect("type");
    c.find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys("root-password")
        .await
        .expect("type");
    click(c, "#signin").await;
    eventually("signed in", WAIT, || async {
        c.current_url().await.ok().filter(|u| u.path() != "/login")
    })
    .await;
}

/// The class list of the marker `key` once it holds `class`.
async fn marker_has(c: &Client, key: &str, class: &str) -> String {
    let css = format!(r#"#plan-markers .marker[data-key="{key}"]"#);
    eventually(&format!("{key} is {class}"), WAIT, || async {
        let el = c.find(Locator::Css(&css)).await.ok()?;
        let classes = el.attr("class").await.ok()??;
        classes.split(' ').any(|x| x == class).then_some(classes)
    })
    .await
}

async fn the_plan_page_in(lang: Lang) {
    let app = crate::service_desk::app().await;
    user(&app, "root", Role::Admin, "root-password").await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("basement.png");
    std::fs::write(&file, PLAN_PNG).expect("png written");
    let b = browser().await;
    let c = &b.client;
    c.set_window_size(1920, 1080).await.expect("control room");
    sign_in(c, &app, lang).await;
    c.goto(&format!("{}/plan", app.base))
        .await
        .expect("plan page");

    // The admin uploads the basement's plan.
    click(c, "#plan-new summary").await;
    c.find(Locator::Css("#up-building"))
        .await
        .expect("building")
        .send_keys("1")
        .await
        .expect("type");
    c.find(Locator::Css("#up-floor"))
        .await
        .expect("floor")
        .send_keys("B1")
        .await
        .expect("type");
    let path = file.to_str().expect("utf-8 path");
    c.find(Locator::Css("#up-file"))
        .await
        .expect("file field")
        .send_keys(path)
        .await
        .expect("file chosen");
    click(c, "#up-go").await;
    eventually("the image shown", WAIT, || async {
        let v = js(
            c,
            "const i = document.getElementById('plan-img'); return i.complete && i.naturalWidth;",
        )
        .await;
        (v.as_u64() == Some(1200)).then_some(())
    })
    .await;

    // …and places the fire panel where they tap, then saves.
    click(c, "#plan-edit").await;
    // The choice fills once the placeable things are read.
    eventually("the fire panel offered", WAIT, || async {
        let pick = js(c, "const s = document.getElementById('place-id'); s.value = 'fire_panel'; return s.value;").await;
        (pick == "fire_panel").then_some(())
    })
    .await;
    click(c, "#plan-img").await;
    click(c, "#plan-save").await;
    let api = token(&app, "checker", Role::Viewer).await;
    let plan = eventually("the marker kept", WAIT, || async {
        let (_, plan) = call(&app, "GET", "/api/v1/plans/1/B1", &api, None).await;
        (plan["markers"].as_array()?.len() == 1).then_some(plan)
    })
    .await;
    let placed = marker(&plan, "device:fire_panel");
    assert!(
        (placed["x"].as_f64().unwrap_or(0.0) - 0.5).abs() < 0.02,
        "{placed}"
    );
    marker_has(c, "device:fire_panel", "st-ok").await;
    shoot(c, &format!("plan-placed-{}-1920", lang.code())).await;

    // A raised fire alarm turns the marker red in place: the same page, the same image.
    js(c, "window.noReload = document.getElementById('plan-img');").await;
    app.sim().set(4, "zone3_alarm", 1.0);
    let classes = marker_has(c, "device:fire_panel", "st-alarm").await;
    assert!(
        classes.contains("p-emergency") && classes.contains("unack"),
        "{classes}"
    );
    let same = js(
        c,
        "return window.noReload === document.getElementById('plan-img');",
    )
    .await;
    assert_eq!(
        same, true,
        "the page was not reloaded and the image not redrawn"
    );
    let colour = js(c, r#"return getComputedStyle(document.querySelector('.marker[data-key="device:fire_panel"] .marker-dot')).backgroundColor;"#).await;
    assert_eq!(colour, "rgb(153, 27, 27)", "an emergency is dark red");

    // A tap shows the name and the state; its link opens the alarm in the console.
    click(c, r#".marker[data-key="device:fire_panel"]"#).await;
    let state = eventually("the marker's state", WAIT, || async {
        text_of(c, "#detail-state").await
    })
    .await;
    assert!(
        state.contains(lang.pick("紧急告警", "emergency alarm")),
        "{state}"
    );
    assert_eq!(
        text_of(c, "#detail-name").await.as_deref(),
        Some("Fire panel")
    );
    if lang == Lang::Zh {
        assert_all_chinese(c, "the plan").await;
    }
    shoot(c, &format!("plan-alarm-{}-1920", lang.code())).await;

    // 390 px: the plan scales, nothing scrolls sideways, the marker is a 44 px target.
    c.set_window_size(390, 844).await.expect("phone");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_fits(c, "/plan").await;
    let size = js(c, r#"const r = document.querySelector('.marker[data-key="device:fire_panel"]').getBoundingClientRect(); return [r.width, r.height, document.getElementById('plan-img').getBoundingClientRect().width];"#).await;
    assert!(
        size[0].as_f64() >= Some(44.0) && size[1].as_f64() >= Some(44.0),
        "{size}"
    );
    assert!(size[2].as_f64() <= Some(390.0), "{size}");
    shoot(c, &format!("plan-alarm-{}-390", lang.code())).await;

    click(c, "#open-alarm").await;
    eventually("the alarm's detail in the console", WAIT, || async {
        let url = c.current_url().await.ok()?;
        let title = text_of(c, "#detail-title").await?;
        (url.query().is_some_and(|q| q.contains("alarm=")) && !title.is_empty()).then_some(())
    })
    .await;
    let hidden = js(c, "return document.getElementById('alarm-detail').hidden;").await;
    assert_eq!(hidden, false);
    shoot(c, &format!("plan-opened-alarm-{}-390", lang.code())).await;
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn an_admin_places_a_device_and_its_alarm_shows_live_on_the_plan_zh() {
    the_plan_page_in(Lang::Zh).await;
}

#[tokio::test]
async fn an_admin_places_a_device_and_its_alarm_shows_live_on_the_plan_en() {
    the_plan_page_in(Lang::En).await;
}
