//! `/api/v1/maintenance` and `/api/v1/pump-sets`: pump and plant maintenance (rules.md
//! §13.13, seed 001:849). Tasks with their interval and due date, done with the running
//! data read then (the next date moves on by the interval); `/maintenance/due` is the duty
//! board's list (due within 7 days or overdue). Pump sets with their last switch-over,
//! read from the pumps' run points where named, else recorded by hand. Lines put one at a
//! time or imported by CSV (all or nothing). Every change goes through the engine's
//! maintenance book and is kept with its journal entry before the answer.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::maintenance::{
    MaintenanceEvent, MaintenanceTask, PumpSet, RunningData, TaskKind, TaskState,
};
use utoipa::{OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams};
use super::{ApiError, ApiJson, ApiPath, AppState, ErrorBody};
use crate::customers::import::text_of;
use crate::customers::maintenance::{parse_pump_sets, parse_tasks};
use crate::engine::{MaintenanceCmd, Registers};

#[derive(OpenApi)]
#[openapi(paths(
    list,
    put,
    import,
    due,
    done,
    pump_sets,
    put_pump_set,
    import_pump_sets,
    switch_over
))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/maintenance", get(list).post(put))
        .route("/maintenance/import", post(import))
        .route("/maintenance/due", get(due))
        .route("/maintenance/{id}/done", post(done))
        .route("/pump-sets", get(pump_sets).post(put_pump_set))
        .route("/pump-sets/import", post(import_pump_sets))
        .route("/pump-sets/{id}/switch-over", post(switch_over))
}

/// A task with where it stands today (site time).
#[derive(Serialize, ToSchema)]
struct TaskView {
    #[serde(flatten)]
    task: MaintenanceTask,
    state: TaskState,
}

/// A pump set with whether its switch-over is read from its points.
#[derive(Serialize, ToSchema)]
struct PumpSetView {
    #[serde(flatten)]
    set: PumpSet,
    derived: bool,
}

async fn registers(s: &AppState) -> Result<Box<Registers>, ApiError> {
    s.engine.registers().await.ok_or(ApiError::Unavailable)
}

fn task_views(r: &Registers) -> Vec<TaskView> {
    (r.maintenance.tasks())
        .map(|t| TaskView {
            state: t.state(r.today),
            task: t.clone(),
        })
        .collect()
}

/// Every task, by id, with its state today.
#[utoipa::path(get, path = "/maintenance", tag = "maintenance",
    responses(
        (status = 200, description = "The tasks", body = Vec<TaskView>),
        (status = 422, description = "A query parameter (this list takes none)", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    Ok(Json(task_views(&*registers(&s).await?)))
}

/// Tasks due within 7 days or overdue, soonest first (the duty board's list).
#[utoipa::path(get, path = "/maintenance/due", tag = "maintenance",
    responses(
        (status = 200, description = "Due soon or overdue", body = Vec<TaskView>),
        (status = 422, description = "A query parameter (this list takes none)", body = ErrorBody),
    ))]
async fn due(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    let mut list: Vec<TaskView> = (task_views(&*registers(&s).await?).into_iter())
        .filter(|v| v.state != TaskState::Ok)
        .collect();
    list.sort_by_key(|v| v.task.next_due);
    Ok(Json(list))
}

/// A task added or changed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TaskBody {
    id: String,
    equipment: String,
    kind: TaskKind,
    name: String,
    /// Months between two doings; a §13.13 kind's own when absent.
    #[serde(default)]
    interval_months: Option<u32>,
    #[serde(default)]
    last_done: Option<NaiveDate>,
    /// One interval after `last_done` when absent.
    #[serde(default)]
    next_due: Option<NaiveDate>,
    actor: String,
}

/// Adds or replaces a task.
#[utoipa::path(post, path = "/maintenance", tag = "maintenance", request_body = TaskBody,
    responses(
        (status = 200, description = "What the book did", body = Object),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "A field is invalid (`id`, `equipment`, `name`, `interval_months`, `next_due`, `actor`)", body = ErrorBody),
    ))]
