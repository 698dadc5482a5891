//! Sign-in at the centre: the site's sign-in (argon2 passwords, session cookie with a CSRF
//! token, bearer tokens, the same rate limit and stable error bodies) over the central
//! database's operators. [`layer`] lets `/metrics`, `/healthz` and the log-in form through
//! and signs every other request in, putting the [`Operator`] into its extensions; routes
//! read it with `Extension<Operator>`.
//!
//! Unlike a site, the centre has no open mode: until `sitewatch central user add` has made
//! an operator nobody gets past the log-in form. A database fault is a 503, never a 401.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::{Extensions, HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Duration;
use serde::Deserialize;
use sitewatch_core::clock::Clock;
use sqlx::PgPool;

use super::FleetMetrics;
use super::users;
use crate::access::{Role, Secret, new_token, token_hash, verify_password};
use crate::http::AuthState;
use crate::http::auth::{
    COOKIE, SESSION_HOURS, Unavailable, bearer, bounded, clear_cookie, cookie, limit_key,
    login_page, refuse, session_cookie, unavailable, wants_json,
};

/// The signed-in operator, in every signed-in request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// User name, or the API token's name.
    pub name: String,
    /// Its role (the site's roles).
    pub role: Role,
}

/// The session's CSRF token, in a cookie-signed request's extensions (the page sends it
/// back in `X-CSRF-Token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csrf(pub String);

/// What the sign-in shares.
#[derive(Debug, Clone)]
pub struct CentreAuth {
    /// The central database (operators, sessions, tokens).
    pub pool: PgPool,
    /// Recent failures per name and address (the site's limiter).
    pub limits: Arc<AuthState>,
    /// Counts refused sign-ins.
    pub metrics: FleetMetrics,
    /// Sessions start and end by it.
    pub clock: Arc<dyn Clock>,
}

/// Paths anyone may open: health, Prometheus and the log-in form.
const OPEN: [&str; 4] = ["/metrics", "/healthz", "/login", "/logout"];
/// The title on the centre's log-in form.
const TITLE: &str = "集团中心 Fleet centre";

/// `/login` (form and post) and `/logout`.
pub fn router(auth: CentreAuth) -> Router {
    Router::new()
        .route("/login", get(form).post(login))
        .route("/logout", post(logout))
        .with_state(auth)
}

/// Whether `role` may make a request with `method`: every role but a guard's reads (guards
/// work on site); changes are for admins and duty engineers.
fn allowed(method: &Method, role: Role) -> bool {
    if changes(method) {
        matches!(role, Role::Admin | Role::DutyEngineer)
    } else {
        role != Role::Guard
    }
}

