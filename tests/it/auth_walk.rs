//! The route walk: every route of the routers, called with each role's API token and with
//! none, must answer 401/403 (or the log-in redirect for pages) exactly when the role is
//! not allowed. Keep `ROUTES` in step with `src/http/*.rs` and `http::auth::policy`.
//! Then the answers themselves: on every route a viewer may read, no owner's or tenant's
//! name, phone or e-mail carries a value, while customer service sees them.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
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
    ("GET", "/api/v1/points/em_b1.voltage_l1/chart", READ),
    ("GET", "/api/v1/readings?points=em_b1.voltage_l1", READ),
    ("GET", "/api/v1/events", READ),
    ("GET", "/api/v1/stream", READ),
    ("GET", "/api/v1/alarms", READ),
    ("GET", "/api/v1/alarms/history", READ),
    ("GET", "/api/v1/alarms/suppressions", READ),
    ("POST", "/api/v1/alarms/unsuppress", DUTY),
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
    ("GET", "/plan", READ),
    ("GET", "/api/v1/plans", ANY),
    ("GET", "/api/v1/plans/placeable", ANY),
    ("GET", "/api/v1/plans/1/B1", ANY),
    ("PUT", "/api/v1/plans/1/B1", ADMIN),
    ("PUT", "/api/v1/plans/1/B1/markers", ADMIN),
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

/// Owners' and tenants' names, phones and e-mail addresses as the register, a request, an
/// incident's household and a notice's recipients hold them.
const PERSONAL: &[&str] = &[
    "王芳",
    "13800000001",
    "李雷",
    "13900000002",
    "张伟",
    "13800000003",
    "刘洋",
    "liu@example.cn",
    "赵敏",
];

/// Fields that carry personal data wherever they appear; lists of people, whose items'
/// `name` and `address` (phone or e-mail used) are personal too.
const PERSONAL_FIELDS: &[&str] = &["phone", "email", "owner"];
const PEOPLE_LISTS: &[&str] = &["contacts", "recipients"];
const PEOPLE_FIELDS: &[&str] = &["name", "address"];

/// Every personal-data field in `v` that carries a value, by its JSON path.
fn personal_fields(v: &Value, path: &str, people: bool, found: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let here = format!("{path}/{k}");
                let of_person = people && PEOPLE_FIELDS.contains(&k.as_str());
                if (PERSONAL_FIELDS.contains(&k.as_str()) || of_person) && has_value(child) {
                    found.push(format!("{here} = {child}"));
                }
                personal_fields(child, &here, PEOPLE_LISTS.contains(&k.as_str()), found);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                personal_fields(item, &format!("{path}/{i}"), people, found);
            }
        }
        _ => {}
    }
}

fn has_value(v: &Value) -> bool {
    !(v.is_null() || v.as_str() == Some(""))
}

