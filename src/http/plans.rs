//! `/api/v1/plans`: site plans (issue 20). Per building and floor an image (a PNG or JPEG
//! uploaded through `/api/v1/files`) with devices, patrol checkpoints and units placed on
//! it at fractions of its width and height, so a marker keeps its spot at any size. Each
//! marker is answered with its live state: the worst standing alarm of its device (or of
//! the devices serving its unit, or its route's missed-checkpoint alarm), comm loss, an
//! open incident, or ok; and the alarm or incident a click opens.
//!
//! A plain register written here, as files and the unit register are: where a marker
//! sits decides nothing in the engine's books. Only an admin writes (the access table);
//! every signed-in role reads.
//!
//! SVG is refused (the files route takes JPEG, PNG, HEIC, PDF, and a plan takes only the
//! first two): an SVG is a document that can carry script, and a plan image is also
//! opened on its own from `/api/v1/files/{id}`; a raster image cannot run anything.

use std::collections::HashSet;

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::alarms::{Alarm, AlarmState, Priority};
use sitewatch_core::incidents::{Incident, IncidentSource};
use sitewatch_core::patrol::Tour;
use sitewatch_core::points::DeviceState;
use utoipa::{OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams};
use super::{Actor, ApiError, ApiJson, ApiPath, AppState, ErrorBody};
use crate::store::{MarkerRow, PlanRow};

#[derive(OpenApi)]
#[openapi(paths(list, placeable, one, set_image, set_markers))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/plans", get(list))
        .route("/plans/placeable", get(placeable))
        .route("/plans/{building}/{floor}", get(one).put(set_image))
        .route("/plans/{building}/{floor}/markers", put(set_markers))
}

/// The image types a plan takes: raster only (see the module's note on SVG).
const PLAN_TYPES: [&str; 2] = ["image/png", "image/jpeg"];
/// The most markers on one plan: a floor's devices, checkpoints and units, with room.
const MAX_MARKERS: usize = 500;

/// What can be placed on a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum MarkerKind {
    /// A configured device (`/api/v1/devices`).
    Device,
    /// A patrol checkpoint (`[[patrol.checkpoints]]`).
    Checkpoint,
    /// A unit of the units register (`/api/v1/units`).
    Unit,
}

impl MarkerKind {
    fn as_str(self) -> &'static str {
        match self {
            MarkerKind::Device => "device",
            MarkerKind::Checkpoint => "checkpoint",
            MarkerKind::Unit => "unit",
        }
    }

    fn parse(s: &str) -> Option<MarkerKind> {
        [MarkerKind::Device, MarkerKind::Checkpoint, MarkerKind::Unit]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A marker's live state, worst first: what its colour says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum MarkerState {
    /// A standing alarm (see `priority`, `unacknowledged`).
    Alarm,
    /// The device does not answer (or, for a unit, a device serving it).
    CommLost,
    /// A checkpoint missed on today's tour, with no standing alarm for it.
    Missed,
    /// An open incident affects the unit.
    Incident,
    /// Nothing standing.
    Ok,
}

/// A plan in the list.
#[derive(Serialize, ToSchema)]
struct PlanSummary {
    building: String,
    floor: String,
    /// The image's file id (`/api/v1/files/{id}`).
    image: String,
    markers: usize,
    updated_by: String,
    updated_at: DateTime<Utc>,
}

/// A plan with its markers and their live state.
#[derive(Serialize, ToSchema)]
struct PlanView {
    building: String,
    floor: String,
    /// The image's file id (`/api/v1/files/{id}`).
    image: String,
    updated_by: String,
    updated_at: DateTime<Utc>,
    markers: Vec<MarkerView>,
}

/// One marker as placed, named, and in its live state.
#[derive(Serialize, ToSchema)]
struct MarkerView {
    kind: MarkerKind,
    /// The device's, checkpoint's or unit's id.
    id: String,
    /// From the left edge, a fraction of the image's width.
    x: f64,
    /// From the top edge, a fraction of the image's height.
    y: f64,
    /// Its name as configured (device, checkpoint) or the unit's label.
    name: String,
    state: MarkerState,
    /// The worst standing alarm's priority.
    priority: Option<Priority>,
    /// Whether that alarm waits for an acknowledgement.
    unacknowledged: bool,
    /// The alarm a click opens.
    alarm: Option<String>,
    /// The open incident a click opens (the alarm's, else one affecting the unit).
    #[schema(value_type = Option<i64>)]
    incident: Option<i64>,
}

