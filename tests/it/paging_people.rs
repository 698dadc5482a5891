//! Paging as each person has it: their own order of channels (set through the API, stored
//! across a restart), a chat robot that keeps failing and the page then going to their
//! next channel, and an SMS reply through the gateway acknowledging the alarm.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::{Value, json};
use sitewatch::access::Role;
use sitewatch::core::clock::ManualClock;

use crate::auth_walk::{raw_client, token};
use crate::helpers::{Db, TestApp, eventually, metric, spawn_app_with, start};
use crate::paging::{PUMP, WAIT, mails_to, page, pages, raise_pump, rig, rig_with, round_done, t0};

/// A request with a bearer token.
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = raw_client()
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn channels(v: &Value) -> Vec<String> {
    v["channels"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|c| c["channel"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

const MINE: &str = "/api/v1/oncall/me/channels";

#[tokio::test]
async fn a_person_sets_their_own_order_of_channels_and_it_outlasts_a_restart() {
    let rig = rig(0, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    let wang = token(&app, "wang", Role::DutyEngineer).await;
    let (status, got) = call(&app, reqwest::Method::GET, MINE, &wang, None).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(channels(&got), ["sms", "email"]);
    assert_eq!(got["own"], false);
    // Bad orders: a channel not theirs, one named twice, a misspelt key. Nothing stored.
    for (body, field) in [
        (json!({"order": ["wechat"]}), "order"),
        (json!({"order": ["email", "email"]}), "order"),
        (json!({"orders": ["email"]}), "body"),
    ] {
        let (status, err) = call(&app, reqwest::Method::PUT, MINE, &wang, Some(body)).await;
        assert_eq!((status, err["field"].as_str()), (422, Some(field)), "{err}");
    }
    let (_, err) = call(
        &app,
        reqwest::Method::PUT,
        MINE,
        &wang,
        Some(json!({"order": ["wechat"]})),
    )
    .await;
    assert_eq!(err["code"], "invalid");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or("")
            .contains("not one of your channels (sms, email)"),
        "{err}"
    );
    // Someone who is not one of [[people]] has no channels to order.
    let guest = token(&app, "guest", Role::Viewer).await;
    let (status, _) = call(&app, reqwest::Method::GET, MINE, &guest, None).await;
    assert_eq!(status, 404);
    let (status, got) = call(
        &app,
        reqwest::Method::PUT,
        MINE,
        &wang,
        Some(json!({"order": ["email"]})),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (channels(&got), &got["own"]),
        (vec!["email".into(), "sms".into()], &json!(true))
    );
    // Stored: a restart keeps it, and the page goes by mail first.
    let (db, sim) = app.shut_down().await;
    let app = start(db, sim, &rig.extra, clock.clone()).await;
    let (_, got) = call(&app, reqwest::Method::GET, MINE, &wang, None).await;
    assert_eq!(channels(&got), ["email", "sms"]);
    raise_pump(&app).await;
    let sent = page(&app, PUMP, "duty_engineer", 0, "delivered").await;
    assert_eq!(sent["channel"], "email");
    eventually("wang's mail", WAIT, || async {
        (!mails_to(&rig, "wang@").is_empty()).then_some(())
    })
    .await;
    round_done(&app).await;
    assert!(rig.hook.accepted().is_empty(), "no SMS: mail comes first");
}

/// A chat robot's webhook as WeChat Work and DingTalk run it: 200 with `errcode` 0 for a
/// text message (`{"msgtype": "text", "text": {"content": "…"}}`), errcode 40008 for any
/// other body; or, when `down`, 503 to everything.
#[derive(Clone, Default)]
struct Robot {
    down: bool,
    hits: Arc<AtomicUsize>,
    accepted: Arc<Mutex<Vec<Value>>>,
}

impl Robot {
    async fn start(down: bool) -> (Robot, String) {
        let robot = Robot {
            down,
            ..Robot::default()
        };
        let app = axum::Router::new()
            .route("/robot/send", axum::routing::post(robot_receive))
            .with_state(robot.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/robot/send?access_token=k",
            listener.local_addr().expect("addr")
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (robot, url)
    }

    fn accepted(&self) -> Vec<Value> {
        self.accepted.lock().expect("lock").clone()
    }
}

async fn robot_receive(
    axum::extract::State(robot): axum::extract::State<Robot>,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    robot.hits.fetch_add(1, Ordering::SeqCst);
    if robot.down {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"errcode": -1, "errmsg": "system busy"})),
        );
    }
    let text = body["msgtype"] == "text" && body["text"]["content"].is_string();
    if !text {
        let refusal = json!({"errcode": 40008, "errmsg": "invalid message type"});
        return (StatusCode::OK, axum::Json(refusal));
    }
    robot.accepted.lock().expect("lock").push(body);
    (
        StatusCode::OK,
        axum::Json(json!({"errcode": 0, "errmsg": "ok"})),
    )
}

