//! Fire-system tests (消防系统测试, rules.md §13.15, §7.3): a `fire_system_test` notice may
//! name the fire panel devices; for the notice's window their alarms are suppressed (the
//! alarm engine's own suppression by device, put in place by the engine tick, `engine::due`, when the
//! window begins and lifted by the engine when it ends), so a planned test pages nobody.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};

use utoipa::OpenApi;

use super::page::{ApiQuery, NoParams};
use super::{ApiError, ApiPath, AppState, ErrorBody};
use crate::register::notices::NoticeTemplate;
use crate::store::FireTest;

#[derive(OpenApi)]
#[openapi(paths(of_notice))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/notices/{id}/fire-tests", get(of_notice))
}

/// Checks the devices a notice names before it is issued: only a fire-system test with a
/// window still to come names devices, and each must be configured.
pub(super) fn check(
    s: &AppState,
    template: NoticeTemplate,
    devices: &[String],
    window: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
) -> Result<(), ApiError> {
    if devices.is_empty() {
        return Ok(());
    }
    if template != NoticeTemplate::FireSystemTest {
        return Err(ApiError::invalid(
            "devices",
            "only a fire_system_test notice suppresses devices",
        ));
    }
    let Some(ends_at) = window.0.and(window.1) else {
        return Err(ApiError::invalid(
            "ends_at",
            "a fire-system test that suppresses alarms needs its start and end",
        ));
    };
    // A window already over would be kept but never applied: say so instead.
    if ends_at <= s.clock.now() {
        return Err(ApiError::invalid(
            "ends_at",
            "the test window has already ended",
        ));
    }
    if let Some(unknown) = devices
        .iter()
        .find(|d| !s.devices.iter().any(|c| &c.config.id == *d))
    {
        return Err(ApiError::invalid(
            "devices",
            format!("device `{unknown}` is not configured"),
        ));
    }
    Ok(())
}

/// Keeps the planned test of an issued notice (checked by [`check`] first).
pub(super) async fn plan(
    s: &AppState,
    notice: i64,
    devices: Vec<String>,
    window: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    by: &str,
) -> Result<(), ApiError> {
    let (Some(starts_at), Some(ends_at)) = window else {
        return Ok(());
    };
    if devices.is_empty() {
        return Ok(());
    }
    let mut test = FireTest {
        id: 0,
        notice,
        devices,
        starts_at,
        ends_at,
        created_by: by.to_owned(),
        applied_at: None,
    };
    test.id = s.store.insert_fire_test(&test, s.clock.now()).await?;
    s.engine.plan_fire_test(test).await?;
    Ok(())
}

/// The fire-system tests a notice announced, with the devices kept quiet and when.
#[utoipa::path(get, path = "/notices/{id}/fire-tests", tag = "notices",
    params(("id" = i64, Path, description = "Notice number")),
    responses(
        (status = 200, description = "The notice's planned tests", body = Vec<FireTest>),
        (status = 404, description = "No such notice", body = ErrorBody),
        (status = 422, description = "A query parameter (this list takes none)", body = ErrorBody),
    ))]
async fn of_notice(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<FireTest>>, ApiError> {
    s.store
        .notice(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("notice {id}")))?;
    Ok(Json(s.store.notice_fire_tests(id).await?))
}
