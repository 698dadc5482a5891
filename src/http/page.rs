//! One paging convention for every list under `/api/v1`: `limit` (default 1000, at most
//! 10000; outside 1..=10000 is refused with 422 and `field: "limit"`) and `offset` (items to
//! skip, default 0). Lists stay bare JSON arrays (the dashboard reads them as they are);
//! when more items follow, the answer carries `X-Next-Offset` (the `offset` of the next
//! page) and a `Link: <…>; rel="next"` header. `X-Total-Count` is set where the total is
//! known without a second query. Time windows (`from` inclusive, `to` exclusive) are
//! checked here too, so every list refuses a backwards window the same way.

use axum::Json;
use axum::extract::{FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ApiError;

/// Items per page when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: i64 = 1000;
/// The most items one page may hold.
pub(crate) const MAX_LIMIT: i64 = 10_000;

/// The offset of the next page, when there is one.
pub(crate) const NEXT_OFFSET: HeaderName = HeaderName::from_static("x-next-offset");
/// How many items the whole list has, where known.
pub(crate) const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");

/// A checked page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// Items on this page.
    pub limit: i64,
    /// Items skipped before it.
    pub offset: i64,
}

impl Page {
    /// Checks `limit` and `offset` as the query gave them.
    pub(crate) fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Page, ApiError> {
        let limit = match limit.unwrap_or(DEFAULT_LIMIT) {
            n @ 1..=MAX_LIMIT => n,
            n => {
                let message = format!("limit {n} is outside 1..={MAX_LIMIT}");
                return Err(ApiError::invalid("limit", message));
            }
        };
        let offset = match offset.unwrap_or(0) {
            n if n >= 0 => n,
            n => {
                return Err(ApiError::invalid(
                    "offset",
                    format!("offset {n} is negative"),
                ));
            }
        };
        Ok(Page { limit, offset })
    }

    /// Rows to ask the store for: one more than the page, so a next page is seen without
    /// counting.
    pub(crate) fn fetch(self) -> i64 {
        self.limit + 1
    }

    /// A page of rows the store returned for `offset` and [`Page::fetch`].
    pub(crate) fn of_fetched<T>(self, mut rows: Vec<T>) -> Paged<Vec<T>> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        Paged {
            body: rows,
            next: more.then_some(self.offset + self.limit),
            total: None,
        }
    }

    /// A page cut from a whole list held in memory.
    pub(crate) fn slice<T>(self, items: Vec<T>) -> Paged<Vec<T>> {
        let total = items.len();
        let end = (self.offset + self.limit) as usize;
        let page: Vec<T> = items
            .into_iter()
            .skip(self.offset as usize)
            .take(self.limit as usize)
            .collect();
        Paged {
            body: page,
            next: (end < total).then_some(end as i64),
            total: Some(total),
        }
    }
}

/// One page of a list, answered as JSON with the paging headers.
#[derive(Debug)]
pub(crate) struct Paged<T> {
    /// What is sent.
    pub body: T,
    /// The next page's offset, if more items follow.
    pub next: Option<i64>,
    /// Items in the whole list, where known.
    pub total: Option<usize>,
}

impl<T> Paged<T> {
    /// A list answered whole: no next page.
    pub(crate) fn whole(body: T) -> Paged<T> {
        Paged {
            body,
            next: None,
            total: None,
        }
    }

    /// The same paging around another body (a list wrapped in an object).
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Paged<U> {
        Paged {
            body: f(self.body),
            next: self.next,
            total: self.total,
        }
    }
}

impl<T: Serialize> IntoResponse for Paged<T> {
    fn into_response(self) -> Response {
        let mut resp = Json(self.body).into_response();
        let headers = resp.headers_mut();
        if let Some(total) = self.total {
            headers.insert(TOTAL_COUNT, HeaderValue::from(total));
        }
        if let Some(next) = self.next {
            headers.insert(NEXT_OFFSET, HeaderValue::from(next));
        }
        resp
    }
}

/// Adds `Link: <…>; rel="next"` to every answer that says a next page exists; the handler
/// knows the offset, this layer knows the request's URI.
pub(crate) async fn link_next(req: Request, next: Next) -> Response {
    // Inside a nested router the URI lacks the prefix; the original one has it.
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().clone(), |o| o.0.clone());
    let mut resp = next.run(req).await;
    let offset = resp
        .headers()
        .get(&NEXT_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    if let Some(offset) = offset {
        let link = format!("<{}>; rel=\"next\"", next_uri(&uri, offset));
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    resp
}

/// The request's path and query with `offset` set to `next`.
fn next_uri(uri: &axum::http::Uri, next: i64) -> String {
    let mut pairs: Vec<String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("offset="))
        .map(str::to_owned)
        .collect();
    pairs.push(format!("offset={next}"));
    format!("{}?{}", uri.path(), pairs.join("&"))
}

/// A time window from the query: `from` inclusive, `to` exclusive; either may be open.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Window {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

impl Window {
    /// Checks that the window does not run backwards.
    pub(crate) fn new(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Window, ApiError> {
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(ApiError::invalid("to", "`to` is before `from`"));
        }
        Ok(Window { from, to })
    }

    /// Whether `at` falls in the window; a record without the time is kept only when the
    /// window is open on both sides.
    pub(crate) fn contains(&self, at: Option<DateTime<Utc>>) -> bool {
        match at {
            Some(t) => self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e),
            None => self.from.is_none() && self.to.is_none(),
        }
    }

    /// Store bounds in milliseconds, open sides as the extremes.
    pub(crate) fn millis(&self) -> (i64, i64) {
        (
            self.from.map_or(i64::MIN, |t| t.timestamp_millis()),
            self.to.map_or(i64::MAX, |t| t.timestamp_millis()),
        )
    }
}

/// The query of a list that takes no parameters: any parameter is refused, since one sent
/// is a mistake the caller should hear about, not a filter silently ignored.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoParams {}

/// A query string whose rejections answer with the stable error body and the parameter at
/// fault (axum's own answers in plain text).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        match serde_path_to_error::deserialize(de) {
            Ok(v) => Ok(ApiQuery(v)),
            Err(e) => {
                let field = field_of(&e.path().to_string(), &e.inner().to_string());
                let message = format!("query parameter `{field}`: {}", e.inner());
                Err(ApiError::BadParameter { field, message })
            }
        }
    }
}

/// The parameter an error is about: its path, or the name serde quotes for a missing or
/// unknown field (those errors sit at the root).
fn field_of(path: &str, message: &str) -> String {
    if path != "." && !path.is_empty() {
        return path.to_owned();
    }
    message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"))
        .unwrap_or("query")
        .to_owned()
}
