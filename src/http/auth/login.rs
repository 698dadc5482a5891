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
use super::{AppState, COOKIE, client_ip, cookie};
use crate::access::{Role, Secret, new_token, token_hash, verify_password};

const PAGE: &str = include_str!("../assets/login.html");
/// How long a session lasts.
const SESSION_HOURS: i64 = 12;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(form).post(login))
        .route("/logout", post(logout))
}

async fn form(State(s): State<AppState>) -> Html<String> {
    page(&s, "")
}

fn page(s: &AppState, error: &str) -> Html<String> {
    Html(
        PAGE.replace("{{site_name}}", &s.site.name.replace('<', "&lt;"))
            .replace("{{error}}", error),
    )
}

#[derive(Debug, Deserialize)]
struct Credentials {
    username: String,
    password: Secret,
}

async fn login(State(s): State<AppState>, ext: Extensions, Form(c): Form<Credentials>) -> Response {
    let ip = client_ip(&ext);
    let user = c.username.trim().to_owned();
    let keys = [format!("user:{user}"), format!("ip:{ip}")];
    if s.auth.limited(&keys) {
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
        return (StatusCode::TOO_MANY_REQUESTS, page(&s, msg)).into_response();
    }
    let Some(role) = check(&s, &user, &c.password).await else {
        s.auth.fail(&keys);
        s.metrics.login_failure("bad_credentials");
        record(&s, &user, "login_failed", &ip, StatusCode::UNAUTHORIZED).await;
        let msg = "用户名或密码错误 Wrong user name or password";
        return (StatusCode::UNAUTHORIZED, page(&s, msg)).into_response();
    };
    s.auth.succeed(&keys[0]);
    match start_session(&s, &user).await {
        Ok(cookie) => {
            record(&s, &user, "login", &ip, StatusCode::SEE_OTHER).await;
            let to = if role == Role::Guard { "/guard" } else { "/" };
            ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "session not stored");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The user's role if the password is right and the user is enabled.
async fn check(s: &AppState, user: &str, password: &Secret) -> Option<Role> {
    let (row, hash) = s.store.user_login(user).await.ok()??;
    let password = password.clone();
    // argon2 is slow on purpose: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    (ok && !row.disabled).then_some(row.role)
}

/// Stores a new session and returns its `Set-Cookie` value.
async fn start_session(s: &AppState, user: &str) -> Result<HeaderValue, anyhow::Error> {
    let (token, csrf) = (new_token(), new_token());
    let now = s.clock.now();
    let expires = now + Duration::hours(SESSION_HOURS);
    s.store
        .create_session(
            &token_hash(token.expose()),
            user,
            csrf.expose(),
            now,
            expires,
        )
        .await?;
    let max_age = SESSION_HOURS * 3600;
    Ok(HeaderValue::from_str(&format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}",
        token.expose()
    ))?)
}

async fn logout(State(s): State<AppState>, ext: Extensions, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, COOKIE) {
        let hash = token_hash(&token);
        let who = s.store.session(&hash, s.clock.now()).await.ok().flatten();
        if let Err(e) = s.store.delete_session(&hash).await {
            tracing::error!(error = %e, "session not deleted");
        }
        if let Some(h) = who {
            record(
                &s,
                &h.name,
                "logout",
                &client_ip(&ext),
                StatusCode::SEE_OTHER,
            )
            .await;
        }
    }
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response()
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
