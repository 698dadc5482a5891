//! Notices sent to owners through the durable message queue, against real receivers: a
//! local SMTP server (CPython's stdlib `smtpd`, started per test on a free port) and a
//! webhook receiver (axum, in the test) that fails its first requests and then recovers.
//! Nothing is lost across a restart, nothing is sent twice, an incident storm gives one
//! message per contact, and a contact without an address is recorded failed with a reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use sitewatch::core::clock::ManualClock;
use sqlx::Connection;

use crate::customers::{HEAD, import_csv};
use crate::helpers::{Db, TestApp, eventually, free_port, metric, spawn_app_with, start};

const WAIT: Duration = Duration::from_secs(15);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0)
        .single()
        .expect("time")
}

/// What the SMTP server writes per mail: one JSON line with the decoded subject and body.
const SMTP_SERVER: &str = r#"
import asyncore, email, json, smtpd, sys
from email.header import decode_header, make_header
port, out = int(sys.argv[1]), sys.argv[2]
class Server(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kw):
        msg = email.message_from_bytes(data)
        line = {
            "from": mailfrom, "to": rcpttos,
            "subject": str(make_header(decode_header(msg["Subject"]))),
            "body": msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8"),
            "message_id": msg["Message-ID"],
        }
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
Server(("127.0.0.1", port), None, decode_data=False)
print("ready", flush=True)
asyncore.loop()
"#;

/// A real SMTP server on loopback; mails land in `mails()`.
pub struct SmtpServer {
    pub port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("mails.jsonl");
        let port = free_port();
        let child = tokio::process::Command::new("python3")
            .args(["-W", "ignore", "-c", SMTP_SERVER, &port.to_string()])
            .arg(&out)
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs (scripts/test installs it)");
        eventually("the SMTP server listens", WAIT, || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        SmtpServer {
            port,
            out,
            _dir: dir,
            _child: child,
        }
    }