/// Waits until the alarm's first page has made `n` attempts.
async fn attempts(app: &TestApp, n: i64) -> Value {
    eventually(&format!("{n} attempts"), WAIT, || async {
        pages(app, PUMP)
            .await
            .into_iter()
            .next()
            .filter(|p| p["attempts"].as_i64() == Some(n) && p["status"] != "sending")
    })
    .await
}

#[tokio::test]
async fn a_robot_that_keeps_failing_is_retried_with_back_off_then_the_next_channel_delivers() {
    let (wechat, down) = Robot::start(true).await;
    let (dingtalk, up) = Robot::start(false).await;
    let wang = format!(r#"["wechat:{down}", "dingtalk:{up}"]"#);
    let rig = rig_with(0, "", &wang, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    raise_pump(&app).await;
    // Three attempts on WeChat Work, 10 s then 20 s apart (attempts = 3, backoff = 10s).
    let first = attempts(&app, 1).await;
    assert_eq!(
        (first["status"].as_str(), first["channel"].as_str()),
        (Some("queued"), Some("wechat"))
    );
    assert!(
        first["reason"]
            .as_str()
            .unwrap_or("")
            .contains("wechat: robot answered 503"),
        "{first}"
    );
    clock.advance(chrono::Duration::seconds(9));
    round_done(&app).await;
    assert_eq!(
        wechat.hits.load(Ordering::SeqCst),
        1,
        "not before the back-off"
    );
    clock.advance(chrono::Duration::seconds(2));
    attempts(&app, 2).await;
    clock.advance(chrono::Duration::seconds(19));
    round_done(&app).await;
    assert_eq!(
        wechat.hits.load(Ordering::SeqCst),
        2,
        "the back-off doubled"
    );
    clock.advance(chrono::Duration::seconds(2));
    let sent = page(&app, PUMP, "duty_engineer", 0, "delivered").await;
    assert_eq!(wechat.hits.load(Ordering::SeqCst), 3);
    assert_eq!(
        (sent["channel"].as_str(), sent["attempts"].as_i64()),
        (Some("dingtalk"), Some(4))
    );
    assert_eq!(
        sent["address"],
        up.split('/').nth(2).unwrap_or(""),
        "the host only"
    );
    assert!(
        sent["reason"]
            .as_str()
            .unwrap_or("")
            .contains("wechat: robot answered 503 Service Unavailable; next channel"),
        "the failure that sent it on stays in the record: {sent}"
    );
    let got = dingtalk.accepted();
    assert_eq!(got.len(), 1);
    let text = got[0]["text"]["content"].as_str().unwrap_or("");
    assert!(
        text.contains("pump_1") && text.contains("http://phone.example/p/"),
        "{text}"
    );
    let m = app.metrics().await;
    for (series, want) in [
        (
            "sitewatch_pages_total{channel=\"wechat\",outcome=\"retry\"}",
            3.0,
        ),
        (
            "sitewatch_pages_total{channel=\"dingtalk\",outcome=\"delivered\"}",
            1.0,
        ),
    ] {
        assert_eq!(metric(&m, series), Some(want), "{series}");
    }
}

const REPLIES: &str = "/api/v1/paging/sms-replies";
const GATEWAY_SECRET: &str = "gateway-replies-0123456789";

async fn reply(app: &TestApp, secret: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = raw_client()
        .post(format!("{}{REPLIES}", app.base))
        .json(&body);
    if let Some(s) = secret {
        req = req.bearer_auth(s);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_sms_reply_of_1_acknowledges_the_alarm_of_the_latest_page_to_that_number() {
    let rig = rig_with(
        0,
        "",
        r#"["sms:+86 138 0000 0001", "email:wang@estate.example.cn"]"#,
        &format!("reply_secret = \"{GATEWAY_SECRET}\""),
    )
    .await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    // Before any page: the number has none.
    let one = json!({"phone": "+8613800000001", "text": "1"});
    let (status, err) = reply(&app, Some(GATEWAY_SECRET), one.clone()).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (404, Some("not_found")),
        "{err}"
    );
    raise_pump(&app).await;
    let sent = page(&app, PUMP, "duty_engineer", 0, "delivered").await;
    // Refused, and nothing acknowledged: no secret, a wrong one, a reply that is not 1 or
    // 2, a number no page went to.
    let refusals = [
        (None, one.clone(), 401),
        (Some("guess-guess-guess-guess"), one.clone(), 401),
        (
            Some(GATEWAY_SECRET),
            json!({"phone": "+8613800000001", "text": "ok"}),
            422,
        ),
        (
            Some(GATEWAY_SECRET),
            json!({"phone": "+8613900000009", "text": "1"}),
            404,
        ),
    ];
    for (secret, body, want) in refusals {
        let (status, err) = reply(&app, secret, body.clone()).await;
        assert_eq!(status, want, "{body}: {err}");
        assert!(err["message"].is_string(), "the error body: {err}");
    }
    let alarm = app.get_json(&format!("/api/v1/alarms/{PUMP}")).await;
    assert_eq!(alarm["state"], "unack_active");
    // The gateway passes the number as the phone sent it, written its own way.
    let (status, done) = reply(
        &app,
        Some(GATEWAY_SECRET),
        json!({"phone": "+86-138-0000-0001", "text": " 1\n"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (
            done["page_id"].clone(),
            done["person"].as_str(),
            done["action"].as_str()
        ),
        (sent["id"].clone(), Some("wang"), Some("acknowledge"))
    );
    let alarm = app.get_json(&format!("/api/v1/alarms/{PUMP}")).await;
    assert_eq!(
        (alarm["state"].as_str(), alarm["acked_by"].as_str()),
        (Some("ack_active"), Some("wang"))
    );
    eventually("the repeat cancelled by the reply", WAIT, || async {
        pages(&app, PUMP)
            .await
            .into_iter()
            .find(|p| p["status"] == "cancelled" && p["cancelled_by"] == "acknowledged by wang")
    })
    .await;
    // A second reply finds the alarm acknowledged already.
    let (status, _) = reply(&app, Some(GATEWAY_SECRET), one).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn sms_replies_are_off_without_a_reply_secret() {
    let rig = rig(0, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    let (status, err) = reply(
        &app,
        Some("anything-anything"),
        json!({"phone": "+8613800000001", "text": "2"}),
    )
    .await;
    assert_eq!(status, 404, "{err}");
}

#[tokio::test]
async fn a_signed_in_engineer_moves_mail_above_sms_on_the_duty_desk_at_390_px() {
    use fantoccini::Locator;
    let rig = rig(0, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    crate::auth_walk::user(&app, "wang", Role::DutyEngineer, "wang-password").await;
    let b = crate::browser::browser().await;
    let c = &b.client;
    c.set_window_size(390, 844).await.expect("window size");
    c.goto(&format!("{}/login", app.base))
        .await
        .expect("log-in page");
    for (css, text) in [("#username", "wang"), ("#password", "wang-password")] {
        c.find(Locator::Css(css))
            .await
            .expect("field")
            .send_keys(text)
            .await
            .expect("typed");
    }
    c.find(Locator::Css("#signin"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    eventually("signed in", WAIT, || async {
        c.current_url().await.ok().filter(|u| u.path() != "/login")
    })
    .await;
    c.goto(&format!("{}/#alarms", app.base))
        .await
        .expect("desk");
    let before = eventually("my channels on the desk", WAIT, || async {
        crate::browser::text_of(c, "#my-channels summary").await
    })
    .await;
    assert!(before.contains("我的寻呼渠道"), "{before}");
    c.find(Locator::Css("#my-channels summary"))
        .await
        .expect("summary")
        .click()
        .await
        .expect("open");
    crate::browser::shoot(c, "paging-my-channels-390").await;
    c.find(Locator::Css(r#"#my-channels button[data-up="1"]"#))
        .await
        .expect("the ↑ of the second channel")
        .click()
        .await
        .expect("click");
    let list = eventually("mail first, my order", WAIT, || async {
        crate::browser::text_of(c, "#my-channels")
            .await
            .filter(|t| t.contains("我的顺序"))
    })
    .await;
    let (mail, sms) = (list.find("邮件"), list.find("短信"));
    assert!(mail.is_some() && mail < sms, "{list}");
    let width = c
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .expect("width");
    assert!(
        width.as_u64() <= Some(390),
        "no sideways scrolling: {width}"
    );
    crate::browser::shoot(c, "paging-my-channels-moved-390").await;
    let store = app.store().await;
    let orders = store.channel_orders().await.expect("orders");
    assert_eq!(
        orders.get("wang").map(Vec::as_slice),
        Some(&["email".to_owned(), "sms".to_owned()][..])
    );
    b.client.clone().close().await.ok();
}

#[tokio::test]
async fn a_restart_keeps_the_persons_flood_interval_so_the_next_page_joins_the_summary() {
    let rig = rig(0, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    raise_pump(&app).await;
    let first = page(&app, PUMP, "duty_engineer", 0, "delivered").await;
    let (status, body) = app
        .post_json(
            &format!("/api/v1/alarms/{PUMP}/acknowledge"),
            json!({"actor": "wang"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.sim().set(3, "fault", 0.0);
    eventually("the pump back to normal", WAIT, || async {
        let list = app.get_json("/api/v1/alarms").await;
        (!list.as_array()?.iter().any(|a| a["id"] == PUMP)).then_some(())
    })
    .await;
    clock.set(t0() + chrono::Duration::minutes(1));
    let (db, sim) = app.shut_down().await;
    let app = start(db, sim, &rig.extra, clock.clone()).await;
    // Raised again inside wang's five-minute interval: the rule says summary, not a page,
    // and the restart has not made wang's interval new.
    app.sim().set(3, "fault", 1.0);
    let second = eventually("the second raise's page settled", WAIT, || async {
        pages(&app, PUMP).await.into_iter().find(|p| {
            p["level"] == "duty_engineer"
                && p["seq"] == 0
                && !["queued", "sending", "cancelled"].contains(&p["status"].as_str().unwrap_or(""))
                && p["raised_at"] != first["raised_at"]
        })
    })
    .await;
    assert_eq!(second["status"], "summarised", "{second}");
    round_done(&app).await;
    assert_eq!(
        rig.hook.accepted().len(),
        1,
        "one SMS so far: the first page"
    );
    clock.set(t0() + chrono::Duration::minutes(5));
    let summary = eventually("wang's summary", WAIT, || async {
        rig.hook
            .accepted()
            .get(1)
            .map(|(_, b)| b["text"].as_str().unwrap_or("").to_owned())
    })
    .await;
    assert!(summary.contains("1 alarms"), "{summary}");
}