async fn put(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<TaskBody>,
) -> Result<Json<MaintenanceEvent>, ApiError> {
    for (field, value) in [
        ("id", &b.id),
        ("equipment", &b.equipment),
        ("name", &b.name),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::invalid(field, format!("give the task's {field}")));
        }
    }
    super::require_actor(&b.actor)?;
    let interval_months = match b.interval_months.or(b.kind.default_months()) {
        Some(n) if n > 0 => n,
        _ => {
            return Err(ApiError::invalid(
                "interval_months",
                "give the months between two doings",
            ));
        }
    };
    let mut task = MaintenanceTask {
        id: b.id,
        equipment: b.equipment,
        kind: b.kind,
        name: b.name,
        interval_months,
        last_done: b.last_done,
        next_due: NaiveDate::MIN,
    };
    task.next_due = match (b.next_due, b.last_done) {
        (Some(d), _) => d,
        (None, Some(last)) => task.after(last),
        (None, None) => {
            return Err(ApiError::invalid(
                "next_due",
                "give `next_due` or `last_done`",
            ));
        }
    };
    let cmd = MaintenanceCmd::PutTasks(vec![task]);
    Ok(Json(s.engine.maintenance(cmd).await?))
}

/// What an import stored.
#[derive(Serialize, ToSchema)]
struct MaintenanceImported {
    imported: usize,
}

async fn import_with(
    s: &AppState,
    body: &[u8],
    cmd: impl FnOnce(&str) -> Result<(usize, MaintenanceCmd), Vec<crate::customers::RowProblem>>,
) -> Result<Json<MaintenanceImported>, ApiError> {
    let text = text_of(body).map_err(|p| ApiError::InvalidRows(vec![p]))?;
    let (imported, cmd) = cmd(text).map_err(ApiError::InvalidRows)?;
    s.engine.maintenance(cmd).await?;
    Ok(Json(MaintenanceImported { imported }))
}

/// Imports tasks from CSV, all or nothing: columns `id, equipment, kind, name` and
/// `interval_months, last_done, next_due`.
#[utoipa::path(post, path = "/maintenance/import", tag = "maintenance",
    request_body(content = String, content_type = "text/csv", description = "The tasks as CSV"),
    responses(
        (status = 200, description = "Every row stored", body = MaintenanceImported),
        (status = 422, description = "Bad rows, each with its line (nothing stored)", body = ErrorBody),
    ))]
async fn import(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
    body: axum::body::Bytes,
) -> Result<Json<MaintenanceImported>, ApiError> {
    import_with(&s, &body, |text| {
        let tasks = parse_tasks(text)?;
        Ok((tasks.len(), MaintenanceCmd::PutTasks(tasks)))
    })
    .await
}

/// A task done.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TaskDoneBody {
    /// The site-local day it was done.
    on: NaiveDate,
    /// The running data read then (pressure, current, hours).
    #[serde(default)]
    running: RunningData,
    actor: String,
}

/// Records a task done: the next is due one interval later.
#[utoipa::path(post, path = "/maintenance/{id}/done", tag = "maintenance",
    params(("id" = String, Path, description = "Task id")), request_body = TaskDoneBody,
    responses(
        (status = 200, description = "What the book did (the record and the next date)", body = Object),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 422, description = "A field is invalid (`on` in the future, `actor`)", body = ErrorBody),
    ))]
async fn done(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<TaskDoneBody>,
) -> Result<Json<MaintenanceEvent>, ApiError> {
    super::require_actor(&b.actor)?;
    let cmd = MaintenanceCmd::Done {
        task: id,
        on: b.on,
        by: b.actor,
        running: b.running,
    };
    Ok(Json(s.engine.maintenance(cmd).await?))
}

