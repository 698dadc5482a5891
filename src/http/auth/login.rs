//! `GET /login` (the form), `POST /login` (password check, rate limit, session cookie),
//! `POST /logout` (ends the session). Every attempt and every log-out is audited.

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Duration;
use serde::Deserialize;

use super::audit::{self, Pending};
use super::{AppState, COOKIE, Unavailable, bounded, client_ip, cookie, limit_key};
use crate::access::{Role, Secret, new_token, token_hash, verify_password};

const PAGE: &str = include_str!("../assets/login.html");
/// How long a session lasts.
pub(crate) const SESSION_HOURS: i64 = 12;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(form).post(login))
        .route("/logout", post(logout))
}

async fn form(State(s): State<AppState>) -> Html<String> {
    page(&s, "")
}

fn page(s: &AppState, error: &str) -> Html<String> {
    login_page(&s.site.name, error)
}

/// The log-in form under `title` (the site's name, or the centre's), with `error` shown.
pub(crate) fn login_page(title: &str, error: &str) -> Html<String> {
    Html(
        PAGE.replace("{{site_name}}", &title.replace('<', "&lt;"))
            .replace("{{error}}", error),
    )
}

#[derive(Debug, Deserialize)]
struct Credentials {
    username: String,
    password: Secret,
}

/// Signs in. A form post (the log-in page) is answered with a redirect or the page with
/// a message; a caller asking for JSON (`Accept: application/json`, the guard page
/// signing in again without leaving its queue) gets `{user, role, csrf}` or the error
/// body. A store fault answers 503, never "wrong password".
async fn login(
    State(s): State<AppState>,
    ext: Extensions,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Response {
    let json = wants_json(&headers);
    let ip = client_ip(&s, &ext, &headers);
    let user = c.username.trim().to_owned();
    let key = limit_key(&user, &ip);
    if s.auth.limited(&key) {
        s.metrics.login_failure("rate_limited");
        record(
            &s,
            &user,
            "login_failed",
            &ip,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        let msg = "尝试次数过多，请稍后再试 Too many attempts; try again in a few minutes";
        return refused(&s, json, StatusCode::TOO_MANY_REQUESTS, msg);
    }
    let role = match check(&s, &user, &c.password).await {
        Ok(Some(role)) => role,
        Ok(None) => {
            s.auth.fail(&key);
            s.metrics.login_failure("bad_credentials");
            record(&s, &user, "login_failed", &ip, StatusCode::UNAUTHORIZED).await;
            let msg = "用户名或密码错误 Wrong user name or password";
            return refused(&s, json, StatusCode::UNAUTHORIZED, msg);
        }
        Err(Unavailable) => return store_down(&s, json),
    };
    s.auth.succeed(&key);
    let Ok((cookie, csrf)) = start_session(&s, &user).await else {
        return store_down(&s, json);
    };
    record(&s, &user, "login", &ip, StatusCode::SEE_OTHER).await;
    let set_cookie = [(header::SET_COOKIE, cookie)];
    if json {
        let body = serde_json::json!({"user": user, "role": role, "csrf": csrf.expose()});
        return (set_cookie, axum::Json(body)).into_response();
    }
    let to = if role == Role::Guard { "/guard" } else { "/" };
    (set_cookie, Redirect::to(to)).into_response()
}

/// Whether the caller asked for JSON rather than the form page.
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A refused log-in: the form again with `message`, or the error body.
fn refused(s: &AppState, json: bool, status: StatusCode, message: &str) -> Response {
    if !json {
        return (status, page(s, message)).into_response();
    }
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        _ => "unauthorized",
    };
    let body = serde_json::json!({"code": code, "message": message});
    (status, axum::Json(body)).into_response()
}

/// The store could not check the password or keep the session: 503, nothing counted
/// against the user.
fn store_down(s: &AppState, json: bool) -> Response {
    s.metrics.login_failure("unavailable");
    if json {
        return super::layer::unavailable("/api/");
    }
    let msg = "服务暂不可用，请稍后再试 Service unavailable, try again shortly";
    let retry = [(header::RETRY_AFTER, "10")];
    (StatusCode::SERVICE_UNAVAILABLE, retry, page(s, msg)).into_response()
}

/// The user's role if the password is right and the user is enabled.
async fn check(s: &AppState, user: &str, password: &Secret) -> Result<Option<Role>, Unavailable> {
    let Some((row, hash)) = bounded("user", s.store.user_login(user)).await? else {
        return Ok(None);
    };
    let password = password.clone();
    // argon2 is slow on purpose: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    Ok((ok && !row.disabled).then_some(row.role))
}

/// Stores a new session; its `Set-Cookie` value and its CSRF token.
async fn start_session(s: &AppState, user: &str) -> Result<(HeaderValue, Secret), Unavailable> {
    let (token, csrf) = (new_token(), new_token());
    let now = s.clock.now();
    let expires = now + Duration::hours(SESSION_HOURS);
    let hash = token_hash(token.expose());
    let stored = s
        .store
        .create_session(&hash, user, csrf.expose(), now, expires);
    bounded("new session", stored).await?;
    Ok((session_cookie(&token)?, csrf))
}

/// The `Set-Cookie` value carrying a new session's token (the centre's too).
pub(crate) fn session_cookie(token: &Secret) -> Result<HeaderValue, Unavailable> {
    let max_age = SESSION_HOURS * 3600;
    HeaderValue::from_str(&format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}",
        token.expose()
    ))
    .map_err(|_| Unavailable)
}

/// The `Set-Cookie` value that ends the session in the browser.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

async fn logout(State(s): State<AppState>, ext: Extensions, headers: HeaderMap) -> Response {
    let ip = client_ip(&s, &ext, &headers);
    if let Some(token) = cookie(&headers, COOKIE) {
        let hash = token_hash(&token);
        s.auth.known.forget(&hash);
        let who = bounded("session", s.store.session(&hash, s.clock.now()))
            .await
            .ok()
            .flatten();
        // Logged by `bounded`; the cookie is cleared below either way.
        let _ = bounded("end session", s.store.delete_session(&hash)).await;
        if let Some(h) = who {
            record(&s, &h.name, "logout", &ip, StatusCode::SEE_OTHER).await;
        }
    }
    (
        [(header::SET_COOKIE, clear_cookie())],
        Redirect::to("/login"),
    )
        .into_response()
}

async fn record(s: &AppState, actor: &str, action: &str, ip: &str, status: StatusCode) {
    let p = Pending {
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: actor.to_owned(),
        before: None,
        after: None,
        ip: ip.to_owned(),
        route: if action == "logout" {
            "/logout"
        } else {
            "/login"
        }
        .to_owned(),
    };
    audit::write(s, p, status).await;
}
