//! Paging people on call, end to end on the manual clock, against real receivers: the
//! SMS gateway's webhook (failing once, then recovering) and a local SMTP server. The duty
//! engineer is paged and paged again, the shift lead at 5 min, the manager at 15; a link
//! acknowledges from the phone and stops everything queued; an emergency pages every level
//! at once; a rota gap raises its alarm and the page goes up a level; a restart keeps the
//! schedule; a flood gives one summary per person.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use sitewatch::core::clock::ManualClock;

use crate::helpers::{Db, TestApp, eventually, metric, spawn_app_with, start};
use crate::notify::{Hook, SmtpServer, notify_toml};

pub(crate) const WAIT: Duration = Duration::from_secs(15);
pub(crate) const PUMP: &str = "pump_1.fault:discrete";
const FIRE: &str = "fire_panel.zone2_alarm:discrete";

pub(crate) fn t0() -> DateTime<Utc> {
    // 02:14 in Shanghai: the night the pump trips.
    Utc.with_ymd_and_hms(2026, 11, 24, 18, 14, 0)
        .single()
        .expect("time")
}

fn minutes(m: i64) -> chrono::Duration {
    chrono::Duration::minutes(m)
}

/// Receivers and the config that pages through them.
pub(crate) struct Rig {
    pub(crate) smtp: SmtpServer,
    pub(crate) hook: Hook,
    pub(crate) extra: String,
}

/// Wang (duty engineer: SMS, then mail), Li (shift lead: mail), Zhou (manager: mail),
/// each on call all day unless `rota` says otherwise.
pub(crate) async fn rig(fail_first: usize, rota: &str) -> Rig {
    rig_with(
        fail_first,
        rota,
        r#"["sms:+8613800000001", "email:wang@estate.example.cn"]"#,
        "",
    )
    .await
}

/// `rig` with Wang's channels and more `[paging]` keys given.
pub(crate) async fn rig_with(fail_first: usize, rota: &str, wang: &str, paging: &str) -> Rig {
    let smtp = SmtpServer::start().await;
    let (hook, url) = Hook::start(fail_first).await;
    let rota = if rota.is_empty() {
        "[[rota]]\nlevel = \"duty_engineer\"\nuser = \"wang\"\nhours = \"00:00-24:00\"\n\n\
         [[rota]]\nlevel = \"shift_lead\"\nuser = \"li\"\nhours = \"00:00-24:00\"\n\n\
         [[rota]]\nlevel = \"manager\"\nuser = \"zhou\"\nhours = \"00:00-24:00\"\n"
    } else {
        rota
    };
    let extra = format!(
        r#"
[paging]
secret = "test-paging-secret-0123456789abcdef"
link_base = "http://phone.example"
attempts = 3
backoff = "10s"
{paging}

[[people]]
user = "wang"
name = "王工"
channels = {wang}

[[people]]
user = "li"
channels = ["email:li@estate.example.cn"]

[[people]]
user = "zhou"
channels = ["email:zhou@estate.example.cn"]

{rota}
{}"#,
        notify_toml(Some(smtp.port), Some(&url), "")
    );
    Rig { smtp, hook, extra }
}

/// The page records of an alarm, oldest first.
pub(crate) async fn pages(app: &TestApp, alarm: &str) -> Vec<Value> {
    let v = app.get_json(&format!("/api/v1/pages?alarm={alarm}")).await;
    let mut list = v.as_array().cloned().unwrap_or_default();
    list.reverse();
    list
}

/// Waits until the alarm has a page at `level`, step `seq`, in `status`.
pub(crate) async fn page(app: &TestApp, alarm: &str, level: &str, seq: i64, status: &str) -> Value {
    eventually(&format!("{level} page {seq} {status}"), WAIT, || async {
        pages(app, alarm).await.into_iter().find(|p| {
            p["level"] == level && p["seq"].as_i64() == Some(seq) && p["status"] == status
        })
    })
    .await
}

