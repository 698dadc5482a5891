//! `GET /api/v1/stream`: live events as Server-Sent Events. A client that reconnects with
//! `Last-Event-ID` gets what it missed first; one too far behind gets a `reload` event.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{ApiError, ApiQuery, AppState};
use crate::engine::LiveEvent;

#[derive(OpenApi)]
#[openapi(paths(stream))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/stream", get(stream))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    /// Comma-separated kinds to receive (`alarm,incident,scan`); all when absent.
    kinds: Option<String>,
    /// Which point samples to pass; every poll's when absent.
    #[param(inline)]
    samples: Option<Samples>,
    /// Seconds, 1 to 60: when the stream has been quiet this long, a `heartbeat` event
    /// (data `{}`), so a page can tell a quiet stream from a stalled one. Without it, a
    /// comment every 15 s keeps the connection open.
    #[param(minimum = 1, maximum = 60)]
    heartbeat: Option<u64>,
}

#[derive(Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Samples {
    /// Every poll's sample.
    All,
    /// Only samples history keeps (past the deadband, or the heartbeat): what a sparkline
    /// needs, at a fraction of the traffic.
    Recorded,
}

/// Live events as Server-Sent Events; `Last-Event-ID` replays what was missed.
#[utoipa::path(get, path = "/stream", tag = "plant",
    params(StreamQuery, ("Last-Event-ID" = Option<u64>, Header, description = "The last event seen")),
    responses(
        (status = 200, description = "An event stream (`alarm`, `incident`, `scan`, …, and `reload`)",
            body = String, content_type = "text/event-stream"),
    ))]
async fn stream(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let kinds: Option<Vec<String>> = q
        .kinds
        .map(|k| k.split(',').map(|s| s.trim().to_owned()).collect());
    let recorded_only = q.samples == Some(Samples::Recorded);
    let keep_alive = keep_alive(q.heartbeat)?;
    let wanted = move |e: &LiveEvent| {
        kinds.as_ref().is_none_or(|k| k.iter().any(|x| x == e.kind))
            && !(recorded_only && e.recorded_sample() == Some(false))
    };
    let (replay, rx) = s.live.subscribe(last_id);
    let head: Vec<Event> = match replay {
        Some(events) => events.iter().filter(|e| wanted(e)).map(to_sse).collect(),
        None => vec![Event::default().event("reload").data("{}")],
    };
    let shutdown = s.shutdown.clone();
    let live = stream::unfold((rx, shutdown), move |(mut rx, shutdown)| async move {
        let next = tokio::select! {
            () = shutdown.cancelled() => return None,
            r = rx.recv() => r,
        };
        match next {
            Ok(ev) => Some((Some(ev), (rx, shutdown))),
            // Too slow to keep up: tell the page to reload rather than show a gap.
            Err(RecvError::Lagged(_)) => Some((None, (rx, shutdown))),
            Err(RecvError::Closed) => None,
        }
    });
    let filter = wanted.clone();
    let live = live.filter_map(move |ev| {
        let out = match ev {
            Some(e) if filter(&e) => Some(to_sse(&e)),
            Some(_) => None,
            None => Some(Event::default().event("reload").data("{}")),
        };
        async move { out }
    });
    let all = stream::iter(head).chain(live).map(Ok);
    Ok(Sse::new(all).keep_alive(keep_alive))
}

/// A named `heartbeat` event every `secs` of quiet, or the 15 s comment.
fn keep_alive(secs: Option<u64>) -> Result<KeepAlive, ApiError> {
    match secs {
        None => Ok(KeepAlive::new().interval(Duration::from_secs(15))),
        Some(s @ 1..=60) => Ok(KeepAlive::new()
            .interval(Duration::from_secs(s))
            .event(Event::default().event("heartbeat").data("{}"))),
        Some(_) => Err(ApiError::invalid("heartbeat", "seconds from 1 to 60")),
    }
}

fn to_sse(e: &LiveEvent) -> Event {
    Event::default()
        .id(e.id.to_string())
        .event(e.kind)
        .data(e.data())
}
