//! The OpenAPI document and the paging convention, against a running daemon: every route of
//! the access table under `/api/v1` is documented with its method and nothing else is; the
//! document is OpenAPI 3.1 whose references all resolve; paging walks a list without
//! losing or repeating an item; a bad `limit` is refused the same way on every list.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::customers::{HEAD, import_csv};
use crate::helpers::{Db, TestApp, metric, spawn_app, spawn_app_with};
use crate::patrol::{PATROL, clock};

/// Every list under `/api/v1`, as a concrete path with the query it needs.
const LISTS: &[&str] = &[
    "/api/v1/devices",
    "/api/v1/points",
    "/api/v1/points/em_b1.voltage_l1/readings",
    "/api/v1/events",
    "/api/v1/alarms",
    "/api/v1/alarms/history",
    "/api/v1/incidents",
    "/api/v1/incidents/board",
    "/api/v1/patrol/scans",
    "/api/v1/patrol/tours",
    "/api/v1/units",
    "/api/v1/requests",
    "/api/v1/followups/due",
    "/api/v1/inspections/due",
    "/api/v1/notices",
    "/api/v1/meter-snapshots?period=2026-11",
    "/api/v1/meter-snapshots/periods",
    "/api/v1/audit",
];

async fn document(app: &TestApp) -> Value {
    let resp = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    resp.json().await.expect("json")
}