pub(crate) fn mails_to(rig: &Rig, to: &str) -> Vec<Value> {
    rig.smtp
        .mails()
        .into_iter()
        .filter(|m| m["to"].to_string().contains(to))
        .collect()
}

/// The path of the first link in `text`, as served by `app`.
fn link(app: &TestApp, text: &str) -> String {
    let at = text.find("/p/").expect("a link in the page");
    let token: String = text[at + 3..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("{}/p/{token}", app.base)
}

/// Waits until a paging round that began after this call has run and no page is out with
/// a channel: whatever a clock move made due has been handled, so what was not sent will
/// not be. (A round in progress at the call may have read the clock before the move; the
/// one after it has not.)
pub(crate) async fn round_done(app: &TestApp) {
    let rounds = |m: &str| metric(m, "sitewatch_paging_rounds_total").unwrap_or(0.0);
    let from = rounds(&app.metrics().await);
    eventually("a paging round after the move", WAIT, || async {
        let m = app.metrics().await;
        let idle = metric(&m, "sitewatch_paging_in_flight") == Some(0.0);
        (rounds(&m) >= from + 2.0 && idle).then_some(())
    })
    .await;
}

pub(crate) async fn raise_pump(app: &TestApp) {
    app.sim().set(3, "fault", 1.0);
    eventually("pump alarm raised", WAIT, || async {
        let list = app.get_json("/api/v1/alarms").await;
        list.as_array()?.iter().find(|a| a["id"] == PUMP).cloned()
    })
    .await;
}

#[tokio::test]
async fn an_unacknowledged_alarm_pages_the_duty_engineer_repeats_and_climbs_the_chain() {
    let rig = rig(1, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    raise_pump(&app).await;
    // The gateway refuses the first SMS: recorded, retried after the back-off.
    eventually("the failed attempt recorded", WAIT, || async {
        let p = pages(&app, PUMP).await.into_iter().next()?;
        (p["attempts"] == 1 && p["reason"].as_str()?.contains("500")).then_some(())
    })
    .await;
    clock.advance(chrono::Duration::seconds(11));
    let sent = page(&app, PUMP, "duty_engineer", 0, "delivered").await;
    assert_eq!(
        (sent["person"].as_str(), sent["channel"].as_str()),
        (Some("wang"), Some("sms"))
    );
    assert_eq!(sent["attempts"], 2);
    let sms = &rig.hook.accepted()[0].1;
    assert_eq!(sms["phone"], "+8613800000001");
    assert!(
        sms["text"]
            .as_str()
            .unwrap_or("")
            .contains("http://phone.example/p/"),
        "{sms}"
    );
    // Five minutes: the duty engineer again, and the shift lead by mail.
    clock.set(t0() + minutes(5));
    page(&app, PUMP, "duty_engineer", 1, "delivered").await;
    page(&app, PUMP, "shift_lead", 0, "delivered").await;
    eventually("the shift lead's mail", WAIT, || async {
        (!mails_to(&rig, "li@").is_empty()).then_some(())
    })
    .await;
    // Fifteen: the manager.
    clock.set(t0() + minutes(15));
    page(&app, PUMP, "manager", 0, "delivered").await;
    let mail = eventually("the manager's mail", WAIT, || async {
        mails_to(&rig, "zhou@").into_iter().next()
    })
    .await;
    assert!(
        mail["body"].as_str().unwrap_or("").contains("pump_1"),
        "{mail}"
    );
    let m = app.metrics().await;
    assert_eq!(
        metric(
            &m,
            "sitewatch_pages_total{channel=\"sms\",outcome=\"retry\"}"
        ),
        Some(1.0)
    );
    assert!(metric(&m, "sitewatch_paging_escalations_total{level=\"manager\"}") >= Some(1.0));
    assert_eq!(
        metric(&m, "sitewatch_oncall_people{level=\"shift_lead\"}"),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_link_acknowledges_at_minute_seven_and_nothing_more_goes_out() {
    let rig = rig(0, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    raise_pump(&app).await;
    page(&app, PUMP, "duty_engineer", 0, "delivered").await;
    clock.set(t0() + minutes(5));
    page(&app, PUMP, "shift_lead", 0, "delivered").await;
    let mail = eventually("the shift lead's mail", WAIT, || async {
        mails_to(&rig, "li@").into_iter().next()
    })
    .await;
    clock.set(t0() + minutes(7));
    let url = link(&app, mail["body"].as_str().unwrap_or(""));
    let form = app.client.get(&url).send().await.expect("get");
    assert_eq!(form.status(), 200);
    let html = form.text().await.expect("html");
    assert!(
        html.contains("Acknowledge") && html.contains("I'm on it"),
        "{html}"
    );
    let done = app
        .client
        .post(&url)
        .form(&[("action", "acknowledge")])
        .send()
        .await
        .expect("post");
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .expect("html")
            .contains("已确认 Acknowledged")
    );
    let alarm = app.get_json(&format!("/api/v1/alarms/{PUMP}")).await;
    assert_eq!(
        (alarm["state"].as_str(), alarm["acked_by"].as_str()),
        (Some("ack_active"), Some("li"))
    );
    // Every queued page of the alarm is cancelled by that acknowledgement.
    let cancelled = eventually("queued pages cancelled", WAIT, || async {
        let all = pages(&app, PUMP).await;
        let c: Vec<Value> = all
            .into_iter()
            .filter(|p| p["status"] == "cancelled")
            .collect();
        (c.len() >= 2).then_some(c)
    })
    .await;
    assert!(
        cancelled
            .iter()
            .all(|p| p["cancelled_by"] == "acknowledged by li"),
        "{cancelled:?}"
    );
    let (sms, mails) = (rig.hook.accepted().len(), rig.smtp.mails().len());
    clock.set(t0() + minutes(20));
    round_done(&app).await;
    assert_eq!(
        (rig.hook.accepted().len(), rig.smtp.mails().len()),
        (sms, mails)
    );
    assert!(
        pages(&app, PUMP)
            .await
            .iter()
            .all(|p| p["status"] != "queued")
    );
    assert!(
        pages(&app, PUMP)
            .await
            .iter()
            .all(|p| p["level"] != "manager")
    );
    // The link acts once; a forged one and an expired one act never.
    let again = app
        .client
        .post(&url)
        .form(&[("action", "own")])
        .send()
        .await
        .expect("post");
    assert_eq!(again.status(), 409);
    assert!(
        again
            .text()
            .await
            .expect("html")
            .contains("链接已使用 This link has been used")
    );
    let mut forged = url.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    assert_eq!(
        app.client.get(&forged).send().await.expect("get").status(),
        403
    );
    let wang = link(
        &app,
        rig.hook.accepted()[0].1["text"].as_str().unwrap_or(""),
    );
    clock.set(t0() + minutes(200));
    let old = app.client.get(&wang).send().await.expect("get");
    assert_eq!(old.status(), 410);
    assert!(
        old.text()
            .await
            .expect("html")
            .contains("链接已过期 This link has expired")
    );
    let m = app.metrics().await;
    assert!(
        metric(&m, "sitewatch_alarm_ack_seconds_count{priority=\"high\"}") >= Some(1.0),
        "{m}"
    );
}

#[tokio::test]
async fn an_emergency_pages_every_level_at_once() {
    let rig = rig(0, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    app.sim().set(4, "zone2_alarm", 1.0);
    for level in ["duty_engineer", "shift_lead", "manager"] {
        let p = page(&app, FIRE, level, 0, "delivered").await;
        assert_eq!(p["priority"], "emergency");
    }
    for to in ["li@", "zhou@"] {
        eventually("every level's mail", WAIT, || async {
            (!mails_to(&rig, to).is_empty()).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn a_rota_gap_raises_its_alarm_and_the_page_goes_up_a_level() {
    // Nobody is on call as duty engineer at night (02:14 site time).
    let rota = "[[rota]]\nlevel = \"duty_engineer\"\nuser = \"wang\"\nshift = \"day\"\n\n\
                [[rota]]\nlevel = \"shift_lead\"\nuser = \"li\"\nhours = \"00:00-24:00\"\n\n\
                [[rota]]\nlevel = \"manager\"\nuser = \"zhou\"\nhours = \"00:00-24:00\"\n";
    let rig = rig(0, rota).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    eventually("the rota gap's alarm", WAIT, || async {
        let list = app.get_json("/api/v1/alarms").await;
        list.as_array()?
            .iter()
            .find(|a| a["id"] == "oncall.duty_engineer_uncovered:nobody")
            .cloned()
    })
    .await;
    let oncall = app.get_json("/api/v1/oncall").await;
    let duty = &oncall["levels"][0];
    assert_eq!(
        (duty["level"].as_str(), duty["now"].as_array().map(Vec::len)),
        (Some("duty_engineer"), Some(0))
    );
    assert_eq!(duty["next"][0], "wang", "{oncall}");
    raise_pump(&app).await;
    let failed = page(&app, PUMP, "duty_engineer", 0, "failed").await;
    assert_eq!(
        failed["reason"],
        "nobody on call at duty_engineer; passed to shift_lead"
    );
    // The gap's own alarm went up to the shift lead first, so this page may join the shift
    // lead's summary (flood control); either way it is theirs.
    let up = eventually("the page passed to the shift lead", WAIT, || async {
        pages(&app, PUMP).await.into_iter().find(|p| {
            p["level"] == "shift_lead"
                && ["delivered", "summarised"].contains(&p["status"].as_str().unwrap_or(""))
        })
    })
    .await;
    assert_eq!(up["person"], "li");
    eventually("the shift lead told by mail", WAIT, || async {
        (!mails_to(&rig, "li@").is_empty()).then_some(())
    })
    .await;
    let m = app.metrics().await;
    assert_eq!(
        metric(&m, "sitewatch_oncall_people{level=\"duty_engineer\"}"),
        Some(0.0)
    );
}

#[tokio::test]
async fn a_restart_at_minute_four_keeps_the_five_minute_step_and_sends_nothing_twice() {
    let rig = rig(0, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Postgres, &rig.extra, clock.clone()).await;
    raise_pump(&app).await;
    page(&app, PUMP, "duty_engineer", 0, "delivered").await;
    clock.set(t0() + minutes(4));
    round_done(&app).await;
    let (db, sim) = app.shut_down().await;
    let app = start(db, sim, &rig.extra, clock.clone()).await;
    round_done(&app).await;
    assert_eq!(rig.hook.accepted().len(), 1, "nothing sent again at start");
    clock.set(t0() + minutes(5));
    page(&app, PUMP, "shift_lead", 0, "delivered").await;
    page(&app, PUMP, "duty_engineer", 1, "delivered").await;
    round_done(&app).await;
    let keys: Vec<String> = rig.hook.accepted().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys.len(), 2, "step 0 and its repeat, once each: {keys:?}");
    assert_ne!(keys[0], keys[1]);
    assert_eq!(mails_to(&rig, "li@").len(), 1);
    let all = pages(&app, PUMP).await;
    let steps: Vec<(String, i64)> = all
        .iter()
        .filter(|p| p["status"] == "delivered")
        .map(|p| {
            (
                p["level"].as_str().unwrap_or("").to_owned(),
                p["seq"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
}

#[tokio::test]
async fn a_phone_opens_the_link_at_390_px_and_acknowledges() {
    use fantoccini::Locator;
    let rig = rig(0, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    raise_pump(&app).await;
    page(&app, PUMP, "duty_engineer", 0, "delivered").await;
    let url = link(
        &app,
        rig.hook.accepted()[0].1["text"].as_str().unwrap_or(""),
    );
    let b = crate::browser::browser().await;
    let c = &b.client;
    c.set_window_size(390, 844).await.expect("window size");
    c.goto(&url).await.expect("page loads");
    let card = crate::browser::text_of(c, "#alarm")
        .await
        .expect("the alarm card");
    assert!(card.contains("pump_1") && card.contains("wang"), "{card}");
    let width = c
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .expect("width");
    assert!(
        width.as_u64() <= Some(390),
        "no sideways scrolling at 390 px: {width}"
    );
    crate::browser::shoot(c, "paging-link-390").await;
    c.find(Locator::Css(r#"button[value="acknowledge"]"#))
        .await
        .expect("the button")
        .click()
        .await
        .expect("click");
    let done = eventually("acknowledged", WAIT, || async {
        crate::browser::text_of(c, "#done").await
    })
    .await;
    assert!(done.contains("Acknowledged"), "{done}");
    crate::browser::shoot(c, "paging-link-acknowledged-390").await;
    let alarm = app.get_json(&format!("/api/v1/alarms/{PUMP}")).await;
    assert_eq!(
        (alarm["state"].as_str(), alarm["acked_by"].as_str()),
        (Some("ack_active"), Some("wang"))
    );
    // The console names who is on call and shows the page, cancelled or delivered.
    c.set_window_size(1920, 1000).await.expect("window size");
    c.goto(&format!("{}/#alarms", app.base))
        .await
        .expect("console loads");
    let line = eventually("the on-call line", WAIT, || async {
        crate::browser::text_of(c, "#oncall")
            .await
            .filter(|t| t.contains("wang"))
    })
    .await;
    assert!(line.contains("li") && line.contains("zhou"), "{line}");
    let record = eventually("the pages in the record", WAIT, || async {
        crate::browser::text_of(c, "#pages")
            .await
            .filter(|t| t.contains("delivered"))
    })
    .await;
    assert!(
        record.contains("cancelled acknowledged by wang"),
        "{record}"
    );
    crate::browser::shoot(c, "paging-console-oncall").await;
    b.client.clone().close().await.ok();
}

/// Publishes `1` on each topic at QoS 1 and waits for every PubAck.
async fn publish_all(topics: &[String]) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut o = MqttOptions::new(format!("flood-{}", std::process::id()), "127.0.0.1", 1883);
    o.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(o, topics.len() + 8);
    for t in topics {
        client
            .publish(t, QoS::AtLeastOnce, false, "1")
            .await
            .expect("queued");
    }
    let mut acked = 0;
    tokio::time::timeout(WAIT, async {
        while acked < topics.len() {
            if let Ok(Event::Incoming(Packet::PubAck(_))) = events.poll().await {
                acked += 1;
            }
        }
    })
    .await
    .expect("every publish acknowledged");
    let _ = client.try_disconnect();
}

#[tokio::test]
async fn a_flood_of_200_alarms_gives_one_summary_per_person_per_interval() {
    let rig = rig(0, "").await;
    let prefix = format!(
        "flood/{}/{}",
        std::process::id(),
        t0().timestamp_subsec_nanos()
    );
    let mut extra = format!("{}\n[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n", rig.extra);
    let topics: Vec<String> = (0..200).map(|i| format!("{prefix}/f{i}")).collect();
    for (i, topic) in topics.iter().enumerate() {
        extra.push_str(&format!(
            "\n[[devices]]\nid = \"f{i}\"\nname = \"Flood {i}\"\nprofile = \"mqtt_plain_value\"\n\
             mqtt = {{ topic = \"{topic}\" }}\n\n[[alarm_rules]]\npoint = \"f{i}.value\"\n\
             kind = \"high\"\nlimit = 0.5\npriority = \"high\"\n"
        ));
    }
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &extra, clock.clone()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    publish_all(&topics).await;
    // The first page's delivery is stored by the round after it went out, so wait for
    // the round that settles it before counting.
    eventually("199 pages in the duty engineer's summary", WAIT, || async {
        let all = app.get_json("/api/v1/pages?limit=1000").await;
        let held = all
            .as_array()?
            .iter()
            .filter(|p| p["status"] == "summarised" && p["level"] == "duty_engineer")
            .count();
        (held == 199).then_some(())
    })
    .await;
    round_done(&app).await;
    let all = app.get_json("/api/v1/pages?limit=1000").await;
    let sent: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "delivered")
        .collect();
    assert_eq!(sent.len(), 1, "one page before the summary: {sent:?}");
    assert_eq!(rig.hook.accepted().len(), 1);
    clock.set(t0() + minutes(5));
    let summary = eventually("the duty engineer's summary", WAIT, || async {
        rig.hook
            .accepted()
            .into_iter()
            .map(|(_, body)| body["text"].as_str().unwrap_or("").to_owned())
            .find(|t| t.contains("200 alarms"))
    })
    .await;
    assert!(
        summary.contains("200 条告警") && summary.contains("0 emergency"),
        "{summary}"
    );
    // The shift lead joins at five minutes: one page, the rest into their summary.
    eventually("the shift lead's pages settled", WAIT * 4, || async {
        let all = app.get_json("/api/v1/pages?limit=2000").await;
        let all = all.as_array()?;
        let lead = all
            .iter()
            .filter(|p| p["level"] == "shift_lead" && p["status"] != "queued")
            .count();
        eprintln!(
            "lead pages settled {lead}, queued {}",
            all.iter().filter(|p| p["status"] == "queued").count()
        );
        (lead == 200).then_some(())
    })
    .await;
    round_done(&app).await;
    assert_eq!(
        rig.hook.accepted().len(),
        2,
        "wang: one page and one summary"
    );
    assert_eq!(mails_to(&rig, "li@").len(), 1, "li: one page so far");
    clock.set(t0() + minutes(10));
    eventually("the next interval's summaries", WAIT, || async {
        let mails = mails_to(&rig, "li@");
        (rig.hook.accepted().len() == 3 && mails.len() == 2).then_some(())
    })
    .await;
    round_done(&app).await;
    assert_eq!(
        (rig.hook.accepted().len(), mails_to(&rig, "li@").len()),
        (3, 2)
    );
}

#[tokio::test]
async fn an_emergency_incident_opened_by_hand_pages_every_level_until_dispatched() {
    let rig = rig(0, "").await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &rig.extra, clock.clone()).await;
    let new = serde_json::json!({"category": "water_ingress", "title": "B2 水浸", "location": "B2",
        "reported_by": "desk-chen", "occurred_at": null, "source": "manual"});
    let (status, body) = app.post_json("/api/v1/incidents", new).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    let name = format!("incident:{id}");
    for level in ["duty_engineer", "shift_lead", "manager"] {
        let p = page(&app, &name, level, 0, "delivered").await;
        assert_eq!(p["priority"], "emergency");
    }
    let listed = app.get_json(&format!("/api/v1/pages?incident={id}")).await;
    assert!(
        listed.as_array().is_some_and(|l| l.len() >= 3),
        "shown with the incident: {listed}"
    );
    crate::incident_page::command(
        &app,
        id,
        serde_json::json!({"type": "dispatch"}),
        "on the way",
    )
    .await;
    let cancelled = eventually("the repeats cancelled", WAIT, || async {
        let all = pages(&app, &name).await;
        let c: Vec<Value> = all
            .into_iter()
            .filter(|p| p["status"] == "cancelled")
            .collect();
        (c.len() == 3).then_some(c)
    })
    .await;
    assert!(
        cancelled
            .iter()
            .all(|p| p["cancelled_by"] == "acknowledged by duty-li"),
        "{cancelled:?}"
    );
    let sent = rig.hook.accepted().len();
    clock.set(t0() + minutes(10));
    round_done(&app).await;
    assert_eq!(rig.hook.accepted().len(), sent);
}
