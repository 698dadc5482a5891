//! Authentication and authorization for every route: sessions (cookie + CSRF header) for
//! people, bearer tokens for devices and integrations, one access table (`policy`) checked
//! in one middleware (`layer`), log-in and log-out (`login`), and the audit trail
//! (`audit`). Until the first user exists the daemon stays open, as before.
//!
//! A fault is never a 401: when the store fails or is slow during a look-up the answer
//! is 503 (`Unavailable`), and sessions the store confirmed lately (`known`) keep
//! working through an outage.

mod audit;
mod known;
mod layer;
mod login;
pub(crate) mod policy;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};

use super::AppState;
use crate::access::{Role, token_hash};
use crate::store::{Holder, Store};
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
pub(crate) use layer::{refuse, unavailable};
pub(super) use login::router as login_router;
pub(crate) use login::{SESSION_HOURS, clear_cookie, login_page, session_cookie, wants_json};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "sw_session";
/// Failures allowed per user name from one address within `WINDOW`.
const MAX_FAILURES: usize = 5;
const WINDOW: Duration = Duration::from_secs(300);
/// (user, address) pairs whose failures are tracked at most; past it, pairs with no
/// failure inside `WINDOW` give way first, then every pair.
const MAX_TRACKED: usize = 10_000;
/// How long a sign-in look-up may take before the answer is 503: far above a healthy
/// look-up (milliseconds), well below the pool's 5 s wait for a connection.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// The store failed or did not answer within `LOOKUP_TIMEOUT`: answer 503, never 401.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unavailable;

/// `look_up`, bounded by `LOOKUP_TIMEOUT`; any failure is `Unavailable` (and logged).
pub(crate) async fn bounded<T, E: std::fmt::Display>(
    what: &str,
    look_up: impl Future<Output = Result<T, E>>,
) -> Result<T, Unavailable> {
    match tokio::time::timeout(LOOKUP_TIMEOUT, look_up).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, what, "sign-in look-up failed; answering 503");
            Err(Unavailable)
        }
        Err(_) => {
            tracing::warn!(what, timeout = ?LOOKUP_TIMEOUT, "sign-in look-up timed out; answering 503");
            Err(Unavailable)
        }
    }
}

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

/// Shared state of the auth layer: whether users exist yet, recent log-in failures,
/// sessions the store confirmed lately, and the proxies whose `X-Forwarded-For` is
/// believed.
#[derive(Debug, Default)]
pub struct AuthState {
    closed: AtomicBool,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
    known: known::Known,
    trusted_proxies: Vec<IpAddr>,
}

impl AuthState {
    /// Auth state believing `X-Forwarded-For` only from `trusted_proxies`.
    pub fn new(trusted_proxies: Vec<IpAddr>) -> AuthState {
        AuthState {
            trusted_proxies,
            ..AuthState::default()
        }
    }

    /// Whether authentication is required: once a user exists it stays required. Only a
    /// successful read decides; a failure is `Unavailable` and the store is asked again
    /// next time.
    pub(crate) async fn required(&self, store: &Store) -> Result<bool, Unavailable> {
        if self.closed.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let closed = bounded("user count", store.user_count()).await? > 0;
        if closed {
            self.closed.store(true, Ordering::Relaxed);
        }
        Ok(closed)
    }

    /// Whether `key` has had too many failures lately.
    pub(crate) fn limited(&self, key: &str) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.get_mut(key).is_some_and(|q| {
            q.retain(|t| now.duration_since(*t) < WINDOW);
            q.len() >= MAX_FAILURES
        })
    }

    /// Counts a failed sign-in for `key`.
    pub(crate) fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED && !map.contains_key(key) {
            let now = Instant::now();
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
            if map.len() >= MAX_TRACKED {
                map.clear();
            }
        }
        map.entry(key.to_owned())
            .or_default()
            .push_back(Instant::now());
    }

    /// Forgets `key`'s failures after a sign-in.
    pub(crate) fn succeed(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }
}

