//! `/api/v1/alarms`: the standing alarm list, one alarm, the alarm history (journal),
//! and the operator's commands: acknowledge, shelve, unshelve, suppress, out of service.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sitewatch_core::alarms::{Alarm, AlarmCommand, AlarmError, AlarmEvent};

use super::{ApiError, ApiJson, AppState};
use crate::engine::Output;
use crate::store::EventRow;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/alarms", get(list))
        .route("/alarms/history", get(history))
        .route("/alarms/commands", post(command))
        .route("/alarms/{id}", get(one))
        .route("/alarms/{id}/acknowledge", post(acknowledge))
        .route("/alarms/{id}/shelve", post(shelve))
        .route("/alarms/{id}/unshelve", post(unshelve))
}

#[derive(Deserialize)]
struct ListQuery {
    /// Include alarms in normal too.
    #[serde(default)]
    all: bool,
}

async fn list(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Alarm>>, ApiError> {
    let alarms = s
        .engine
        .read(move |b, _| {
            let mut v: Vec<Alarm> = if q.all {
                b.alarms.alarms().cloned().collect()
            } else {
                b.alarms.standing().cloned().collect()
            };
            // Highest priority first, then oldest first: the order a duty engineer works in.
            v.sort_by(|a, b| {
                a.priority
                    .cmp(&b.priority)
                    .then(a.raised_at.cmp(&b.raised_at))
            });
            v
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    Ok(Json(alarms))
}

async fn one(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Alarm>, ApiError> {
    let key = id.clone();
    s.engine
        .read(move |b, _| b.alarms.alarm(&key).cloned())
        .await
        .ok_or(ApiError::Unavailable)?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("alarm `{id}`")))
}

#[derive(Deserialize)]
struct HistoryQuery {
    after: Option<i64>,
    limit: Option<i64>,
    /// The newest `latest` entries, newest first (the console's history list).
    latest: Option<i64>,
}

async fn history(
    State(s): State<AppState>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Vec<EventRow>>, ApiError> {
    if let Some(n) = q.latest {
        return Ok(Json(
            s.store.latest_events("alarm", n.clamp(1, 1000)).await?,
        ));
    }
    let limit = q.limit.unwrap_or(500).clamp(1, 10_000);
    Ok(Json(
        s.store
            .events(q.after.unwrap_or(0), Some("alarm"), limit)
            .await?,
    ))
}

/// Runs one alarm command in the engine and returns the transitions it caused.
pub(super) async fn run(
    s: &AppState,
    cmd: AlarmCommand,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    let result = s
        .engine
        .act(move |b, now| match b.alarms.command(cmd, now) {
            Ok(events) => (
                Ok(events.clone()),
                events
                    .into_iter()
                    .map(|e| Output::Alarm(Box::new(e)))
                    .collect(),
            ),
            Err(e) => (Err(e), Vec::new()),
        })
        .await
        .ok_or(ApiError::Unavailable)?;
    result.map(Json).map_err(alarm_error)
}

fn alarm_error(e: AlarmError) -> ApiError {
    match e {
        AlarmError::UnknownAlarm(_) => ApiError::NotFound(e.to_string()),
        AlarmError::EndsInPast(_) => ApiError::invalid("until", e.to_string()),
        AlarmError::MissingReason(_) => ApiError::invalid("reason", e.to_string()),
        _ => ApiError::Conflict(e.to_string()),
    }
}

async fn command(
    State(s): State<AppState>,
    ApiJson(cmd): ApiJson<AlarmCommand>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    run(&s, cmd).await
}

#[derive(Deserialize)]
struct Ack {
    actor: String,
    note: Option<String>,
}

async fn acknowledge(
    State(s): State<AppState>,
    Path(alarm): Path<String>,
    ApiJson(a): ApiJson<Ack>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    super::require_actor(&a.actor)?;
    run(
        &s,
        AlarmCommand::Acknowledge {
            alarm,
            actor: a.actor,
            note: a.note,
        },
    )
    .await
}

#[derive(Deserialize)]
struct ShelveBody {
    actor: String,
    reason: String,
    /// Until when; or `minutes` from now.
    until: Option<DateTime<Utc>>,
    minutes: Option<i64>,
}

async fn shelve(
    State(s): State<AppState>,
    Path(alarm): Path<String>,
    ApiJson(b): ApiJson<ShelveBody>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    super::require_actor(&b.actor)?;
    let until = match (b.until, b.minutes) {
        (Some(t), _) => t,
        (None, Some(m)) if m > 0 => s.clock.now() + Duration::minutes(m),
        _ => {
            return Err(ApiError::invalid(
                "until",
                "give `until` or a positive `minutes`",
            ));
        }
    };
    run(
        &s,
        AlarmCommand::Shelve {
            alarm,
            actor: b.actor,
            reason: b.reason,
            until,
        },
    )
    .await
}

async fn unshelve(
    State(s): State<AppState>,
    Path(alarm): Path<String>,
    ApiJson(a): ApiJson<Ack>,
) -> Result<Json<Vec<AlarmEvent>>, ApiError> {
    super::require_actor(&a.actor)?;
    run(
        &s,
        AlarmCommand::Unshelve {
            alarm,
            actor: a.actor,
        },
    )
    .await
}