/// (method, path) of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_document_has_every_api_route_of_the_access_table_and_no_other() {
    let app = spawn_app(Db::Sqlite).await;
    let doc = document(&app).await;
    let documented = operations(&doc);
    let routes: BTreeSet<(String, String)> = sitewatch::http::auth::route_table()
        .into_iter()
        .filter(|(_, path)| path.starts_with("/api/v1/"))
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from the document (annotate the handler with #[utoipa::path] and \
         add it to its module's Doc): {undocumented:?}\n\
         documented paths that are no route in the access table: {unrouted:?}"
    );
    // Each operation says who may call it, from the same table.
    let ack = &doc["paths"]["/api/v1/alarms/{id}/acknowledge"]["post"];
    assert!(
        ack["description"]
            .as_str()
            .is_some_and(|d| d.contains("Roles: admin, duty_engineer.")),
        "{ack}"
    );
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_the_error_body_and_the_main_records() {
    let app = spawn_app(Db::Sqlite).await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    // An independent OpenAPI 3.1 parser reads it, with every operation.
    let spec = oas3::from_json(doc.to_string()).expect("parses as OpenAPI 3.1");
    let version = spec.validate_version().expect("a 3.1 version");
    assert_eq!((version.major, version.minor), (3, 1));
    assert_eq!(spec.operations().count(), operations(&doc).len());
    let schemas = &doc["components"]["schemas"];
    let error = &schemas["ErrorBody"];
    let required: Vec<&str> = error["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["code", "message"], "{error}");
    assert!(error["properties"]["field"].is_object(), "{error}");
    for record in [
        "Alarm",
        "Incident",
        "Unit",
        "ServiceRequest",
        "Notice",
        "ScanRecord",
        "PointState",
    ] {
        assert!(
            schemas[record]["properties"].is_object(),
            "no schema for {record}"
        );
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
    // Every reference resolves, so a client generator can read it.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    let dangling: BTreeSet<&String> = all
        .iter()
        .filter(|r| {
            let name = r.trim_start_matches("#/components/schemas/");
            schemas[name].is_null()
        })
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
    // Refusals of a list name the error body; its answer names the paging headers and
    // its `limit` the bounds.
    let units = &doc["paths"]["/api/v1/units"]["get"];
    assert_eq!(
        units["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    assert!(
        units["responses"]["200"]["headers"]["x-next-offset"].is_object(),
        "{units}"
    );
    let limit = units["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "limit"))
        .expect("a limit parameter");
    assert_eq!(
        (
            &limit["schema"]["minimum"],
            &limit["schema"]["maximum"],
            &limit["schema"]["default"]
        ),
        (&json!(1), &json!(10000), &json!(1000)),
        "{limit}"
    );
}

/// Follows `X-Next-Offset` from `first` to the last page; every item's `key`, in order.
async fn walk(app: &TestApp, first: &str, key: impl Fn(&Value) -> String) -> Vec<String> {
    let mut seen = Vec::new();
    let mut url = first.to_owned();
    for _ in 0..100 {
        let resp = app
            .client
            .get(format!("{}{url}", app.base))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "{url}");
        let next = resp
            .headers()
            .get("x-next-offset")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let link = resp
            .headers()
            .get("link")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let page: Value = resp.json().await.expect("json");
        seen.extend(page.as_array().expect("a list").iter().map(&key));
        let Some(offset) = next else {
            assert!(link.is_none(), "a last page has no next link");
            return seen;
        };
        // The Link header points at the same next page.
        let link = link.expect("a Link header beside X-Next-Offset");
        let target = link
            .strip_prefix('<')
            .and_then(|l| l.split_once(">; rel=\"next\""))
            .map(|(u, _)| u.to_owned())
            .unwrap_or_else(|| panic!("link {link}"));
        assert!(target.contains(&format!("offset={offset}")), "{target}");
        url = target;
    }
    panic!("more than 100 pages from {first}");
}

fn once_each(seen: &[String], expected: usize) {
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), expected, "{seen:?}");
    assert_eq!(unique.len(), expected, "an item came twice: {seen:?}");
}

#[tokio::test]
async fn paging_through_the_unit_register_returns_each_unit_once() {
    let app = spawn_app(Db::Sqlite).await;
    let rows: String = (1..=23)
        .map(|i| {
            format!(
                "2,{},{i:04},80,occupied,王{i},138{i:08},,sms,,\n",
                i / 4 + 1
            )
        })
        .collect();
    let (status, body) = import_csv(&app, &format!("{HEAD}{rows}")).await;
    assert_eq!(status, 200, "{body}");
    let ids = walk(&app, "/api/v1/units?building=2&limit=5", |u| {
        u["id"].as_str().expect("id").to_owned()
    })
    .await;
    once_each(&ids, 23);
    let first = app
        .client
        .get(format!("{}/api/v1/units?limit=5", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(first.headers()["x-total-count"], "23");
}

async fn scans_page_once_each(db: Db) {
    let app = spawn_app_with(db, PATROL, clock()).await;
    for i in 0..17 {
        let body = json!({"id": format!("p{i:02}"), "guard": "guard-zhang", "tag_uid": "DEADBEEF"});
        let (status, answer) = app.post_json("/api/v1/patrol/scans", body).await;
        assert_eq!(status, 201, "{answer}");
    }
    let ids = walk(
        &app,
        "/api/v1/patrol/scans?from=2026-11-24T00:00:00Z&to=2026-11-26T00:00:00Z&limit=4",
        |r| r["scan"]["id"].as_str().expect("id").to_owned(),
    )
    .await;
    once_each(&ids, 17);
}

#[tokio::test]
async fn paging_through_stored_scans_returns_each_scan_once_on_sqlite() {
    scans_page_once_each(Db::Sqlite).await;
}

#[tokio::test]
async fn paging_through_stored_scans_returns_each_scan_once_on_postgres() {
    scans_page_once_each(Db::Postgres).await;
}

async fn refusal(app: &TestApp, url: &str) -> (u16, Value) {
    let resp = app
        .client
        .get(format!("{}{url}", app.base))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_list_refuses_a_bad_limit_with_422_and_the_field() {
    let app = spawn_app(Db::Sqlite).await;
    let before = metric(
        &app.metrics().await,
        "sitewatch_api_errors_total{code=\"invalid\"}",
    )
    .unwrap_or(0.0);
    let mut wrong = Vec::new();
    let mut refused = 0.0;
    for list in LISTS {
        let join = if list.contains('?') { '&' } else { '?' };
        for (bad, field) in [
            ("limit=0", "limit"),
            ("limit=10001", "limit"),
            ("limit=ten", "limit"),
            ("offset=-1", "offset"),
        ] {
            let url = format!("{list}{join}{bad}");
            let (status, body) = refusal(&app, &url).await;
            refused += 1.0;
            if status != 422 || body["code"] != "invalid" || body["field"] != field {
                wrong.push(format!("{url}: {status} {body}"));
            }
        }
        // The most a page may hold is accepted.
        let (status, body) = refusal(&app, &format!("{list}{join}limit=10000")).await;
        if status != 200 {
            wrong.push(format!("{list} limit=10000: {status} {body}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let after = metric(
        &app.metrics().await,
        "sitewatch_api_errors_total{code=\"invalid\"}",
    )
    .unwrap_or(0.0);
    assert_eq!(after - before, refused, "every refusal is counted");
    // The daemon kept running.
    let health = refusal(&app, "/healthz").await;
    assert_eq!(health.0, 200);
}

#[tokio::test]
async fn lists_filter_by_time_and_refuse_a_backwards_window() {
    let app = spawn_app(Db::Sqlite).await;
    let row = "3,1,0101,80,occupied,王芳,13800000001,,sms,,\n";
    let (status, body) = import_csv(&app, &format!("{HEAD}{row}")).await;
    assert_eq!(status, 200, "{body}");
    let all = app.get_json("/api/v1/units?building=3").await;
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    let later = app
        .get_json("/api/v1/units?building=3&from=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(later, json!([]));
    let earlier = app
        .get_json("/api/v1/units?building=3&to=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(earlier, json!([]));
    for list in ["/api/v1/units", "/api/v1/events", "/api/v1/notices"] {
        let (status, body) = refusal(
            &app,
            &format!("{list}?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z"),
        )
        .await;
        assert_eq!(
            (status, &body["field"]),
            (422, &json!("to")),
            "{list}: {body}"
        );
    }
}

/// Each operation of the document with its method and path.
fn each_operation(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                out.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_lists_sign_in_outage_and_content_type_refusals_and_each_command_body() {
    let app = spawn_app(Db::Sqlite).await;
    let doc = document(&app).await;
    let error_body = json!("#/components/schemas/ErrorBody");
    let mut missing = Vec::new();
    let mut json_bodies = 0;
    for (method, path, op) in each_operation(&doc) {
        let needs_role = op["description"]
            .as_str()
            .is_some_and(|d| d.contains("Roles: admin"));
        let takes_json = !op["requestBody"]["content"]["application/json"].is_null();
        json_bodies += usize::from(takes_json);
        let expected = [
            ("401", needs_role),
            ("403", needs_role),
            ("503", needs_role),
            ("415", takes_json),
        ];
        for (status, due) in expected {
            let schema = &op["responses"][status]["content"]["application/json"]["schema"]["$ref"];
            if due && *schema != error_body {
                missing.push(format!("{method} {path}: {status}"));
            }
        }
    }
    assert!(missing.is_empty(), "refusals not documented: {missing:?}");
    let outage = &doc["paths"]["/api/v1/alarms"]["get"]["responses"]["503"]["description"];
    assert!(
        outage.as_str().is_some_and(|d| d.contains("`unavailable`")),
        "the 503 names its code: {outage}"
    );
    assert!(
        json_bodies > 10,
        "the walk saw the JSON bodies: {json_bodies}"
    );
    // The hand-over's command body is the hand-over's, not the service request's.
    let schemas = &doc["components"]["schemas"];
    let body_of = |path: &str| {
        let r = &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"];
        let name = r
            .as_str()
            .expect("a named body")
            .trim_start_matches("#/components/schemas/");
        (name.to_owned(), schemas[name].clone())
    };
    let (name, handover) = body_of("/api/v1/handovers/{id}/commands");
    assert_eq!(name, "HandoverCommandBody");
    let action = handover["properties"]["action"]["$ref"]
        .as_str()
        .unwrap_or_default();
    assert!(action.ends_with("/HandoverAction"), "{handover}");
    assert!(handover["properties"]["note"].is_null(), "{handover}");
    let (name, request) = body_of("/api/v1/requests/{id}/commands");
    assert_eq!(name, "RequestCommandBody");
    assert!(request["properties"]["note"].is_object(), "{request}");
}
