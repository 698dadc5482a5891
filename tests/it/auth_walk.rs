//! The route walk: every route of the routers, called with each role's API token and with
//! none, must answer 401/403 (or the log-in redirect for pages) exactly when the role is
//! not allowed. Keep `ROUTES` in step with `src/http/*.rs` and `http::auth::policy`.

use reqwest::Method;
use sitewatch::access::{Role, Secret, token_hash};

use crate::helpers::{Db, TestApp, spawn_app};

const ANY: &[&str] = &[
    "admin",
    "duty_engineer",
    "guard",
    "customer_service",
    "viewer",
];
const READ: &[&str] = &["admin", "duty_engineer", "customer_service", "viewer"];
const DUTY: &[&str] = &["admin", "duty_engineer"];
const CS: &[&str] = &["admin", "customer_service"];
const DUTY_CS: &[&str] = &["admin", "duty_engineer", "customer_service"];
const PATROL: &[&str] = &["admin", "duty_engineer", "guard"];
const GUARD_PAGE: &[&str] = &["admin", "duty_engineer", "guard", "viewer"];
const GUARD_PAGE_CS: &[&str] = &[
    "admin",
    "duty_engineer",
    "guard",
    "customer_service",
    "viewer",
];
const ADMIN: &[&str] = &["admin"];
/// Open to everyone, signed in or not.
const OPEN: &[&str] = &[];

/// Every route: method, a concrete path, who may call it.
const ROUTES: &[(&str, &str, &[&str])] = &[
    ("GET", "/healthz", OPEN),
    ("GET", "/readyz", OPEN),
    ("GET", "/metrics", OPEN),
    ("GET", "/login", OPEN),
    ("GET", "/", READ),
    ("GET", "/guard", GUARD_PAGE),
    ("GET", "/incidents/999", READ),
    ("GET", "/audit", ADMIN),
    ("GET", "/api/v1/audit", ADMIN),
    ("GET", "/api/v1/openapi.json", ANY),
    ("GET", "/api/v1/devices", READ),
    ("GET", "/api/v1/points", READ),
    ("GET", "/api/v1/points/em_b1.voltage_l1", READ),
    ("GET", "/api/v1/points/em_b1.voltage_l1/readings", READ),
    ("GET", "/api/v1/readings?points=em_b1.voltage_l1", READ),
    ("GET", "/api/v1/events", READ),
    ("GET", "/api/v1/stream", READ),
    ("GET", "/api/v1/alarms", READ),
    ("GET", "/api/v1/alarms/history", READ),
    ("GET", "/api/v1/alarms/nope", READ),
    ("POST", "/api/v1/alarms/commands", DUTY),
    ("POST", "/api/v1/alarms/nope/acknowledge", DUTY),
    ("POST", "/api/v1/alarms/nope/shelve", DUTY),
    ("POST", "/api/v1/alarms/nope/unshelve", DUTY),
    ("GET", "/api/v1/incidents", READ),
    ("POST", "/api/v1/incidents", DUTY_CS),
    ("GET", "/api/v1/incidents/board", READ),
    ("GET", "/api/v1/incidents/999", READ),
    ("POST", "/api/v1/incidents/999/commands", DUTY_CS),
    ("POST", "/api/v1/patrol/scans", PATROL),
    ("GET", "/api/v1/patrol/scans", READ),
    ("POST", "/api/v1/patrol/findings", PATROL),
    ("GET", "/api/v1/patrol/tours", READ),
    ("GET", "/api/v1/patrol/next?guard=tok_guard", GUARD_PAGE),
    ("GET", "/api/v1/patrol/report", READ),
    ("GET", "/api/v1/meter-snapshots?period=2026-11", READ),
    ("GET", "/api/v1/meter-snapshots/periods", READ),
    ("GET", "/api/v1/files/0000", GUARD_PAGE_CS),
    ("GET", "/api/v1/units", READ),
    ("POST", "/api/v1/units/import", CS),
    ("GET", "/api/v1/units/1-0101", READ),
    ("PUT", "/api/v1/units/1-0101/occupancy", CS),
    ("GET", "/api/v1/requests", READ),
    ("POST", "/api/v1/requests", CS),
    ("GET", "/api/v1/requests/999", READ),
    ("POST", "/api/v1/requests/999/commands", CS),
    ("GET", "/api/v1/followups/due", READ),
    ("GET", "/api/v1/inspections/due", READ),
    ("POST", "/api/v1/inspections", DUTY_CS),
    ("POST", "/api/v1/keys/nope/sign-out", DUTY_CS),
    ("POST", "/api/v1/keys/nope/sign-in", DUTY_CS),
    ("GET", "/api/v1/notices", READ),
    ("POST", "/api/v1/notices", CS),
    ("GET", "/api/v1/notices/999", READ),
    ("POST", "/api/v1/notices/999/deliveries", CS),
    ("GET", "/api/v1/notices/999/fire-tests", READ),
    ("POST", "/api/v1/requests/999/incident", DUTY_CS),
    ("GET", "/api/v1/incidents/999/requests", READ),
    ("GET", "/api/v1/kpis", READ),
    ("GET", "/api/v1/handovers", READ),
    ("POST", "/api/v1/handovers", DUTY_CS),
    ("GET", "/api/v1/handovers/999", READ),
    ("POST", "/api/v1/handovers/999/commands", DUTY_CS),
    ("GET", "/api/v1/duty-log", DUTY_CS),
    ("GET", "/api/v1/owners", DUTY_CS),
    ("POST", "/api/v1/duty-log", DUTY_CS),
];