/// The rate limit's key: a user name from one address, so failures for one name lock
/// neither the other names at that address nor that name elsewhere.
pub(crate) fn limit_key(user: &str, ip: &str) -> String {
    format!("{ip} {user}")
}

/// The principal behind a bearer token or a session cookie, if any. The store decides;
/// when it cannot, a principal it confirmed lately is taken, else `Unavailable`.
pub(crate) async fn authenticate(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, Unavailable> {
    let now = s.clock.now();
    let (hash, is_token) = match (bearer(headers), cookie(headers, COOKIE)) {
        (Some(token), _) => (token_hash(token), true),
        (None, Some(token)) => (token_hash(&token), false),
        (None, None) => return Ok(None),
    };
    let known = &s.auth.known;
    let Ok(holder) = ask_store(s, &hash, is_token).await else {
        return known.recall(&hash, now).map(Some).ok_or(Unavailable);
    };
    let who = holder.map(|h| {
        let p = Principal {
            name: h.name,
            role: h.role,
            csrf: (!is_token).then_some(h.csrf),
        };
        (p, h.expires_at)
    });
    known.confirmed(&hash, who.as_ref().map(|(p, until)| (p, *until)), now);
    Ok(who.map(|(p, _)| p))
}

/// The store's holder of `hash`, unless it failed lately (then it is left alone for a
/// moment) or fails now.
async fn ask_store(
    s: &AppState,
    hash: &str,
    is_token: bool,
) -> Result<Option<Holder>, Unavailable> {
    let known = &s.auth.known;
    if known.resting() {
        return Err(Unavailable);
    }
    let asked = if is_token {
        bounded("api token", s.store.api_token(hash)).await
    } else {
        bounded("session", s.store.session(hash, s.clock.now())).await
    };
    if asked.is_err() {
        known.failed();
    }
    asked
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
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

/// The client's address: the peer's, or when the peer is a trusted proxy, the last
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub(crate) fn client_ip(s: &AppState, ext: &Extensions, headers: &HeaderMap) -> String {
    let Some(peer) = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
        return String::new();
    };
    forwarded_for(peer, headers, &s.auth.trusted_proxies).to_string()
}

/// Walks `X-Forwarded-For` from the right while the hop that added it is trusted.
fn forwarded_for(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|a| a.trim().parse().ok())
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        if !trusted.contains(&client) {
            break;
        }
        client = hop;
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy = [ip("127.0.0.1")];
        let h = xff("203.0.113.9");
        assert_eq!(
            forwarded_for(ip("127.0.0.1"), &h, &proxy),
            ip("203.0.113.9")
        );
        assert_eq!(forwarded_for(ip("10.0.0.7"), &h, &proxy), ip("10.0.0.7"));
        assert_eq!(forwarded_for(ip("127.0.0.1"), &h, &[]), ip("127.0.0.1"));
    }

    #[test]
    fn a_forged_first_hop_is_not_believed() {
        // The client sent `1.1.1.1` itself; the proxy appended the real address.
        let h = xff("1.1.1.1, 203.0.113.9");
        let proxy = [ip("127.0.0.1")];
        assert_eq!(
            forwarded_for(ip("127.0.0.1"), &h, &proxy),
            ip("203.0.113.9")
        );
        let chain = [ip("127.0.0.1"), ip("10.0.0.2")];
        let h = xff("203.0.113.9, 10.0.0.2");
        assert_eq!(
            forwarded_for(ip("127.0.0.1"), &h, &chain),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn failures_for_one_user_leave_another_at_the_same_address_alone() {
        let a = AuthState::default();
        for _ in 0..MAX_FAILURES {
            a.fail(&limit_key("ghost", "10.0.0.1"));
        }
        assert!(a.limited(&limit_key("ghost", "10.0.0.1")));
        assert!(!a.limited(&limit_key("li", "10.0.0.1")));
        assert!(!a.limited(&limit_key("ghost", "10.0.0.2")));
    }
}
