//! Every refusal under `/api/v1` is the stable error body: an unknown query parameter on
//! any list (`/alarms?stat=…` is a typo, not "everything"), a path parameter that does not
//! parse, an unknown route, a method the route does not take, and a refusal axum makes
//! itself (a body past an extractor's limit).

use serde_json::Value;

use crate::helpers::{Db, TestApp, metric, spawn_app};

async fn send(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, format!("{}{path}", app.base))
        .send()
        .await
        .expect("request")
}

/// Status and JSON body; `Null` when the body is not JSON (which is itself a failure).
async fn refusal(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Every list of the access table: its GET routes under `/api/v1`, but not one record by
/// id and not the document itself. Ids in the path are `1` (the query is checked first).
fn lists() -> Vec<String> {
    sitewatch::http::auth::route_table()
        .into_iter()
        .filter(|(m, p)| *m == "GET" && p.starts_with("/api/v1/"))
        .filter(|(_, p)| !p.ends_with("/{id}") && !p.ends_with("openapi.json"))
        .map(|(_, p)| p.replace("{id}", "1"))
        .collect()
}

#[tokio::test]
async fn every_list_refuses_an_unknown_query_parameter_naming_it() {
    let app = spawn_app(Db::Sqlite).await;
    let lists = lists();
    assert!(lists.len() >= 25, "the walk found the lists: {lists:?}");
    let mut wrong = Vec::new();
    for list in &lists {
        let (status, body) =
            refusal(send(&app, reqwest::Method::GET, &format!("{list}?zz_typo=1")).await).await;
        if status != 422 || body["code"] != "invalid" || body["field"] != "zz_typo" {
            wrong.push(format!("{list}: {status} {body}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The issue's own example: a misspelt filter is not "everything".
    let (status, body) = refusal(
        send(
            &app,
            reqwest::Method::GET,
            "/api/v1/alarms?stat=unack_active",
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &body["field"]),
        (422, &Value::from("stat")),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("stat")),
        "{body}"
    );
    // A known parameter is still taken.
    let ok = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/alarms?state=unack_active",
    )
    .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_path_parameter_that_does_not_parse_is_the_error_body_naming_it() {
    let app = spawn_app(Db::Sqlite).await;
    for path in [
        "/api/v1/incidents/null",
        "/api/v1/notices/x/fire-tests",
        "/api/v1/handovers/1.5",
    ] {
        let (status, body) = refusal(send(&app, reqwest::Method::GET, path).await).await;
        assert_eq!(
            (status, body["code"].as_str(), body["field"].as_str()),
            (422, Some("invalid"), Some("id")),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_the_error_body_and_counted() {
    let app = spawn_app(Db::Sqlite).await;
    let counted = |text: &str, code: &str| {
        metric(
            text,
            &format!("sitewatch_api_errors_total{{code=\"{code}\"}}"),
        )
        .unwrap_or(0.0)
    };
    let before = app.metrics().await;
    let (status, body) =
        refusal(send(&app, reqwest::Method::GET, "/api/v1/no-such-thing").await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("/api/v1/no-such-thing")),
        "{body}"
    );
    let resp = send(&app, reqwest::Method::DELETE, "/api/v1/alarms").await;
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let (status, body) = refusal(resp).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("method_not_allowed")),
        "{body}"
    );
    assert!(
        allow.is_some_and(|a| a.contains("GET")),
        "the Allow header stays"
    );
    let after = app.metrics().await;
    for code in ["not_found", "method_not_allowed"] {
        assert_eq!(
            counted(&after, code) - counted(&before, code),
            1.0,
            "{code}"
        );
    }
}

#[tokio::test]
async fn an_extractors_own_refusal_is_reworded_as_the_error_body() {
    let app = spawn_app(Db::Sqlite).await;
    // 3 MiB of CSV: past axum's 2 MiB body limit for the import, whose refusal is
    // axum's plain text until the last layer re-words it.
    let resp = app
        .client
        .post(format!("{}/api/v1/units/import", app.base))
        .header("content-type", "text/csv")
        .body(vec![b'x'; 3 * 1024 * 1024])
        .send()
        .await
        .expect("request");
    let (status, body) = refusal(resp).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