/// A client that does not follow redirects, so a page's log-in redirect is seen.
pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// An API token for `name` with `role`, straight into the store.
pub async fn token(app: &TestApp, name: &str, role: Role) -> String {
    let token = sitewatch::access::new_token().expose().to_owned();
    app.store()
        .await
        .create_token(name, role, &token_hash(&token), chrono::Utc::now())
        .await
        .expect("token stored");
    token
}

/// A user with a password, straight into the store.
pub async fn user(app: &TestApp, name: &str, role: Role, password: &str) {
    let created =
        sitewatch::accounts::create(&app.store().await, name, role, &Secret::new(password))
            .await
            .expect("user stored");
    assert!(created);
}

/// Whether the answer refuses (401, 403, or a redirect to the log-in page).
fn refused(resp: &reqwest::Response) -> bool {
    let s = resp.status().as_u16();
    let to_login = resp
        .headers()
        .get("location")
        .is_some_and(|l| l == "/login");
    s == 401 || s == 403 || to_login
}

async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = raw_client()
        .request(method.clone(), format!("{}{path}", app.base))
        .header("content-type", "application/json");
    if method != Method::GET {
        // Customer service may send incidents only notes and household steps.
        req = req.body(r#"{"note": "", "action": {"type": "add_note"}}"#);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("request")
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_access_table_says() {
    let app = spawn_app(Db::Sqlite).await;
    user(&app, "root", Role::Admin, "root-password").await;
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let name = format!(
            "tok_{}",
            role.as_str().split('_').next().unwrap_or_default()
        );
        tokens.push((role.as_str(), token(&app, &name, role).await));
    }
    let mut wrong = Vec::new();
    for (method, path, allowed) in ROUTES {
        let open = allowed.is_empty();
        let resp = call(&app, method, path, None).await;
        if refused(&resp) == open {
            wrong.push(format!("{method} {path} without auth: {}", resp.status()));
        }
        for (role, token) in &tokens {
            let resp = call(&app, method, path, Some(token)).await;
            let may = open || allowed.contains(role);
            if refused(&resp) == may {
                wrong.push(format!("{method} {path} as {role}: {}", resp.status()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(ANY.len(), Role::ALL.len());
}

#[tokio::test]
async fn a_guard_reads_only_their_own_next_checkpoint() {
    let app = spawn_app(Db::Sqlite).await;
    user(&app, "root", Role::Admin, "root-password").await;
    let t = token(&app, "g7", Role::Guard).await;
    let own = call(&app, "GET", "/api/v1/patrol/next?guard=g7", Some(&t)).await;
    assert_eq!(own.status(), 200);
    let other = call(&app, "GET", "/api/v1/patrol/next?guard=g8", Some(&t)).await;
    assert_eq!(other.status(), 403);
}

#[tokio::test]
async fn customer_service_may_note_an_incident_but_not_dispatch_it() {
    let app = spawn_app(Db::Sqlite).await;
    user(&app, "root", Role::Admin, "root-password").await;
    let t = token(&app, "desk", Role::CustomerService).await;
    let send = |kind: &'static str| {
        raw_client()
            .post(format!("{}/api/v1/incidents/999/commands", app.base))
            .bearer_auth(&t)
            .json(&serde_json::json!({"note": "", "action": {"type": kind}}))
            .send()
    };
    assert_eq!(send("dispatch").await.expect("req").status(), 403);
    // Past the layer: the incident does not exist.
    assert_eq!(send("add_note").await.expect("req").status(), 404);
}
