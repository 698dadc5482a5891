//! Refusals nobody's handler makes, as the stable error body under `/api/v1`: an unknown
//! route (404), a known route with a method it does not take (405, with `Allow`), and a
//! last pass that turns any other error answer that is not JSON (an axum extractor's plain
//! text, a bare status) into the error body, so a client reads every refusal one way.

use axum::body::to_bytes;
use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Most of a plain-text refusal read to become the message; axum's are one line.
const TEXT_LIMIT: usize = 16 * 1024;

/// No route under `/api/v1` matched.
pub(super) async fn no_route(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}

/// The route exists, but not with this method; the method router adds `Allow`.
pub(super) async fn wrong_method(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// Turns an error answer that is not JSON into the error body (see the module doc).
pub(super) async fn error_bodies(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&resp) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match to_bytes(body, TEXT_LIMIT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() || status.is_server_error() {
        status.canonical_reason().unwrap_or("refused").to_owned()
    } else {
        text
    };
    let mut out = ApiError::Refused { status, message }.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name, value.clone());
        }
    }
    out
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
