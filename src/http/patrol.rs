//! `/api/v1/patrol`: scans from guards' phones (stored before the answer, judged, never
//! dropped), findings, today's tours, what is next for a guard, and the daily report.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::patrol::{
    Finding, FindingAction, FindingType, PatrolReport, Scan, ScanRecord, ScanSource, Subject,
    TagRef, Tour, TourProgress,
};

use utoipa::{IntoParams, OpenApi, ToSchema};

use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody};
use crate::scans::{IntakeError, ScanAnswer};

#[derive(OpenApi)]
#[openapi(paths(scan, scans, finding, tours, next, report))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/patrol/scans", post(scan).get(scans))
        .route("/patrol/findings", post(finding))
        .route("/patrol/tours", get(tours))
        .route("/patrol/next", get(next))
        .route("/patrol/report", get(report))
}

/// A scan as a phone sends it; `scanned_at` is the phone's time (a queued scan keeps it).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ScanBody {
    /// Client-made id, so a resent queue is recognised.
    pub id: String,
    /// NFC tag UID, as the phone read it.
    pub tag_uid: Option<String>,
    /// The printed short code, for phones without NFC.
    pub short_code: Option<String>,
    /// The guard.
    pub guard: String,
    /// When the tag was scanned; now when absent.
    pub scanned_at: Option<DateTime<Utc>>,
}

/// Takes a scan from a guard's phone: stored before the answer, judged, never dropped.
#[utoipa::path(post, path = "/patrol/scans", tag = "patrol", request_body = ScanBody,
    responses(
        (status = 201, description = "A new scan, judged", body = ScanAnswer),
        (status = 200, description = "A scan already received (a resend), as judged then", body = ScanAnswer),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`id`, `guard`, `tag_uid`)", body = ErrorBody),
    ))]