/// The image of a plan: a file uploaded through `POST /api/v1/files`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ImageBody {
    /// The file id `POST /api/v1/files` answered; a PNG or JPEG.
    image: String,
}

/// Every marker of a plan, replacing those it had.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MarkersBody {
    markers: Vec<MarkerPlace>,
}

/// Where one thing sits on the plan.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MarkerPlace {
    kind: MarkerKind,
    /// A configured device id, a checkpoint id or a unit id of the register.
    id: String,
    /// 0 (left edge) to 1 (right edge).
    x: f64,
    /// 0 (top edge) to 1 (bottom edge).
    y: f64,
}

/// The plans, by building then floor.
#[utoipa::path(get, path = "/plans", tag = "plans",
    responses((status = 200, description = "Every plan", body = Vec<PlanSummary>)))]
async fn list(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<PlanSummary>>, ApiError> {
    let mut out = Vec::new();
    for p in s.store.plans().await? {
        let markers = s.store.plan_markers(&p.building, &p.floor).await?.len();
        out.push(PlanSummary {
            markers,
            updated_at: at(p.updated_ms),
            building: p.building,
            floor: p.floor,
            image: p.file_id,
            updated_by: p.updated_by,
        });
    }
    Ok(Json(out))
}

/// One plan, its markers and each one's live state.
#[utoipa::path(get, path = "/plans/{building}/{floor}", tag = "plans",
    params(("building" = String, Path, description = "Building"),
        ("floor" = String, Path, description = "Floor")),
    responses(
        (status = 200, description = "The plan", body = PlanView),
        (status = 404, description = "No plan for this floor", body = ErrorBody),
        (status = 503, description = "Engine unavailable", body = ErrorBody),
    ))]
async fn one(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
    ApiPath((building, floor)): ApiPath<(String, String)>,
) -> Result<Json<PlanView>, ApiError> {
    view(s, building, floor).await
}

/// A floor's plan with each marker in its live state.
async fn view(s: AppState, building: String, floor: String) -> Result<Json<PlanView>, ApiError> {
    let plan = existing(&s, &building, &floor).await?;
    let rows = s.store.plan_markers(&building, &floor).await?;
    let live = Live::read(&s).await?;
    let mut markers = Vec::with_capacity(rows.len());
    for m in rows {
        if let Some(view) = marker_view(&s, &live, m).await? {
            markers.push(view);
        }
    }
    Ok(Json(PlanView {
        building: plan.building,
        floor: plan.floor,
        image: plan.file_id,
        updated_by: plan.updated_by,
        updated_at: at(plan.updated_ms),
        markers,
    }))
}

/// Sets or replaces a floor's plan image; markers already placed stay where they were.
#[utoipa::path(put, path = "/plans/{building}/{floor}", tag = "plans", request_body = ImageBody,
    params(("building" = String, Path, description = "Building"),
        ("floor" = String, Path, description = "Floor")),
    responses(
        (status = 200, description = "Kept", body = PlanSummary),
        (status = 422, description = "Unknown file, a file that is not PNG or JPEG, or a bad building or floor", body = ErrorBody),
    ))]
async fn set_image(
    State(s): State<AppState>,
    Actor(signed_in): Actor,
    ApiPath((building, floor)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ImageBody>,
) -> Result<Json<PlanSummary>, ApiError> {
    check_place("building", &building)?;
    check_place("floor", &floor)?;
    match s.store.file_type(&body.image).await? {
        None => {
            let message = format!("no file `{}`: upload it to /api/v1/files first", body.image);
            return Err(ApiError::invalid("image", message));
        }
        Some(t) if !PLAN_TYPES.contains(&t.as_str()) => {
            let message = format!("a plan is a PNG or JPEG image, not {t}");
            return Err(ApiError::invalid("image", message));
        }
        Some(_) => {}
    }
    let row = PlanRow {
        building,
        floor,
        file_id: body.image,
        updated_by: signed_in.unwrap_or_else(|| "anonymous".into()),
        updated_ms: s.clock.now().timestamp_millis(),
    };
    s.store.set_plan_image(&row).await?;
    let markers = s.store.plan_markers(&row.building, &row.floor).await?.len();
    Ok(Json(PlanSummary {
        markers,
        updated_at: at(row.updated_ms),
        building: row.building,
        floor: row.floor,
        image: row.file_id,
        updated_by: row.updated_by,
    }))
}

/// Places the markers of a plan, replacing those it had. Each id must be a configured
/// device, a configured checkpoint or a unit of the register; each position inside the
/// image; nothing is kept when one is not.
#[utoipa::path(put, path = "/plans/{building}/{floor}/markers", tag = "plans",
    request_body = MarkersBody,
    params(("building" = String, Path, description = "Building"),
        ("floor" = String, Path, description = "Floor")),
    responses(
        (status = 200, description = "Kept; the plan as it now is", body = PlanView),
        (status = 404, description = "No plan for this floor", body = ErrorBody),
        (status = 422, description = "An unknown device, checkpoint or unit (`markers`), a position outside 0–1, a thing placed twice or too many markers", body = ErrorBody),
    ))]