    pub fn mails(&self) -> Vec<Value> {
        read_lines(&self.out)
    }
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A webhook receiver that answers 500 to its first `fail_first` requests, then 200,
/// keeping every accepted request's idempotency key and body.
#[derive(Clone, Default)]
pub struct Hook {
    fail_first: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    accepted: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Hook {
    pub async fn start(fail_first: usize) -> (Hook, String) {
        let hook = Hook::default();
        hook.fail_first.store(fail_first, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/sms", axum::routing::post(receive))
            .with_state(hook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/sms", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (hook, url)
    }

    pub fn accepted(&self) -> Vec<(String, Value)> {
        self.accepted.lock().expect("lock").clone()
    }
}

async fn receive(
    State(hook): State<Hook>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> StatusCode {
    let n = hook.requests.fetch_add(1, Ordering::SeqCst);
    if n < hook.fail_first.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != "Bearer gw-token" {
        return StatusCode::UNAUTHORIZED;
    }
    hook.accepted.lock().expect("lock").push((key, body));
    StatusCode::OK
}

pub fn notify_toml(smtp_port: Option<u16>, hook: Option<&str>, extra: &str) -> String {
    let mut t = String::from("[notify]\n");
    t.push_str(extra);
    if let Some(port) = smtp_port {
        t.push_str(&format!(
            "\n[notify.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"物业服务中心 <service@estate.example.cn>\"\n"
        ));
    }
    if let Some(url) = hook {
        t.push_str(&format!(
            "\n[notify.webhook]\nurl = \"{url}\"\ntoken = \"gw-token\"\ntimeout = \"2s\"\n"
        ));
    }
    t.push_str("\n[notify.retry]\nattempts = 5\nbackoff = \"10s\"\nmax_backoff = \"1m\"\n");
    t
}

fn stoppage(now: DateTime<Utc>, target: Value) -> Value {
    let starts_at = now + chrono::Duration::hours(25);
    json!({
        "level": "important",
        "template": "water_stoppage",
        "starts_at": starts_at,
        "ends_at": starts_at + chrono::Duration::hours(4),
        "expires_at": starts_at + chrono::Duration::hours(5),
        "target": target,
        "created_by": "desk-chen"
    })
}

async fn issue(app: &TestApp, body: Value) -> i64 {
    let (status, n) = app.post_json("/api/v1/notices", body).await;
    assert_eq!(status, 201, "{n}");
    n["id"].as_i64().expect("id")
}

/// Recipients of a notice by `unit/role`.
async fn recipients(app: &TestApp, id: i64) -> BTreeMap<String, Value> {
    let n = app.get_json(&format!("/api/v1/notices/{id}")).await;
    n["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .map(|r| {
            (
                format!(
                    "{}/{}",
                    r["unit"].as_str().unwrap_or(""),
                    r["role"].as_str().unwrap_or("")
                ),
                r.clone(),
            )
        })
        .collect()
}

async fn all_settled(app: &TestApp, id: i64) -> Option<BTreeMap<String, Value>> {
    let r = recipients(app, id).await;
    let open = |s: &Value| s == "queued" || s == "sent";
    (!r.is_empty() && !r.values().any(|m| open(&m["status"]))).then_some(r)
}

#[tokio::test]
async fn an_owner_gets_the_mail_and_one_without_an_address_is_failed_with_the_reason() {
    let smtp = SmtpServer::start().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &notify_toml(Some(smtp.port), None, ""), clock).await;
    let csv = format!(
        "{HEAD}1,3,0303,112,occupied,刘洋,,liu@example.cn,email,,\n\
         1,3,0304,70,occupied,赵六,13800000009,zhao@example.cn,email,,\n\
         1,3,0305,70,occupied,钱七,13800000010,,paper,,\n"
    );
    assert_eq!(import_csv(&app, &csv).await.0, 200);
    // The import refuses an email preference without an address, but a register edited
    // behind it (records carried over from an older system) can still have one.
    let mut conn = sqlx::SqliteConnection::connect(&app.db.url)
        .await
        .expect("connect");
    sqlx::query("update unit_contacts set email = null where unit_id = '1-0304'")
        .execute(&mut conn)
        .await
        .expect("email cleared");
    let id = issue(
        &app,
        stoppage(t0(), json!({"type": "building", "building": "1"})),
    )
    .await;
    let r = eventually("every recipient settled", WAIT, || all_settled(&app, id)).await;
    let liu = &r["1-0303/owner"];
    assert_eq!(liu["status"], "delivered", "{liu}");
    assert_eq!(
        (liu["channel"].as_str(), liu["attempts"].as_i64()),
        (Some("email"), Some(1))
    );
    assert!(liu["delivered_at"].is_string(), "{liu}");
    let zhao = &r["1-0304/owner"];
    assert_eq!(zhao["status"], "failed", "{zhao}");
    assert!(
        zhao["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no email address"),
        "{zhao}"
    );
    assert_eq!(
        zhao["attempts"], 0,
        "nothing was tried for an address that is not there"
    );
    assert_eq!(
        r["1-0305/owner"]["status"], "hand",
        "paper stays for hand delivery"
    );
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["to"], json!(["liu@example.cn"]));
    assert_eq!(mails[0]["subject"], "【重要通告】计划停水通知");
    assert!(
        mails[0]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("暂停供水"),
        "{}",
        mails[0]
    );
    let m = app.metrics().await;
    let series = |outcome: &str| {
        metric(
            &m,
            &format!(r#"sitewatch_notify_messages_total{{channel="email",outcome="{outcome}"}}"#),
        )
    };
    assert_eq!(
        (series("delivered"), series("failed")),
        (Some(1.0), Some(1.0))
    );
    // Confirmation is still recorded by hand per unit.
    let (status, n) = app
        .post_json(
            &format!("/api/v1/notices/{id}/deliveries"),
            json!({"by": "desk-chen", "records": [{"unit": "1-0303", "channel": "sms", "confirmed": true}]}),
        )
        .await;
    assert_eq!(status, 200, "{n}");
    assert!(n["deliveries"][0]["confirmed_at"].is_string(), "{n}");
}

#[tokio::test]
async fn a_failing_webhook_recovers_and_a_restart_loses_and_repeats_nothing_on_sqlite() {
    webhook_recovers_across_a_restart(Db::Sqlite).await;
}

#[tokio::test]
async fn a_failing_webhook_recovers_and_a_restart_loses_and_repeats_nothing_on_postgres() {
    webhook_recovers_across_a_restart(Db::Postgres).await;
}

async fn webhook_recovers_across_a_restart(kind: Db) {
    // Three recipients; the first four requests fail: every one fails once before the
    // restart, and one fails again after it.
    let (hook, url) = Hook::start(4).await;
    let extra = notify_toml(None, Some(&url), "");
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(kind, &extra, clock.clone()).await;
    let csv = format!(
        "{HEAD}1,3,0301,89.5,occupied,王芳,13800000001,,sms,李雷,13900000002\n\
         1,3,0302,89.5,occupied,张伟,13800000003,,wechat,,\n"
    );
    assert_eq!(import_csv(&app, &csv).await.0, 200);
    let id = issue(
        &app,
        stoppage(t0(), json!({"type": "building", "building": "1"})),
    )
    .await;
    let before = eventually("every recipient tried once", WAIT, || async {
        let r = recipients(&app, id).await;
        let tried = r.len() == 3
            && r.values()
                .all(|m| m["status"] == "queued" && m["attempts"] == 1);
        tried.then_some(r)
    })
    .await;
    let reason = before["1-0301/owner"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("500"), "the last error is kept: {reason}");
    assert!(hook.accepted().is_empty());
    let (db, sim) = app.shut_down().await;
    // One message as a crash between handing it over and recording the answer leaves it.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    let in_flight = before["1-0302/owner"]["id"].as_i64().expect("message id");
    sqlx::query(&format!(
        "update notice_messages set status = 'sent' where message_id = {in_flight}"
    ))
    .execute(&mut conn)
    .await
    .expect("left in flight");
    conn.close().await.expect("closed");

    clock.advance(chrono::Duration::seconds(15));
    let app = start(db, sim, &extra, clock.clone()).await;
    let after = eventually("every recipient delivered", WAIT, || async {
        // The clock moves on so the retry after the fourth failure comes due.
        clock.advance(chrono::Duration::seconds(5));
        all_settled(&app, id).await
    })
    .await;
    // Including the one left in flight: queued again at start, not stuck as `sent`.
    for (who, m) in &after {
        assert_eq!(m["status"], "delivered", "{who}: {m}");
    }
    let attempts: Vec<i64> = after
        .values()
        .filter_map(|m| m["attempts"].as_i64())
        .collect();
    assert_eq!(
        attempts.iter().sum::<i64>(),
        7,
        "3 + 1 failures, 3 successes: {attempts:?}"
    );
    let accepted = hook.accepted();
    let mut keys: Vec<&str> = accepted.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(
        (accepted.len(), keys.len()),
        (3, 3),
        "each delivered exactly once: {accepted:?}"
    );
    let phones: Vec<&str> = accepted
        .iter()
        .filter_map(|(_, b)| b["phone"].as_str())
        .collect();
    for phone in ["13800000001", "13900000002", "13800000003"] {
        assert!(phones.contains(&phone), "{phone} in {phones:?}");
    }
    assert_eq!(accepted[0].1["title"], "【重要通告】计划停水通知");
    let prefers: BTreeMap<&str, &str> = accepted
        .iter()
        .filter_map(|(_, b)| Some((b["phone"].as_str()?, b["prefers"].as_str()?)))
        .collect();
    assert_eq!(
        prefers["13800000003"], "wechat",
        "the gateway is told: {prefers:?}"
    );
    // Nothing more is sent later.
    clock.advance(chrono::Duration::hours(1));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hook.accepted().len(), 3);
    let m = app.metrics().await;
    assert_eq!(
        metric(
            &m,
            r#"sitewatch_notify_messages_total{channel="webhook",outcome="delivered"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(&m, r#"sitewatch_notify_queue{channel="webhook"}"#),
        Some(0.0)
    );
}

#[tokio::test]
async fn a_notice_storm_for_one_incident_gives_one_message_per_contact() {
    let (hook, url) = Hook::start(0).await;
    let extra = notify_toml(
        None,
        Some(&url),
        "[notify.rate_limit]\nmessages = 2\nper = \"1h\"\n",
    );
    let clock = Arc::new(ManualClock::new(t0()));
    let app = spawn_app_with(Db::Sqlite, &extra, clock).await;
    let csv = format!(
        "{HEAD}1,3,0301,89.5,occupied,王芳,13800000001,,sms,李雷,13900000002\n\
         1,3,0302,89.5,occupied,张伟,13800000003,,phone,,\n"
    );
    assert_eq!(import_csv(&app, &csv).await.0, 200);
    let (status, incident) = app
        .post_json(
            "/api/v1/incidents",
            json!({"category": "water_ingress", "title": "3楼水管爆裂", "location": "1-3F",
                   "reported_by": "desk-chen", "source": "manual"}),
        )
        .await;
    assert_eq!(status, 201, "{incident}");
    let incident = incident["id"].as_i64().expect("incident id");
    for unit in ["1-0301", "1-0302"] {
        let (status, body) = app
            .post_json(
                &format!("/api/v1/incidents/{incident}/commands"),
                json!({"actor": "desk-chen", "note": "",
                       "action": {"type": "link_household", "unit": unit, "owner": null}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let urgent = |title: &str| {
        json!({"level": "urgent", "title": title, "body": "3楼水管爆裂，正在抢修，请关闭总阀。",
               "expires_at": t0() + chrono::Duration::hours(6),
               "target": {"type": "incident", "incident": incident}, "created_by": "desk-chen"})
    };
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(issue(&app, urgent(&format!("漏水抢修 第{i}报"))).await);
    }
    let first = eventually("the first notice delivered", WAIT, || {
        all_settled(&app, ids[0])
    })
    .await;
    assert_eq!(first.len(), 3);
    assert!(
        first.values().all(|m| m["status"] == "delivered"),
        "{first:?}"
    );
    for id in &ids[1..] {
        let r = recipients(&app, *id).await;
        assert_eq!(r.len(), 3, "every recipient is recorded");
        for m in r.values() {
            assert_eq!(m["status"], "suppressed", "{m}");
            let reason = m["reason"].as_str().unwrap_or_default();
            assert!(reason.contains(&format!("incident {incident}")), "{reason}");
        }
    }
    // The per-contact limit (2 an hour here): one more building notice gets through, the
    // next is held back with the reason.
    let building = json!({"type": "building", "building": "1"});
    let through = issue(&app, stoppage(t0(), building.clone())).await;
    eventually("the building notice delivered", WAIT, || {
        all_settled(&app, through)
    })
    .await;
    let held = issue(&app, stoppage(t0(), building)).await;
    for m in recipients(&app, held).await.values() {
        assert_eq!(m["status"], "suppressed", "{m}");
        assert!(
            m["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("rate limit"),
            "{m}"
        );
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        hook.accepted().len(),
        6,
        "3 contacts × (incident + one building notice)"
    );
    let m = app.metrics().await;
    assert_eq!(
        metric(
            &m,
            r#"sitewatch_notify_messages_total{channel="webhook",outcome="suppressed"}"#
        ),
        Some(15.0),
        "4 × 3 for the storm, 3 for the rate limit"
    );
}

#[tokio::test]
async fn the_notice_itself_goes_out_on_mqtt_and_unconfigured_channels_are_failed_with_the_reason() {
    let extra = format!(
        "[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n\n{}",
        notify_toml(None, None, "")
    );
    let app = spawn_app_with(Db::Sqlite, &extra, Arc::new(ManualClock::new(t0()))).await;
    let (_client, msgs) =
        crate::mqtt_out::subscribe(1883, &format!("sitewatch/{}/notices/#", app.site)).await;
    assert_eq!(
        import_csv(&app, &crate::customers::three_units()).await.0,
        200
    );
    let id = issue(
        &app,
        stoppage(t0(), json!({"type": "building", "building": "1"})),
    )
    .await;
    let topic = format!("sitewatch/{}/notices/{id}", app.site);
    let (_, body, retain) =
        crate::mqtt_out::seen(&msgs, "the notice on MQTT", |(t, _, _)| t == &topic).await;
    assert_eq!(body["title"], "【重要通告】计划停水通知");
    assert_eq!((body["color"].as_str(), retain), (Some("yellow"), false));
    let r = recipients(&app, id).await;
    assert_eq!(
        r.len(),
        4,
        "owner and tenant of 0301, owners of 0302 and 0303: {r:?}"
    );
    let sms = &r["1-0301/tenant"];
    assert_eq!(
        (sms["channel"].as_str(), sms["status"].as_str()),
        (Some("webhook"), Some("failed"))
    );
    assert!(
        sms["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("[notify.webhook]"),
        "{sms}"
    );
    let mail = &r["1-0303/owner"];
    assert!(
        mail["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("[notify.smtp]"),
        "{mail}"
    );
}