async fn scan(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<ScanBody>,
) -> Result<(StatusCode, Json<ScanAnswer>), ApiError> {
    super::require_actor(&b.guard)?;
    super::require_client_id(&b.id, "a scan")?;
    let tag = match (b.tag_uid, b.short_code) {
        (Some(uid), _) if !uid.trim().is_empty() => TagRef::Uid(uid),
        (_, Some(code)) if !code.trim().is_empty() => TagRef::ShortCode(code),
        _ => {
            return Err(ApiError::invalid(
                "tag_uid",
                "give the tag's `tag_uid` or its `short_code`",
            ));
        }
    };
    let now = s.clock.now();
    // Until sign-in exists (issue 7) the page's guard is trusted: one token per guard.
    let token = format!("web:{}", b.guard);
    let scan = Scan {
        id: b.id,
        tag,
        source: ScanSource::Phone {
            token: token.clone(),
        },
        guard: b.guard,
        scanned_at: b.scanned_at.unwrap_or(now),
        received_at: now,
    };
    let (answer, fresh) = crate::scans::take(&s.writes, &s.engine, scan, true)
        .await
        .map_err(|e| match e {
            IntakeError::NotStored => ApiError::StoreUnavailable,
            IntakeError::Unavailable => ApiError::Unavailable,
        })?;
    Ok((
        if fresh {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(answer),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct Range {
    /// Received at or after; 24 hours before `to` by default.
    from: Option<DateTime<Utc>>,
    /// Received before; now by default.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// Judged scans received in the window, oldest first.
#[utoipa::path(get, path = "/patrol/scans", tag = "patrol", params(Range),
    responses(
        (status = 200, description = "One page of scans", body = Vec<ScanRecord>),
        (status = 422, description = "Bad time or paging parameter", body = ErrorBody),
    ))]
async fn scans(
    State(s): State<AppState>,
    ApiQuery(r): ApiQuery<Range>,
) -> Result<Paged<Vec<ScanRecord>>, ApiError> {
    let page = Page::new(r.limit, r.offset)?;
    let to = r.to.unwrap_or_else(|| s.clock.now());
    let from = r.from.unwrap_or(to - Duration::hours(24));
    Window::new(Some(from), Some(to))?;
    let rows = s.store.scans(from, to, page.offset, page.fetch()).await?;
    Ok(page.of_fetched(rows))
}

/// A finding as a guard's phone sends it.
#[derive(Deserialize, ToSchema)]
struct FindingBody {
    /// Client-made id, so a resend is recognised.
    id: String,
    #[schema(value_type = String)]
    kind: FindingType,
    text: String,
    photo: Option<String>,
    guard: String,
    checkpoint: Option<String>,
    tour: Option<String>,
    at: Option<DateTime<Utc>>,
}

/// The finding as kept, and what it set off.
#[derive(Serialize, ToSchema)]
struct FindingAnswer {
    #[schema(value_type = Object)]
    finding: Finding,
    #[schema(value_type = Object)]
    action: FindingAction,
    /// True when a finding with this id was already kept: nothing new was done.
    resent: bool,
}

/// Records a finding (a photo, if any, uploaded first to /api/v1/files).
#[utoipa::path(post, path = "/patrol/findings", tag = "patrol", request_body = FindingBody,
    responses(
        (status = 201, description = "The finding kept", body = FindingAnswer),
        (status = 200, description = "A resend of a finding already kept (its id): answered again, acted on once", body = FindingAnswer),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid (`id`, `guard`, `photo`)", body = ErrorBody),
    ))]
async fn finding(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<FindingBody>,
) -> Result<(StatusCode, Json<FindingAnswer>), ApiError> {
    super::require_actor(&b.guard)?;
    super::require_client_id(&b.id, "a finding")?;
    if let Some(photo) = &b.photo
        && !s.store.file_exists(photo).await?
    {
        let message = format!("no uploaded file `{photo}`; POST it to /api/v1/files first");
        return Err(ApiError::invalid("photo", message));
    }
    let finding = Finding {
        id: b.id,
        kind: b.kind,
        text: b.text,
        photo: b.photo,
        guard: b.guard,
        checkpoint: b.checkpoint,
        tour: b.tour,
        at: b.at.unwrap_or_else(Utc::now),
    };
    let (action, resent) = s.engine.finding(finding.clone()).await?;
    let status = match resent {
        true => StatusCode::OK,
        false => StatusCode::CREATED,
    };
    let answer = FindingAnswer {
        finding,
        action,
        resent,
    };
    Ok((status, Json(answer)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DateQuery {
    /// The site-local date; today by default.
    date: Option<NaiveDate>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ToursQuery {
    /// The site-local date; today by default.
    date: Option<NaiveDate>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// The day's tours with their progress.
#[utoipa::path(get, path = "/patrol/tours", tag = "patrol", params(ToursQuery),
    responses(
        (status = 200, description = "One page of tours", body = Vec<Object>),
        (status = 422, description = "Bad date or paging parameter", body = ErrorBody),
    ))]
async fn tours(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ToursQuery>,
) -> Result<Paged<Vec<Tour>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let tours = s.engine.tours(q.date).await.ok_or(ApiError::Unavailable)?;
    Ok(page.slice(tours))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct NextQuery {
    /// The guard (a guard may ask only about themselves).
    guard: Option<String>,
    /// Or the route.
    route: Option<String>,
}

/// The tour in progress with the daemon's `now`: a phone works out the time left from
/// `now` and `next_due_at`, so a phone whose own clock is wrong still shows it right.
#[derive(Serialize)]
struct NextView {
    #[serde(flatten)]
    progress: TourProgress,
    /// The daemon's time when it answered.
    now: DateTime<Utc>,
}

/// The next checkpoint for a guard or a route, with the daemon's `now`.
#[utoipa::path(get, path = "/patrol/next", tag = "patrol", params(NextQuery),
    responses(
        (status = 200, description = "The tour in progress with the daemon's `now` (time left is `next_due_at` − `now`), or null", body = Option<Object>),
        (status = 422, description = "Neither `guard` nor `route`", body = ErrorBody),
    ))]
async fn next(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<NextQuery>,
) -> Result<Json<Option<NextView>>, ApiError> {
    let who = match (q.guard, q.route) {
        (Some(g), _) => Subject::Guard(g),
        (None, Some(r)) => Subject::Route(r),
        _ => return Err(ApiError::invalid("guard", "give `guard` or `route`")),
    };
    let next = s
        .engine
        .next_checkpoint(who)
        .await
        .ok_or(ApiError::Unavailable)?;
    let now = s.clock.now();
    Ok(Json(next.map(|progress| NextView { progress, now })))
}

/// The daily patrol report.
#[utoipa::path(get, path = "/patrol/report", tag = "patrol", params(DateQuery),
    responses(
        (status = 200, description = "The report for the day", body = Object),
        (status = 422, description = "Bad date", body = ErrorBody),
    ))]
async fn report(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DateQuery>,
) -> Result<Json<PatrolReport>, ApiError> {
    let report = s
        .engine
        .patrol_report(q.date)
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(report))
}