async fn set_markers(
    State(s): State<AppState>,
    Actor(signed_in): Actor,
    ApiPath((building, floor)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<MarkersBody>,
) -> Result<Json<PlanView>, ApiError> {
    existing(&s, &building, &floor).await?;
    let rows = checked_markers(&s, body.markers).await?;
    let by = signed_in.unwrap_or_else(|| "anonymous".into());
    let now = s.clock.now().timestamp_millis();
    s.store
        .set_plan_markers(&building, &floor, &rows, &by, now)
        .await?;
    view(s, building, floor).await
}

/// Something that can be placed on a plan, and where the config or register puts it.
#[derive(Serialize, ToSchema)]
struct Placeable {
    kind: MarkerKind,
    id: String,
    /// As configured (device, checkpoint) or the unit's label.
    name: String,
    /// The checkpoint's or unit's building, or the building of the unit a device serves.
    building: Option<String>,
    /// The checkpoint's or unit's floor.
    floor: Option<String>,
}

/// What can be placed: every configured device and checkpoint and every unit of the
/// register, for the edit mode's choice.
#[utoipa::path(get, path = "/plans/placeable", tag = "plans",
    responses((status = 200, description = "Devices, checkpoints and units", body = Vec<Placeable>)))]
async fn placeable(
    State(s): State<AppState>,
    _: ApiQuery<NoParams>,
) -> Result<Json<Vec<Placeable>>, ApiError> {
    let buildings = super::alarms::device_buildings(&s).await?;
    let devices = s.devices.iter().map(|d| Placeable {
        kind: MarkerKind::Device,
        id: d.config.id.clone(),
        name: d.config.name.clone(),
        building: buildings.get(&d.config.id).cloned(),
        floor: None,
    });
    let checkpoints = s.checkpoints.iter().map(|c| Placeable {
        kind: MarkerKind::Checkpoint,
        id: c.id.clone(),
        name: c.name.clone(),
        building: Some(c.building.clone()),
        floor: Some(c.floor.clone()),
    });
    let units = s
        .store
        .units(None, None)
        .await?
        .into_iter()
        .map(|u| Placeable {
            kind: MarkerKind::Unit,
            name: if u.label.is_empty() {
                u.id.clone()
            } else {
                u.label
            },
            id: u.id,
            building: Some(u.building),
            floor: Some(u.floor),
        });
    Ok(Json(devices.chain(checkpoints).chain(units).collect()))
}

async fn existing(s: &AppState, building: &str, floor: &str) -> Result<PlanRow, ApiError> {
    s.store
        .plan(building, floor)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan of building `{building}` floor `{floor}`")))
}

/// A building or floor name: short, printable, not blank.
fn check_place(field: &'static str, value: &str) -> Result<(), ApiError> {
    let ok = !value.trim().is_empty() && value.chars().count() <= 64 && !value.contains('/');
    if ok && !value.chars().any(char::is_control) {
        return Ok(());
    }
    Err(ApiError::invalid(
        field,
        format!("`{value}` is not a {field} name (1 to 64 characters, no `/`)"),
    ))
}

/// The markers as rows, once every one names a known thing at a place on the image.
async fn checked_markers(
    s: &AppState,
    places: Vec<MarkerPlace>,
) -> Result<Vec<MarkerRow>, ApiError> {
    if places.len() > MAX_MARKERS {
        let message = format!(
            "{} markers; a plan holds at most {MAX_MARKERS}",
            places.len()
        );
        return Err(ApiError::invalid("markers", message));
    }
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(places.len());
    for (i, p) in places.into_iter().enumerate() {
        let inside = |v: f64| (0.0..=1.0).contains(&v);
        if !inside(p.x) || !inside(p.y) {
            let message = format!("marker {i} ({}): x and y are fractions from 0 to 1", p.id);
            return Err(ApiError::invalid("markers", message));
        }
        if !known(s, p.kind, &p.id).await? {
            let message = format!("marker {i}: no {} `{}`", p.kind.as_str(), p.id);
            return Err(ApiError::invalid("markers", message));
        }
        if !seen.insert((p.kind, p.id.clone())) {
            let message = format!("marker {i}: {} `{}` is placed twice", p.kind.as_str(), p.id);
            return Err(ApiError::invalid("markers", message));
        }
        rows.push(MarkerRow {
            kind: p.kind.as_str().to_owned(),
            item_id: p.id,
            x: p.x,
            y: p.y,
        });
    }
    Ok(rows)
}