fn changes(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Signs a request in (see the module doc).
pub async fn layer(State(a): State<CentreAuth>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if OPEN.contains(&path.as_str()) {
        return next.run(req).await;
    }
    let Ok(who) = authenticate(&a, req.headers()).await else {
        return unavailable(&path);
    };
    let Some((operator, csrf)) = who else {
        a.metrics.refused("unauthorized");
        if path.starts_with("/api/") {
            let msg = "sign in or give a bearer token";
            return refuse(&path, StatusCode::UNAUTHORIZED, msg);
        }
        return Redirect::to("/login").into_response();
    };
    if !allowed(req.method(), operator.role) {
        a.metrics.refused("forbidden");
        return refuse(&path, StatusCode::FORBIDDEN, "your role may not do this");
    }
    let sent = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    if changes(req.method())
        && let Some(csrf) = &csrf
        && sent != Some(csrf.as_str())
    {
        a.metrics.refused("csrf");
        return refuse(
            &path,
            StatusCode::FORBIDDEN,
            "missing or wrong X-CSRF-Token",
        );
    }
    req.extensions_mut().insert(operator);
    if let Some(csrf) = csrf {
        req.extensions_mut().insert(Csrf(csrf));
    }
    next.run(req).await
}

/// The operator behind a bearer token or the session cookie, with the session's CSRF
/// token; `None` when neither names one.
async fn authenticate(
    a: &CentreAuth,
    headers: &HeaderMap,
) -> Result<Option<(Operator, Option<String>)>, Unavailable> {
    let holder = if let Some(token) = bearer(headers) {
        bounded("central token", users::token(&a.pool, &token_hash(token))).await?
    } else if let Some(token) = cookie(headers, COOKIE) {
        let now = a.clock.now().timestamp_millis();
        bounded(
            "central session",
            users::session(&a.pool, &token_hash(&token), now),
        )
        .await?
    } else {
        None
    };
    Ok(holder.map(|h| {
        let csrf = (!h.csrf.is_empty()).then_some(h.csrf);
        let operator = Operator {
            name: h.name,
            role: h.role,
        };
        (operator, csrf)
    }))
}

async fn form() -> Html<String> {
    login_page(TITLE, "")
}

#[derive(Debug, Deserialize)]
struct Credentials {
    username: String,
    password: Secret,
}

/// Signs in: a redirect to the fleet page, or `{user, role, csrf}` for a JSON caller;
/// refusals as the site words them.
async fn login(
    State(a): State<CentreAuth>,
    ext: Extensions,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let json = wants_json(&headers);
    let ip = ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|p| p.0.ip().to_string())
        .unwrap_or_default();
    let user = c.username.trim().to_owned();
    let key = limit_key(&user, &ip);
    if a.limits.limited(&key) {
        a.metrics.refused("rate_limited");
        let msg = "尝试次数过多，请稍后再试 Too many attempts; try again in a few minutes";
        return refused(json, StatusCode::TOO_MANY_REQUESTS, msg);
    }
    let role = match check(&a, &user, &c.password).await {
        Ok(Some(role)) => role,
        Ok(None) => {
            a.limits.fail(&key);
            a.metrics.refused("bad_credentials");
            let msg = "用户名或密码错误 Wrong user name or password";
            return refused(json, StatusCode::UNAUTHORIZED, msg);
        }
        Err(Unavailable) => return store_down(json),
    };
    a.limits.succeed(&key);
    let Ok((cookie, csrf)) = start_session(&a, &user).await else {
        return store_down(json);
    };
    tracing::info!(user = %user, %role, ip = %ip, "operator signed in at the centre");
    let set_cookie = [(header::SET_COOKIE, cookie)];
    if json {
        let body = serde_json::json!({"user": user, "role": role, "csrf": csrf.expose()});
        return (set_cookie, axum::Json(body)).into_response();
    }
    (set_cookie, Redirect::to("/")).into_response()
}

/// A refused sign-in: the form again with `message`, or the error body.
fn refused(json: bool, status: StatusCode, message: &str) -> Response {
    if !json {
        return (status, login_page(TITLE, message)).into_response();
    }
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        _ => "unauthorized",
    };
    let body = serde_json::json!({"code": code, "message": message});
    (status, axum::Json(body)).into_response()
}

fn store_down(json: bool) -> Response {
    if json {
        return unavailable("/api/");
    }
    let msg = "服务暂不可用，请稍后再试 Service unavailable, try again shortly";
    let retry = [(header::RETRY_AFTER, "10")];
    (
        StatusCode::SERVICE_UNAVAILABLE,
        retry,
        login_page(TITLE, msg),
    )
        .into_response()
}

/// The operator's role if the password is right.
async fn check(a: &CentreAuth, user: &str, password: &Secret) -> Result<Option<Role>, Unavailable> {
    let Some((role, hash)) = bounded("central user", users::login(&a.pool, user)).await? else {
        return Ok(None);
    };
    let password = password.clone();
    // argon2 is slow on purpose: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    Ok(ok.then_some(role))
}

async fn start_session(
    a: &CentreAuth,
    user: &str,
) -> Result<(axum::http::HeaderValue, Secret), Unavailable> {
    let (token, csrf) = (new_token(), new_token());
    let now = a.clock.now();
    let expires = now + Duration::hours(SESSION_HOURS);
    let hash = token_hash(token.expose());
    let stored = users::create_session(
        &a.pool,
        &hash,
        user,
        csrf.expose(),
        now.timestamp_millis(),
        expires.timestamp_millis(),
    );
    bounded("new central session", stored).await?;
    Ok((session_cookie(&token)?, csrf))
}

async fn logout(State(a): State<CentreAuth>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, COOKIE) {
        // Logged by `bounded`; the cookie is cleared either way.
        let _ = bounded(
            "end central session",
            users::delete_session(&a.pool, &token_hash(&token)),
        )
        .await;
    }
    (
        [(header::SET_COOKIE, clear_cookie())],
        Redirect::to("/login"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_read_nothing_and_only_admins_and_duty_engineers_change_things() {
        assert!(!allowed(&Method::GET, Role::Guard));
        assert!(allowed(&Method::GET, Role::Viewer));
        assert!(allowed(&Method::POST, Role::DutyEngineer));
        assert!(!allowed(&Method::POST, Role::Viewer));
        assert!(!allowed(&Method::POST, Role::CustomerService));
    }
}
