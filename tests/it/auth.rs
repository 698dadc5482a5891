//! Signing in and what it guards: open until the first user exists, log-in and log-out
//! with a session cookie, CSRF on cookie-borne changes, the log-in rate limit, revoked
//! tokens, the audit trail of an acknowledge (SQLite and PostgreSQL), and `serve`
//! refusing a non-loopback address while no user exists.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sitewatch::access::Role;

use crate::auth_walk::{raw_client, token, user};

use crate::helpers::{
    Db, TestApp, eventually, fresh_db, metric, spawn_app, spawn_app_on, test_config, test_plant,
};

const WAIT: Duration = Duration::from_secs(10);

/// A signed-in browser: the session cookie and the page's CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

pub async fn login(app: &TestApp, name: &str, password: &str) -> reqwest::Response {
    raw_client()
        .post(format!("{}/login", app.base))
        .form(&[("username", name), ("password", password)])
        .send()
        .await
        .expect("request")
}

pub async fn sign_in(app: &TestApp, name: &str, password: &str) -> Session {
    let resp = login(app, name, password).await;
    assert_eq!(resp.status(), 303);
    let set = resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().expect("cookie").to_owned();
    let page = raw_client()
        .get(format!("{}/", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let csrf = page
        .split(r#"<meta name="csrf-token" content=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf meta")
        .to_owned();
    assert_eq!(csrf.len(), 64);
    Session { cookie, csrf }
}

pub async fn get(app: &TestApp, path: &str, s: &Session) -> reqwest::StatusCode {
    raw_client()
        .get(format!("{}{path}", app.base))
        .header("cookie", &s.cookie)
        .send()
        .await
        .expect("request")
        .status()
}

async fn post(app: &TestApp, path: &str, s: &Session, csrf: bool, body: Value) -> (u16, Value) {
    let mut req = raw_client()
        .post(format!("{}{path}", app.base))
        .header("cookie", &s.cookie)
        .json(&body);
    if csrf {
        req = req.header("x-csrf-token", &s.csrf);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_daemon_is_open_until_the_first_user_exists() {
    let app = spawn_app(Db::Sqlite).await;
    // A token alone does not close it: people must be able to sign in first.
    token(&app, "meter-gateway", Role::Viewer).await;
    let open = raw_client()
        .get(format!("{}/api/v1/alarms", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(open.status(), 200);
    assert_eq!(
        app.get_json("/api/v1/devices")
            .await
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    user(&app, "li", Role::DutyEngineer, "li-password").await;
    let closed = raw_client()
        .get(format!("{}/api/v1/alarms", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(closed.status(), 401);
    let body: Value = closed.json().await.expect("json");
    assert_eq!(body["code"], "unauthorized");
    let page = raw_client()
        .get(format!("{}/", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login");
    for open in ["/healthz", "/metrics", "/login"] {
        let r = raw_client()
            .get(format!("{}{open}", app.base))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 200, "{open}");
    }
}

#[tokio::test]
async fn a_session_needs_csrf_for_changes_and_ends_at_logout() {
    let app = spawn_app(Db::Sqlite).await;
    user(&app, "li", Role::DutyEngineer, "li-password").await;
    assert_eq!(login(&app, "li", "wrong-password").await.status(), 401);
    let s = sign_in(&app, "li", "li-password").await;
    assert_eq!(get(&app, "/api/v1/alarms", &s).await, 200);
    let ack = "/api/v1/alarms/nope/acknowledge";
    let (status, body) = post(&app, ack, &s, false, json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden");
    // With the token it passes the layer (and the alarm is unknown).
    assert_eq!(post(&app, ack, &s, true, json!({})).await.0, 404);
    let out = raw_client()
        .post(format!("{}/logout", app.base))
        .header("cookie", &s.cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 303);
    assert_eq!(get(&app, "/api/v1/alarms", &s).await, 401);
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_and_counted() {
    let app = spawn_app(Db::Sqlite).await;
    user(&app, "li", Role::DutyEngineer, "li-password").await;
    for _ in 0..5 {
        assert_eq!(login(&app, "li", "guess").await.status(), 401);
    }
    // Even the right password waits now.
    assert_eq!(login(&app, "li", "li-password").await.status(), 429);
    let m = app.metrics().await;
    let failures = r#"sitewatch_login_failures_total{reason="bad_credentials"}"#;
    assert_eq!(metric(&m, failures), Some(5.0));
    let limited = r#"sitewatch_login_failures_total{reason="rate_limited"}"#;
    assert_eq!(metric(&m, limited), Some(1.0));
}

/// A form log-in as if through a proxy that says the client is `forwarded`.
async fn login_via(app: &TestApp, name: &str, password: &str, forwarded: &str) -> u16 {
    raw_client()
        .post(format!("{}/login", app.base))
        .header("x-forwarded-for", forwarded)
        .form(&[("username", name), ("password", password)])
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn failures_for_one_user_do_not_lock_another_out_of_the_same_address() {
    let app = spawn_app(Db::Sqlite).await;
    user(&app, "li", Role::DutyEngineer, "li-password").await;
    for _ in 0..5 {
        assert_eq!(login(&app, "ghost", "guess").await.status(), 401);
    }
    assert_eq!(login(&app, "ghost", "guess").await.status(), 429);
    assert_eq!(login(&app, "li", "li-password").await.status(), 303);
    // Without trusted proxies a forwarded address is not believed: the peer is the client.
    for _ in 0..5 {
        assert_eq!(login_via(&app, "li", "guess", "203.0.113.9").await, 401);
    }
    assert_eq!(
        login_via(&app, "li", "li-password", "203.0.113.10").await,
        429
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_limit() {
    let db = fresh_db(Db::Sqlite).await;
    let sim = test_plant(&db.url).await;
    let mut config = test_config(&sim.addr().to_string(), &db.url);
    config.http.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let app = spawn_app_on(db, sim, config).await;
    user(&app, "li", Role::DutyEngineer, "li-password").await;
    for _ in 0..5 {
        assert_eq!(login_via(&app, "li", "guess", "203.0.113.9").await, 401);
    }
    assert_eq!(
        login_via(&app, "li", "li-password", "203.0.113.9").await,
        429
    );
    assert_eq!(
        login_via(&app, "li", "li-password", "203.0.113.10").await,
        303
    );
    let filter = sitewatch::store::AuditFilter {
        action: Some("login".into()),
        limit: 10,
        ..Default::default()
    };
    let rows = app.store().await.audit(&filter).await.expect("audit");
    let login = rows
        .iter()
        .find(|r| r.action == "login")
        .expect("the log-in");
    assert_eq!(
        login.ip, "203.0.113.10",
        "the audit names the client, not the proxy"
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let app = spawn_app(Db::Sqlite).await;
    user(&app, "root", Role::Admin, "root-password").await;
    let t = token(&app, "bms", Role::Viewer).await;
    let call = || {
        raw_client()
            .get(format!("{}/api/v1/points", app.base))
            .bearer_auth(&t)
            .send()
    };
    assert_eq!(call().await.expect("req").status(), 200);
    let n = app
        .store()
        .await
        .revoke_token("bms", chrono::Utc::now())
        .await
        .expect("revoke");
    assert_eq!(n, 1);
    assert_eq!(call().await.expect("req").status(), 401);
}

async fn acknowledge_is_audited_with_the_signed_in_user(db: Db) {
    let app = spawn_app(db).await;
    user(&app, "li", Role::DutyEngineer, "li-password").await;
    let admin = token(&app, "auditor", Role::Admin).await;
    let s = sign_in(&app, "li", "li-password").await;
    app.sim().set(3, "fault", 1.0);
    let id = "pump_1.fault:discrete";
    eventually("pump alarm raised", WAIT, || async {
        let r = raw_client()
            .get(format!("{}/api/v1/alarms/{id}", app.base))
            .bearer_auth(&admin)
            .send()
            .await
            .ok()?;
        let a: Value = r.json().await.ok()?;
        (a["state"] == "unack_active").then_some(())
    })
    .await;
    // The body's actor is replaced by the signed-in user.
    let path = format!("/api/v1/alarms/{id}/acknowledge");
    let (status, body) = post(&app, &path, &s, true, json!({"actor": "someone-else"})).await;
    assert_eq!(status, 200, "{body}");
    let rows: Value = raw_client()
        .get(format!(
            "{}/api/v1/audit?actor=li&action=acknowledge",
            app.base
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    let row = &rows[0];
    assert_eq!(
        row["action"], "POST /api/v1/alarms/{id}/acknowledge",
        "{rows}"
    );
    assert_eq!(row["target"], id);
    assert_eq!(row["status"], 200);
    assert_eq!(row["before"]["state"], "unack_active");
    assert_eq!(row["after"]["actor"], "li");
    assert_eq!(row["ip"], "127.0.0.1");
    let filter = sitewatch::store::AuditFilter {
        action: Some("login".into()),
        limit: 10,
        ..Default::default()
    };
    let logins = app.store().await.audit(&filter).await.expect("audit");
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].actor, "li");
}

#[tokio::test]
async fn acknowledge_is_audited_with_the_signed_in_user_on_sqlite() {
    acknowledge_is_audited_with_the_signed_in_user(Db::Sqlite).await;
}

#[tokio::test]
async fn acknowledge_is_audited_with_the_signed_in_user_on_postgres() {
    acknowledge_is_audited_with_the_signed_in_user(Db::Postgres).await;
}

fn sitewatch(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sitewatch"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("SITEWATCH_HTTP_LISTEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("binary ends")
}

#[test]
fn serve_refuses_a_public_address_without_users_and_the_cli_manages_accounts() {
    let dir = tempfile::tempdir().expect("dir");
    let site = dir.path().join("site.toml");
    let db = dir.path().join("site.db");
    std::fs::write(
        &site,
        format!(
            "[site]\nid = \"s\"\nname = \"S\"\n\n[http]\nlisten = \"0.0.0.0:0\"\n\n[database]\nurl = \"sqlite://{}\"\n",
            db.display()
        ),
    )
    .expect("write");
    let cfg = site.to_str().expect("utf-8 path");
    let out = sitewatch(&["serve", "--config", cfg], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0: no user exists yet"),
        "{err}"
    );
    let add = [
        "user",
        "add",
        "li",
        "--role",
        "admin",
        "--password-stdin",
        "--config",
        cfg,
    ];
    let out = sitewatch(&add, "a-long-password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = sitewatch(&add, "a-long-password\n");
    assert!(!again.status.success());
    let list = sitewatch(&["user", "list", "--config", cfg], "");
    assert_eq!(String::from_utf8_lossy(&list.stdout), "li\tadmin\n");
    let create = [
        "token", "create", "bms", "--role", "viewer", "--config", cfg,
    ];
    let out = sitewatch(&create, "");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(token.len(), 64, "{token}");
    let out = sitewatch(&["token", "revoke", "bms", "--config", cfg], "");
    assert!(out.status.success());
    let out = sitewatch(&["token", "revoke", "bms", "--config", cfg], "");
    assert!(!out.status.success(), "nothing left to revoke");
}
