//! `/api/v1/patrol`: scans from guards' phones (stored before the answer, judged, never
//! dropped), findings, today's tours, what is next for a guard, and the daily report.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::patrol::{
    Finding, FindingAction, FindingType, PatrolEvent, PatrolReport, Scan, ScanRecord, ScanSource,
    Subject, TagRef, Tour, TourProgress,
};

use super::{ApiError, ApiJson, AppState};
use crate::engine::Output;
use crate::scans::{IntakeError, ScanAnswer};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/patrol/scans", post(scan).get(scans))
        .route("/patrol/findings", post(finding))
        .route("/patrol/tours", get(tours))
        .route("/patrol/next", get(next))
        .route("/patrol/report", get(report))
}

/// A scan as a phone sends it; `scanned_at` is the phone's time (a queued scan keeps it).
#[derive(Debug, Deserialize)]
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
    let (answer, fresh) = crate::scans::take(&s.store, &s.engine, scan, true)
        .await
        .map_err(|e| match e {
            IntakeError::Store(e) => ApiError::Store(e),
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

#[derive(Deserialize)]
struct Range {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<i64>,
}

async fn scans(
    State(s): State<AppState>,
    Query(r): Query<Range>,
) -> Result<Json<Vec<ScanRecord>>, ApiError> {
    let to = r.to.unwrap_or_else(Utc::now);
    let from = r.from.unwrap_or(to - Duration::hours(24));
    Ok(Json(
        s.store
            .scans(from, to, r.limit.unwrap_or(1000).clamp(1, 10_000))
            .await?,
    ))
}

#[derive(Deserialize)]
struct FindingBody {
    id: String,
    kind: FindingType,
    text: String,
    photo: Option<String>,
    guard: String,
    checkpoint: Option<String>,
    tour: Option<String>,
    at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct FindingAnswer {
    finding: Finding,
    action: Option<FindingAction>,
}

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
    s.store.insert_finding(&finding).await?;
    let f = finding.clone();
    let action = s
        .engine
        .act(move |b, _| {
            let ev = b.patrol.finding(f);
            let action = match &ev {
                PatrolEvent::FindingRecorded { action, .. } => Some(*action),
                _ => None,
            };
            (action, vec![Output::Patrol(ev)])
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok((StatusCode::CREATED, Json(FindingAnswer { finding, action })))
}

#[derive(Deserialize)]
struct DateQuery {
    date: Option<NaiveDate>,
}

/// The site-local date asked for, today by default.
fn local_date(q: &DateQuery, tz: chrono_tz::Tz, now: DateTime<Utc>) -> NaiveDate {
    q.date
        .unwrap_or_else(|| now.with_timezone(&tz).date_naive())
}

async fn tours(
    State(s): State<AppState>,
    Query(q): Query<DateQuery>,
) -> Result<Json<Vec<Tour>>, ApiError> {
    let tours = s
        .engine
        .read(move |b, now| b.patrol.tours_on(local_date(&q, b.patrol.time_zone(), now)))
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(tours))
}

#[derive(Deserialize)]
struct NextQuery {
    guard: Option<String>,
    route: Option<String>,
}

async fn next(
    State(s): State<AppState>,
    Query(q): Query<NextQuery>,
) -> Result<Json<Option<TourProgress>>, ApiError> {
    let who = match (q.guard, q.route) {
        (Some(g), _) => Subject::Guard(g),
        (None, Some(r)) => Subject::Route(r),
        _ => return Err(ApiError::invalid("guard", "give `guard` or `route`")),
    };
    let next = s
        .engine
        .read(move |b, now| b.patrol.next_for(&who, now))
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(next))
}

async fn report(
    State(s): State<AppState>,
    Query(q): Query<DateQuery>,
) -> Result<Json<PatrolReport>, ApiError> {
    let report = s
        .engine
        .read(move |b, now| {
            b.patrol
                .daily_report(local_date(&q, b.patrol.time_zone(), now))
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(report))
}