/// A daemon holding personal data in every record that can carry it: the register (three
/// units), a repair request naming its owner, an incident with a household linked by
/// owner, and a notice to every unit with its recipients. Ids of the request, incident
/// and notice.
async fn with_personal_data() -> (TestApp, [i64; 3]) {
    let clock = std::sync::Arc::new(sitewatch::core::clock::SystemClock);
    let app = crate::helpers::spawn_app_with(Db::Sqlite, "[notify]\n", clock).await;
    let incident = crate::incident_page::water_ingress(&app).await;
    let (status, request) = app
        .post_json(
            "/api/v1/requests",
            json!({"kind": {"type": "repair", "emergency": false}, "channel": "phone",
                "unit": "1-0301", "owner": "赵敏", "summary": "卫生间漏水",
                "received_by": "desk-chen", "incident": incident}),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    let expires = chrono::Utc::now() + chrono::Duration::days(1);
    let (status, notice) = app
        .post_json(
            "/api/v1/notices",
            json!({"level": "notice", "title": "停水 Water off", "body": "明天 Tomorrow",
                "expires_at": expires, "target": {"type": "all"}, "created_by": "desk-chen"}),
        )
        .await;
    assert_eq!(status, 201, "{notice}");
    let recipients = notice["recipients"].as_array().map_or(0, Vec::len);
    assert!(recipients > 0, "the notice has recipients: {notice}");
    let id = |v: &Value| v["id"].as_i64().expect("id");
    (app, [id(&request), incident, id(&notice)])
}

/// Every GET a viewer may make, with real records' ids, and the filters that pick them.
fn viewer_reads([request, incident, notice]: [i64; 3]) -> Vec<String> {
    let viewer_may =
        |(m, _, allowed): &&(&str, &str, &[&str])| *m == "GET" && allowed.contains(&"viewer");
    let mut paths: Vec<String> = ROUTES
        .iter()
        .filter(viewer_may)
        .map(|(_, path, _)| {
            path.replace("/requests/999", &format!("/requests/{request}"))
                .replace("/incidents/999", &format!("/incidents/{incident}"))
                .replace("/notices/999", &format!("/notices/{notice}"))
                .replace("/units/1-0101", "/units/1-0301")
        })
        .collect();
    paths.push(format!("/api/v1/notices?incident={incident}"));
    paths.push("/api/v1/requests?state=received".into());
    paths
}

/// The body of GET `path` as `token` sees it; the live stream is read for a moment from
/// its start (`Last-Event-ID: 0` replays what it keeps).
async fn read_as(app: &TestApp, path: &str, token: &str) -> (u16, String) {
    let mut resp = raw_client()
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("last-event-id", "0")
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    if !path.ends_with("/stream") {
        return (status, resp.text().await.expect("body"));
    }
    let mut text = String::new();
    let read = async {
        while let Ok(Some(chunk)) = resp.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(500), read).await;
    (status, text)
}

/// What in one answer gives personal data away: a known value anywhere in the text, or a
/// personal-data field with a value.
fn leaks(path: &str, body: &str) -> Vec<String> {
    let mut found: Vec<String> = PERSONAL
        .iter()
        .filter(|p| body.contains(**p))
        .map(|p| format!("{path}: `{p}` in the answer"))
        .collect();
    // The OpenAPI document names the fields; it holds no one's data.
    if path.ends_with("openapi.json") {
        return found;
    }
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let mut fields = Vec::new();
        personal_fields(&v, "", false, &mut fields);
        found.extend(fields.into_iter().map(|f| format!("{path}: {f}")));
    }
    found
}

#[tokio::test]
async fn a_viewer_sees_no_personal_data_on_any_route_and_the_desk_does() {
    let (app, ids) = with_personal_data().await;
    user(&app, "root", Role::Admin, "root-password").await;
    let viewer = token(&app, "tok_viewer", Role::Viewer).await;
    let desk = token(&app, "tok_desk", Role::CustomerService).await;
    let mut found = Vec::new();
    for path in viewer_reads(ids) {
        let (status, body) = read_as(&app, &path, &viewer).await;
        // Placeholder ids (`/alarms/nope`, `/files/0000`) answer 404; nothing is refused.
        assert!(
            status < 300 || status == 404,
            "GET {path} as viewer: {status} {body}"
        );
        found.extend(leaks(&path, &body));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The desk, which /owners admits, sees them on the same routes.
    let [request, incident, notice] = ids;
    for (path, value) in [
        ("/api/v1/units".to_owned(), "13900000002"),
        ("/api/v1/units/1-0303".to_owned(), "liu@example.cn"),
        (format!("/api/v1/requests/{request}"), "赵敏"),
        (format!("/api/v1/incidents/{incident}"), "王芳"),
        (format!("/api/v1/notices/{notice}"), "13800000003"),
    ] {
        let (status, body) = read_as(&app, &path, &desk).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains(value), "{path} as customer service: {body}");
    }
}