/// Every pump set, by id, with its last switch-over.
#[utoipa::path(get, path = "/pump-sets", tag = "maintenance",
    responses(
        (status = 200, description = "The pump sets", body = Vec<PumpSetView>),
        (status = 422, description = "A query parameter (this list takes none)", body = ErrorBody),
    ))]
async fn pump_sets(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<PumpSetView>>, ApiError> {
    let r = registers(&s).await?;
    let list = (r.maintenance.pump_sets())
        .map(|set| PumpSetView {
            derived: set.derived(),
            set: set.clone(),
        })
        .collect();
    Ok(Json(list))
}

/// A pump set added or changed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PumpSetBody {
    id: String,
    name: String,
    /// Pump A's run-state point (with `run_b`: the switch-over is read from them).
    #[serde(default)]
    run_a: Option<String>,
    #[serde(default)]
    run_b: Option<String>,
    actor: String,
}

/// Adds or changes a pump set; it keeps its last switch-over.
#[utoipa::path(post, path = "/pump-sets", tag = "maintenance", request_body = PumpSetBody,
    responses(
        (status = 200, description = "What the book did", body = Object),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 422, description = "A field is invalid (`id`, `name`, `run_a` not a point or given without `run_b`, `actor`)", body = ErrorBody),
    ))]
async fn put_pump_set(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<PumpSetBody>,
) -> Result<Json<MaintenanceEvent>, ApiError> {
    if b.id.trim().is_empty() {
        return Err(ApiError::invalid("id", "name the pump set"));
    }
    if b.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "give the pump set a name"));
    }
    if b.run_a.is_some() != b.run_b.is_some() {
        return Err(ApiError::invalid(
            "run_a",
            "give both `run_a` and `run_b`, or neither",
        ));
    }
    super::require_actor(&b.actor)?;
    let set = PumpSet {
        id: b.id,
        name: b.name,
        run_a: b.run_a,
        run_b: b.run_b,
        last_switch_over: None,
        runner: None,
    };
    Ok(Json(
        s.engine
            .maintenance(MaintenanceCmd::PutPumpSets(vec![set]))
            .await?,
    ))
}

/// Imports pump sets from CSV, all or nothing: columns `id, name` and `run_a, run_b`.
#[utoipa::path(post, path = "/pump-sets/import", tag = "maintenance",
    request_body(content = String, content_type = "text/csv", description = "The pump sets as CSV"),
    responses(
        (status = 200, description = "Every row stored", body = MaintenanceImported),
        (status = 422, description = "Bad rows, each with its line, or a run point the site does not read (nothing stored)", body = ErrorBody),
    ))]
async fn import_pump_sets(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
    body: axum::body::Bytes,
) -> Result<Json<MaintenanceImported>, ApiError> {
    import_with(&s, &body, |text| {
        let sets = parse_pump_sets(text)?;
        Ok((sets.len(), MaintenanceCmd::PutPumpSets(sets)))
    })
    .await
}

/// A switch-over done by hand.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SwitchOverBody {
    /// When duty passed (now when absent).
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    actor: String,
}

/// Records a switch-over for a set whose pumps are not read.
#[utoipa::path(post, path = "/pump-sets/{id}/switch-over", tag = "maintenance",
    params(("id" = String, Path, description = "Pump set id")), request_body = SwitchOverBody,
    responses(
        (status = 200, description = "What the book did", body = Object),
        (status = 404, description = "No such pump set", body = ErrorBody),
        (status = 409, description = "The set's switch-over is read from its run points", body = ErrorBody),
        (status = 422, description = "`at` in the future, or `actor` missing", body = ErrorBody),
    ))]
async fn switch_over(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<SwitchOverBody>,
) -> Result<Json<MaintenanceEvent>, ApiError> {
    super::require_actor(&b.actor)?;
    let at = b.at.unwrap_or_else(|| s.clock.now());
    let cmd = MaintenanceCmd::SwitchOver {
        set: id,
        at,
        by: b.actor,
    };
    Ok(Json(s.engine.maintenance(cmd).await?))
}
