//! Authentication and authorization for every route: sessions (cookie + CSRF header) for
//! people, bearer tokens for devices and integrations, one access table (`policy`) checked
//! in one middleware (`layer`), log-in and log-out (`login`), and the audit trail
//! (`audit`). Until the first user exists the daemon stays open, as before.

mod audit;
mod layer;
mod login;
pub(crate) mod policy;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};

use super::AppState;
use crate::access::{Role, token_hash};
use crate::store::Store;
pub(super) use audit::router as audit_router;

/// The audit read's part of the OpenAPI document.
pub(super) fn audit_doc() -> utoipa::openapi::OpenApi {
    <audit::Doc as utoipa::OpenApi>::openapi()
}

/// Every route in the access table as (method, path): what the OpenAPI test checks the
/// document against.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    policy::TABLE.iter().map(|r| (r.method, r.path)).collect()
}
pub(super) use layer::layer;
pub(super) use login::router as login_router;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "sw_session";
/// Failures allowed per user name and per address within `WINDOW`.
const MAX_FAILURES: usize = 5;
const WINDOW: Duration = Duration::from_secs(300);

/// Who made a request, once authenticated.
#[derive(Debug, Clone)]
pub struct Principal {
    /// User name, or the API token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The session's CSRF token; `None` for a bearer token.
    pub csrf: Option<String>,
}

/// The signed-in user's name for handlers; `None` in open mode (no user exists yet).
#[derive(Debug, Clone)]
pub struct Actor(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Actor, Self::Rejection> {
        Ok(Actor(
            parts.extensions.get::<Principal>().map(|p| p.name.clone()),
        ))
    }
}

/// Shared state of the auth layer: whether users exist yet, and recent log-in failures.
#[derive(Debug, Default)]
pub struct AuthState {
    closed: AtomicBool,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl AuthState {
    /// Whether authentication is required: once a user exists it stays required. A
    /// database failure counts as closed.
    pub(crate) async fn required(&self, store: &Store) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            return true;
        }
        let closed = store.user_count().await.map_or(true, |n| n > 0);
        if closed {
            self.closed.store(true, Ordering::Relaxed);
        }
        closed
    }

    /// Whether any of `keys` has had too many failures lately.
    fn limited(&self, keys: &[String]) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        keys.iter().any(|k| {
            map.get_mut(k).is_some_and(|q| {
                q.retain(|t| now.duration_since(*t) < WINDOW);
                q.len() >= MAX_FAILURES
            })
        })
    }

    fn fail(&self, keys: &[String]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            map.entry(k.clone()).or_default().push_back(Instant::now());
        }
    }

    fn succeed(&self, user_key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(user_key);
    }
}

/// The principal behind a bearer token or a session cookie, if any.
pub(crate) async fn authenticate(s: &AppState, headers: &HeaderMap) -> Option<Principal> {
    if let Some(token) = bearer(headers) {
        let h = s.store.api_token(&token_hash(token)).await.ok()??;
        return Some(Principal {
            name: h.name,
            role: h.role,
            csrf: None,
        });
    }
    let token = cookie(headers, COOKIE)?;
    let h = s
        .store
        .session(&token_hash(&token), s.clock.now())
        .await
        .ok()??;
    Some(Principal {
        name: h.name,
        role: h.role,
        csrf: Some(h.csrf),
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The client's address, when the server was started with connect info.
pub(crate) fn client_ip(ext: &Extensions) -> String {
    ext.get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}
