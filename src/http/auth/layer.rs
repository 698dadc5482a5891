//! The one middleware every route passes: look the route up in the access table,
//! authenticate (token or session), authorize, check CSRF for cookie-borne changes, put
//! the signed-in name into the body's actor field, and audit every change to the API.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::policy::{self, Access, Rule};
use super::{AppState, Principal, audit, authenticate};

/// Authenticates, authorizes and audits one request (see the module doc).
pub(crate) async fn layer(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    let rule = policy::rule(req.method(), &route);
    if rule.access == Access::Open {
        return next.run(req).await;
    }
    let Ok(required) = s.auth.required(&s.store).await else {
        return unavailable(&route);
    };
    let Ok(who) = authenticate(&s, req.headers()).await else {
        return unavailable(&route);
    };
    if required && let Some(refusal) = refusal(&rule, who.as_ref(), &req, &route) {
        return refusal;
    }
    let (mut parts, body) = req.into_parts();
    if let Some(p) = &who {
        parts.extensions.insert(p.clone());
    }
    if !changes(&parts.method) || !route.starts_with("/api/") {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match audit::read_body(&route, body).await {
        Ok(bytes) => bytes,
        Err(too_large) => return too_large.into_response(),
    };
    let (bytes, after) = match audit::upload(&parts.headers, &bytes) {
        Some(summary) => (bytes, Some(summary)),
        None => with_actor(bytes, &rule, who.as_ref()),
    };
    if let (true, Some(n), Some(p)) = (required, rule.narrow, &who)
        && !n.allows(p.role, after.as_ref())
    {
        return refuse(
            &route,
            StatusCode::FORBIDDEN,
            "your role may not send this command",
        );
    }
    let target = target(&mut parts).await;
    let before = audit::before(&s, &route, &target).await;
    parts.headers.remove(header::CONTENT_LENGTH);
    let entry = audit::Pending {
        actor: who.map_or_else(|| "anonymous".to_owned(), |p| p.name),
        action: format!("{} {route}", parts.method),
        target,
        before,
        after,
        ip: super::client_ip(&s, &parts.extensions, &parts.headers),
        route: parts.uri.path().to_owned(),
    };
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    audit::write(&s, entry, resp.status()).await;
    resp
}

/// The refusal, unless `who` may make the request.
fn refusal(rule: &Rule, who: Option<&Principal>, req: &Request, route: &str) -> Option<Response> {
    let Some(p) = who else {
        return Some(if route.starts_with("/api/") {
            refuse(
                route,
                StatusCode::UNAUTHORIZED,
                "sign in or give a bearer token",
            )
        } else {
            Redirect::to("/login").into_response()
        });
    };
    if !rule.access.allows(p.role) || !own_only(rule, p, req) {
        return Some(refuse(
            route,
            StatusCode::FORBIDDEN,
            "your role may not do this",
        ));
    }
    if let Some(csrf) = &p.csrf {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if changes(req.method()) && sent != Some(csrf.as_str()) {
            return Some(refuse(
                route,
                StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token",
            ));
        }
    }
    None
}

/// A guard may ask only about themselves where the table says so.
fn own_only(rule: &Rule, p: &Principal, req: &Request) -> bool {
    let Some(param) = rule.own_query else {
        return true;
    };
    if p.role != crate::access::Role::Guard {
        return true;
    }
    let query = req.uri().query().unwrap_or_default();
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .any(|(k, v)| k == param && v == p.name)
}

fn changes(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A refusal: the API's stable error body, or plain text for pages.
pub(crate) fn refuse(route: &str, status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        _ => "invalid",
    };
    if route.starts_with("/api/") {
        (
            status,
            axum::Json(json!({"code": code, "message": message})),
        )
            .into_response()
    } else {
        (status, message.to_owned()).into_response()
    }
}

/// How long a client should wait before trying again after a 503.
const RETRY_AFTER_SECS: &str = "10";

/// What pages show while the store cannot say who is signed in: not the log-in form
/// (nobody needs to sign in again), and it retries by itself.
const UNAVAILABLE_PAGE: &str = r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10">
<title>服务暂不可用 Service unavailable</title></head>
<body style="font-family: system-ui, sans-serif; background: #10151c; color: #e6e9ee; padding: 1rem">
<h1>服务暂不可用，请稍后再试</h1>
<p>数据库暂时无法访问。本页每 10 秒自动重试，无需重新登录。</p>
<h1>Service unavailable, try again</h1>
<p>The database cannot be reached right now. This page tries again every 10 seconds; there
is no need to sign in again.</p>
</body></html>
"#;

/// 503: the store could not say who is asking. The API's error body, or a page.
pub(crate) fn unavailable(route: &str) -> Response {
    let retry = [(header::RETRY_AFTER, RETRY_AFTER_SECS)];
    if route.starts_with("/api/") {
        (retry, crate::http::ApiError::StoreUnavailable).into_response()
    } else {
        let page = axum::response::Html(UNAVAILABLE_PAGE);
        (StatusCode::SERVICE_UNAVAILABLE, retry, page).into_response()
    }
}

/// The body with its actor field set to the signed-in name, and the body for the audit.
fn with_actor(bytes: Bytes, rule: &Rule, who: Option<&Principal>) -> (Bytes, Option<Value>) {
    let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        return (bytes, (!text.is_empty()).then_some(Value::String(text)));
    };
    match (rule.actor_field, who, v.as_object_mut()) {
        (Some(field), Some(p), Some(obj)) => {
            obj.insert(field.to_owned(), Value::String(p.name.clone()));
            let out = serde_json::to_vec(&v).map_or(bytes, Bytes::from);
            (out, Some(v))
        }
        _ => (bytes, Some(v)),
    }
}

/// The route's path parameters (`{id}`, `{set}`), joined: what the change is about.
async fn target(parts: &mut Parts) -> String {
    match RawPathParams::from_request_parts(parts, &()).await {
        Ok(params) => params.iter().map(|(_, v)| v).collect::<Vec<_>>().join("/"),
        Err(_) => String::new(),
    }
}