/// Whether the config (devices, checkpoints) or the units register has this id.
async fn known(s: &AppState, kind: MarkerKind, id: &str) -> Result<bool, ApiError> {
    Ok(match kind {
        MarkerKind::Device => s.devices.iter().any(|d| d.config.id == id),
        MarkerKind::Checkpoint => s.checkpoints.iter().any(|c| c.id == id),
        MarkerKind::Unit => s.store.unit(id).await?.is_some(),
    })
}

/// What the markers' states are read from, asked once per answer.
struct Live {
    /// Standing alarms not shelved, suppressed or out of service.
    alarms: Vec<Alarm>,
    devices: Vec<DeviceState>,
    incidents: Vec<Incident>,
    tours: Vec<Tour>,
}

impl Live {
    async fn read(s: &AppState) -> Result<Live, ApiError> {
        let mut alarms = s.engine.alarms(false).await.ok_or(ApiError::Unavailable)?;
        alarms.retain(|a| {
            a.state != AlarmState::Normal
                && a.shelved.is_none()
                && a.suppressed.is_none()
                && a.out_of_service.is_none()
        });
        Ok(Live {
            alarms,
            devices: s.engine.devices().await.ok_or(ApiError::Unavailable)?,
            incidents: s
                .engine
                .incidents(false)
                .await
                .ok_or(ApiError::Unavailable)?,
            tours: s.engine.tours(None).await.ok_or(ApiError::Unavailable)?,
        })
    }

    fn device_down(&self, id: &str) -> bool {
        self.devices.iter().any(|d| d.id == id && !d.up)
    }

    /// The worst alarm among those `pick` takes: highest priority, unacknowledged first,
    /// then the oldest.
    fn worst(&self, pick: impl Fn(&Alarm) -> bool) -> Option<&Alarm> {
        self.alarms.iter().filter(|a| pick(a)).min_by(|a, b| {
            (a.priority, !unacknowledged(a), a.raised_at).cmp(&(
                b.priority,
                !unacknowledged(b),
                b.raised_at,
            ))
        })
    }

    /// The open incident an alarm opened or was attached to.
    fn incident_of(&self, alarm: &str) -> Option<i64> {
        self.incidents
            .iter()
            .find(|i| {
                i.source == IncidentSource::Alarm(alarm.to_owned())
                    || i.alarm_trips.iter().any(|t| t.alarm_id == alarm)
            })
            .map(|i| i.id)
    }

    fn incident_of_unit(&self, unit: &str) -> Option<i64> {
        self.incidents
            .iter()
            .find(|i| i.households.iter().any(|h| h.unit == unit))
            .map(|i| i.id)
    }

    /// The routes whose tour today missed this checkpoint.
    fn missed_on(&self, checkpoint: &str) -> Vec<&str> {
        self.tours
            .iter()
            .filter(|t| {
                t.stops
                    .iter()
                    .any(|s| s.checkpoint == checkpoint && s.missed)
            })
            .map(|t| t.route.as_str())
            .collect()
    }
}

fn unacknowledged(a: &Alarm) -> bool {
    matches!(a.state, AlarmState::UnackActive | AlarmState::UnackReturned)
}

/// Whether an alarm is a device's comm-loss alarm (`{device}:comm`), shown as comm loss.
fn is_comm(a: &Alarm) -> bool {
    a.id == format!("{}:comm", a.device)
}

/// A marker's name and live state; `None` when what it names is gone from the config.
async fn marker_view(
    s: &AppState,
    live: &Live,
    m: MarkerRow,
) -> Result<Option<MarkerView>, ApiError> {
    let Some(kind) = MarkerKind::parse(&m.kind) else {
        return Ok(None);
    };
    let mut view = MarkerView {
        kind,
        id: m.item_id,
        x: m.x,
        y: m.y,
        name: String::new(),
        state: MarkerState::Ok,
        priority: None,
        unacknowledged: false,
        alarm: None,
        incident: None,
    };
    let found = match kind {
        MarkerKind::Device => device_state(s, live, &mut view),
        MarkerKind::Checkpoint => checkpoint_state(s, live, &mut view),
        MarkerKind::Unit => unit_state(s, live, &mut view).await?,
    };
    Ok(found.then_some(view))
}

