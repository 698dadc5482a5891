//! `/api/v1/handovers` and `/api/v1/duty-log`: the shift hand-over (交接班, rules.md §1.5,
//! §13.19). Starting one lists every open item at that moment (unacknowledged alarms, open
//! incidents, open repairs and complaints, with overdue deadlines and follow-ups flagged);
//! the outgoing shift adds notes; the incoming shift acknowledges each item; completing
//! needs every item acknowledged. The duty log holds the staff's entries per shift and,
//! read back, the hand-overs of the same span (reviewable by the manager).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{Handover, HandoverAction, HandoverId};

use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::page::{ApiQuery, Page, Paged};
use super::{ApiError, ApiJson, AppState, ErrorBody};
use crate::engine::{HandoverAnswer, HandoverCmd};
use crate::store::DutyEntry;

#[derive(OpenApi)]
#[openapi(paths(list, start, one, command, log, write))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/handovers", get(list).post(start))
        .route("/handovers/{id}", get(one))
        .route("/handovers/{id}/commands", post(command))
        .route("/duty-log", get(log).post(write))
}

/// The outgoing shift starts a hand-over.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StartBody {
    outgoing: String,
    /// A note for the whole shift.
    note: Option<String>,
}

/// Starts a hand-over listing every open item now.
#[utoipa::path(post, path = "/handovers", tag = "duty", request_body = StartBody,
    responses(
        (status = 201, description = "The hand-over with its open items", body = StoredHandover),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "No outgoing person named", body = ErrorBody),
    ))]
async fn start(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<StartBody>,
) -> Result<(StatusCode, Json<StoredHandover>), ApiError> {
    super::require_actor(&b.outgoing)?;
    let cmd = HandoverCmd::Start {
        outgoing: b.outgoing,
        note: b.note,
    };
    let answer = s.engine.handover(cmd).await?;
    Ok((StatusCode::CREATED, Json(answer.into())))
}

/// A hand-over with its number, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
struct StoredHandover {
    /// Its number.
    id: HandoverId,
    /// The record.
    #[serde(flatten)]
    handover: Handover,
}

impl From<HandoverAnswer> for StoredHandover {
    fn from(a: HandoverAnswer) -> Self {
        Self {
            id: a.id,
            handover: a.handover,
        }
    }
}

/// Hand-overs started in `[from, to)`, by number.
async fn started_between(
    s: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StoredHandover>, ApiError> {
    let list = s
        .engine
        .handovers(from, to)
        .await
        .ok_or(ApiError::Unavailable)?;
    let list = list.into_iter();
    Ok(list
        .map(|(id, handover)| StoredHandover { id, handover })
        .collect())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct Span {
    /// From this time (inclusive).
    from: Option<DateTime<Utc>>,
    /// Before this time.
    to: Option<DateTime<Utc>>,
}

/// A span with a page: the hand-over list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Started at or after this time.
    from: Option<DateTime<Utc>>,
    /// Started before this time.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

impl Span {
    fn bounds(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
        let from = self.from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let to = self.to.unwrap_or(DateTime::<Utc>::MAX_UTC);
        if to <= from {
            return Err(ApiError::invalid("to", "`to` must be after `from`"));
        }
        Ok((from, to))
    }
}

/// Kept hand-overs, oldest first.
#[utoipa::path(get, path = "/handovers", tag = "duty", params(ListQuery),
    responses(
        (status = 200, description = "One page of hand-overs", body = Vec<StoredHandover>),
        (status = 422, description = "Bad `limit`, `offset` or window", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Paged<Vec<StoredHandover>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let span = Span {
        from: q.from,
        to: q.to,
    };
    let (from, to) = span.bounds()?;
    Ok(page.slice(started_between(&s, from, to).await?))
}

/// One hand-over.
#[utoipa::path(get, path = "/handovers/{id}", tag = "duty",
    params(("id" = i64, Path, description = "Hand-over number")),
    responses(
        (status = 200, description = "The hand-over", body = StoredHandover),
        (status = 404, description = "No such hand-over", body = ErrorBody),
    ))]
async fn one(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<StoredHandover>, ApiError> {
    let handover = s
        .engine
        .handover_by_id(id)
        .await
        .ok_or(ApiError::Unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("hand-over {id}")))?;
    Ok(Json(StoredHandover { id, handover }))
}

/// Who takes a step, and which.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct HandoverCommandBody {
    actor: String,
    action: HandoverAction,
}

/// A note (overall or per item) from the outgoing shift, an acknowledgement of an item
/// or the completion by the incoming shift.
#[utoipa::path(post, path = "/handovers/{id}/commands", tag = "duty", request_body = HandoverCommandBody,
    params(("id" = i64, Path, description = "Hand-over number")),
    responses(
        (status = 200, description = "The hand-over after the step", body = StoredHandover),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such hand-over", body = ErrorBody),
        (status = 409, description = "Complete already, items unacknowledged, or the outgoing person taking over", body = ErrorBody),
        (status = 422, description = "Unknown item reference or empty note", body = ErrorBody),
    ))]
async fn command(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<HandoverCommandBody>,
) -> Result<Json<StoredHandover>, ApiError> {
    super::require_actor(&b.actor)?;
    let cmd = HandoverCmd::Step {
        id,
        actor: b.actor,
        action: b.action,
    };
    Ok(Json(s.engine.handover(cmd).await?.into()))
}

fn non_empty(text: &str) -> Result<&str, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid("text", "a note must say something"));
    }
    Ok(text)
}

/// An entry for the duty log.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EntryBody {
    author: String,
    /// The shift, e.g. `2026-11-24 early`.
    shift: String,
    text: String,
}

/// Writes an entry in the duty log.
#[utoipa::path(post, path = "/duty-log", tag = "duty", request_body = EntryBody,
    responses(
        (status = 201, description = "The entry", body = DutyEntry),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "No author, shift or text", body = ErrorBody),
        (status = 503, description = "`not_yet_stored`: written, but not stored yet (do not send it again); `unavailable`: engine stopped", body = ErrorBody),
    ))]
async fn write(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<EntryBody>,
) -> Result<(StatusCode, Json<DutyEntry>), ApiError> {
    super::require_actor(&b.author)?;
    if b.shift.trim().is_empty() {
        return Err(ApiError::invalid("shift", "name the shift"));
    }
    let text = non_empty(&b.text)?.to_owned();
    // Through the engine: the hand-over book numbers it and the writer keeps it with its
    // journal entry, so 201 means stored (503 `not_yet_stored`: made, written later).
    let cmd = HandoverCmd::Log {
        author: b.author,
        shift: b.shift,
        text,
    };
    let entry = s.engine.duty_log(cmd).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// The duty log of a span: entries and hand-overs.
#[derive(Serialize, ToSchema)]
struct DutyLog {
    entries: Vec<DutyEntry>,
    handovers: Vec<StoredHandover>,
}

/// The duty log of a span, for the manager's review.
#[utoipa::path(get, path = "/duty-log", tag = "duty", params(Span),
    responses(
        (status = 200, description = "Entries and hand-overs in the span", body = DutyLog),
        (status = 422, description = "`to` not after `from`", body = ErrorBody),
    ))]
async fn log(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<Span>,
) -> Result<Json<DutyLog>, ApiError> {
    let (from, to) = q.bounds()?;
    Ok(Json(DutyLog {
        entries: s.store.duty_entries(from, to).await?,
        handovers: started_between(&s, from, to).await?,
    }))
}