/// Sets the view from the worst alarm `pick` takes and the comm state of `devices`.
fn from_alarms(
    live: &Live,
    view: &mut MarkerView,
    devices: &[&str],
    pick: impl Fn(&Alarm) -> bool,
) {
    let worst = live.worst(|a| pick(a) && !is_comm(a));
    let comm = live.worst(|a| pick(a) && is_comm(a));
    let down = devices.iter().any(|d| live.device_down(d));
    let shown = match (worst, comm) {
        (Some(a), _) => {
            view.state = MarkerState::Alarm;
            Some(a)
        }
        (None, c) if down || c.is_some() => {
            view.state = MarkerState::CommLost;
            c
        }
        _ => None,
    };
    if let Some(a) = shown {
        view.priority = Some(a.priority);
        view.unacknowledged = unacknowledged(a);
        view.alarm = Some(a.id.clone());
        view.incident = live.incident_of(&a.id);
    }
}

fn device_state(s: &AppState, live: &Live, view: &mut MarkerView) -> bool {
    let Some(d) = s.devices.iter().find(|d| d.config.id == view.id) else {
        return false;
    };
    view.name = d.config.name.clone();
    let id = view.id.clone();
    from_alarms(live, view, &[id.as_str()], |a| a.device == id);
    true
}

fn checkpoint_state(s: &AppState, live: &Live, view: &mut MarkerView) -> bool {
    let Some(c) = s.checkpoints.iter().find(|c| c.id == view.id) else {
        return false;
    };
    view.name = c.name.clone();
    let routes = live.missed_on(&c.id);
    let alarm_ids: Vec<String> = routes
        .iter()
        .map(|r| format!("patrol.{r}_missed:missed"))
        .collect();
    from_alarms(live, view, &[], |a| alarm_ids.contains(&a.id));
    if view.state == MarkerState::Ok && !routes.is_empty() {
        view.state = MarkerState::Missed;
    }
    true
}

async fn unit_state(s: &AppState, live: &Live, view: &mut MarkerView) -> Result<bool, ApiError> {
    let Some(unit) = s.store.unit(&view.id).await? else {
        return Ok(false);
    };
    view.name = if unit.label.is_empty() {
        unit.id.clone()
    } else {
        unit.label.clone()
    };
    let serving: Vec<&str> = s
        .devices
        .iter()
        .filter(|d| d.config.unit.as_deref() == Some(unit.id.as_str()))
        .map(|d| d.config.id.as_str())
        .collect();
    from_alarms(live, view, &serving, |a| {
        serving.contains(&a.device.as_str())
    });
    if view.incident.is_none() {
        view.incident = live.incident_of_unit(&unit.id);
    }
    if view.state == MarkerState::Ok && view.incident.is_some() {
        view.state = MarkerState::Incident;
    }
    Ok(true)
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::desks::catalogue::{self, Lang};
    use super::*;

    /// The page shows a marker's kind and state through `pm_k_` and `pm_st_`: each needs
    /// its words, or the zh page would show the raw code.
    #[test]
    fn every_kind_and_state_the_plan_shows_has_words() {
        let states = [
            MarkerState::Alarm,
            MarkerState::CommLost,
            MarkerState::Missed,
            MarkerState::Incident,
            MarkerState::Ok,
        ];
        let codes = states
            .iter()
            .map(|s| {
                format!(
                    "pm_st_{}",
                    serde_json::to_value(s)
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("")
                )
            })
            .chain(
                ["device", "checkpoint", "unit"]
                    .iter()
                    .map(|k| format!("pm_k_{k}")),
            );
        let table = catalogue::table(Lang::Zh);
        let missing: Vec<String> = codes.filter(|k| !table.contains_key(k.as_str())).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn a_building_or_floor_name_is_short_and_has_no_slash() {
        assert!(check_place("floor", "B1").is_ok());
        assert!(check_place("floor", "屋面").is_ok());
        assert!(check_place("floor", "").is_err());
        assert!(check_place("floor", "1/2").is_err());
        assert!(check_place("floor", &"x".repeat(65)).is_err());
    }
}
