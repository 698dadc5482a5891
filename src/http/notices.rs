//! `/api/v1/notices`: notices to owners (通知, rules.md §13.14) at a level with its colour,
//! drafted from zh-CN templates, with a posting expiry and target units (all, a building,
//! a list, or the households of an incident; `?incident=` lists those of one); per-unit delivery and confirmation records.
//! A planned stoppage is refused unless noticed at least 24 h ahead (§14).
//! With `[notify]`, issuing also queues one message per owner and tenant (see
//! `crate::notify`); `GET /notices/{id}` shows each recipient's message record.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use utoipa::{IntoParams, OpenApi, ToSchema};

use super::ApiPath;
use super::page::{ApiQuery, Page, Paged, Window};
use super::{ApiError, ApiJson, AppState, ErrorBody, Personal};
use crate::register::notices::{
    DeliveryChannel, Notice, NoticeLevel, NoticeTarget, NoticeTemplate, check_window,
};
use crate::register::plan::Recipient;
use crate::store::notices::DeliveryRecord;

#[derive(OpenApi)]
#[openapi(paths(list, issue, preview, one, deliveries))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/notices", get(list).post(issue))
        .route("/notices/preview", post(preview))
        .route("/notices/{id}", get(one))
        .route("/notices/{id}/deliveries", post(deliveries))
}

/// A notice as customer service drafts it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    level: NoticeLevel,
    #[serde(default = "general")]
    template: NoticeTemplate,
    title: Option<String>,
    body: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    target: NoticeTarget,
    created_by: String,
    /// Fire panel devices a `fire_system_test` suppresses for its window.
    #[serde(default)]
    devices: Vec<String>,
}

fn general() -> NoticeTemplate {
    NoticeTemplate::General
}

/// Issues a notice to owners (a planned stoppage needs 24 h notice).
#[utoipa::path(post, path = "/notices", tag = "notices", request_body = NoticeBody,
    responses(
        (status = 201, description = "The notice with its target units", body = Notice),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "The target incident does not exist", body = ErrorBody),
        (status = 422, description = "A field is invalid (`title`, `target`, `starts_at`, `expires_at`, …)", body = ErrorBody),
    ))]
async fn issue(
    State(s): State<AppState>,
    personal: Personal,
    ApiJson(b): ApiJson<NoticeBody>,
) -> Result<(StatusCode, Json<Notice>), ApiError> {
    super::require_actor(&b.created_by)?;
    let now = s.clock.now();
    check_window(b.template, b.starts_at, b.ends_at, b.expires_at, now)
        .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let window = (b.starts_at, b.ends_at);
    super::fire_tests::check(&s, b.template, &b.devices, window)?;
    let (title, text) = draft(&s, &b)?;
    let units = targets(&s, &b.target).await?;
    let mut notice = Notice {
        id: 0,
        level: b.level,
        color: b.level.color().to_owned(),
        template: b.template,
        title,
        body: text,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        expires_at: b.expires_at,
        target: b.target,
        created_by: b.created_by,
        created_at: now,
        deliveries: Vec::new(),
        recipients: Vec::new(),
    };
    notice.id = send(&s, &notice, &units).await?;
    super::fire_tests::plan(&s, notice.id, b.devices, window, &notice.created_by).await?;
    let stored = s.store.notice(notice.id).await?.unwrap_or(notice);
    Ok((StatusCode::CREATED, Json(personal.apply(stored))))
}

/// Keeps `notice` for `units` and, with `[notify]`, queues a message to each of their
/// owners and tenants on their channel; the notice's number.
pub(super) async fn send(s: &AppState, notice: &Notice, units: &[String]) -> Result<i64, ApiError> {
    let recipients = match &s.notify.policy {
        Some(_) => recipients(s, units).await?,
        None => Vec::new(),
    };
    let plan = s.notify.policy.as_ref().map(|p| (p, recipients.as_slice()));
    let (id, planned) = s.store.insert_notice(notice, units, plan).await?;
    s.metrics.service().notice(notice.level.as_str());
    for (channel, status) in planned.rows {
        s.metrics.notify().message(channel, status);
    }
    s.notify.wake.notify_one();
    Ok(id)
}

/// A notice as it would be issued, nothing stored.
#[derive(Serialize, ToSchema)]
struct Preview {
    level: NoticeLevel,
    /// The level's colour.
    color: String,
    /// The title as issued, headed by the level.
    title: String,
    /// The text as issued (a template's rendered in site time).
    body: String,
    /// The units it would reach.
    units: Vec<String>,
}

/// Shows a notice as `POST /notices` would issue it (title and text from the template,
/// the target's units) and checks it the same way, without storing or sending anything.
#[utoipa::path(post, path = "/notices/preview", tag = "notices", request_body = NoticeBody,
    responses(
        (status = 200, description = "The notice as it would be issued", body = Preview),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "The target incident does not exist", body = ErrorBody),
        (status = 422, description = "A field is invalid, as on issue", body = ErrorBody),
    ))]
async fn preview(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<NoticeBody>,
) -> Result<Json<Preview>, ApiError> {
    check_window(
        b.template,
        b.starts_at,
        b.ends_at,
        b.expires_at,
        s.clock.now(),
    )
    .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let (title, body) = draft(&s, &b)?;
    let units = targets(&s, &b.target).await?;
    Ok(Json(Preview {
        level: b.level,
        color: b.level.color().to_owned(),
        title,
        body,
        units,
    }))
}

/// Title and text as written, or from the template (the level heads the title).
fn draft(s: &AppState, b: &NoticeBody) -> Result<(String, String), ApiError> {
    let tz = s.site.tz();
    let (t_title, t_body) = match (b.template, b.starts_at) {
        (NoticeTemplate::General, _) => (String::new(), String::new()),
        (t, Some(from)) => t.render(from, b.ends_at.unwrap_or(from), tz),
        (_, None) => {
            return Err(ApiError::invalid(
                "starts_at",
                "a template notice needs its start time",
            ));
        }
    };
    let title = b
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(t_title);
    let text = b
        .body
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(t_body);
    if title.is_empty() || text.is_empty() {
        return Err(ApiError::invalid(
            "title",
            "a notice needs a title and a body, or a template",
        ));
    }
    Ok((format!("【{}】{title}", b.level.heading()), text))
}

/// The unit ids a target names; every one must be in the register.
async fn targets(s: &AppState, target: &NoticeTarget) -> Result<Vec<String>, ApiError> {
    let ids =
        |units: Vec<crate::register::Unit>| units.into_iter().map(|u| u.id).collect::<Vec<_>>();
    let units = match target {
        NoticeTarget::All => ids(s.store.units(None, None).await?),
        NoticeTarget::Building { building } => ids(s.store.units(Some(building), None).await?),
        NoticeTarget::Units { units } => units.clone(),
        NoticeTarget::Incident { incident } => households(s, *incident).await?,
    };
    let known: BTreeSet<String> = ids(s.store.units(None, None).await?).into_iter().collect();
    let unknown: Vec<&String> = units.iter().filter(|u| !known.contains(*u)).collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(
            "target",
            format!("units not in the register: {unknown:?}"),
        ));
    }
    if units.is_empty() {
        return Err(ApiError::invalid("target", "the target names no units"));
    }
    Ok(units
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect())
}

/// The owner and tenant of every target unit, unit by unit.
async fn recipients(s: &AppState, units: &[String]) -> Result<Vec<Recipient>, ApiError> {
    let wanted: BTreeSet<&str> = units.iter().map(String::as_str).collect();
    let register = s.store.units(None, None).await?;
    Ok(register
        .iter()
        .filter(|u| wanted.contains(u.id.as_str()))
        .flat_map(|u| u.contacts.iter().map(|c| Recipient::of(&u.id, c)))
        .collect())
}

/// The units linked to an incident as affected households (§13.9).
async fn households(s: &AppState, incident: i64) -> Result<Vec<String>, ApiError> {
    s.engine
        .incident(incident)
        .await
        .ok_or(ApiError::Unavailable)?
        .map(|i| i.households.into_iter().map(|h| h.unit).collect())
        .ok_or_else(|| ApiError::NotFound(format!("incident {incident}")))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only notices still posted.
    #[serde(default)]
    current: bool,
    /// Only notices targeting this incident's households (the incident page).
    incident: Option<i64>,
    /// Only notices created at or after this time.
    from: Option<DateTime<Utc>>,
    /// Only notices created before this time.
    to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// Notices, newest first, with their delivery records.
#[utoipa::path(get, path = "/notices", tag = "notices", params(ListQuery),
    responses(
        (status = 200, description = "One page of notices", body = Vec<Notice>),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn list(
    State(s): State<AppState>,
    personal: Personal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Paged<Vec<Notice>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let window = Window::new(q.from, q.to)?;
    let now = s.clock.now();
    let current = q.current.then_some(now);
    let mut notices = match q.incident {
        None => s.store.notices(current).await?,
        Some(incident) => {
            let target = NoticeTarget::Incident { incident };
            let mut notices = s.store.notices_targeting(&target).await?;
            notices.retain(|n| current.is_none_or(|now| n.expires_at > now));
            notices
        }
    };
    notices.retain(|n| window.contains(Some(n.created_at)));
    Ok(page.slice(personal.apply(notices)))
}

/// One notice with its per-unit delivery records.
#[utoipa::path(get, path = "/notices/{id}", tag = "notices",
    params(("id" = i64, Path, description = "Notice number")),
    responses(
        (status = 200, description = "The notice", body = Notice),
        (status = 404, description = "No such notice", body = ErrorBody),
    ))]
async fn one(
    State(s): State<AppState>,
    personal: Personal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Notice>, ApiError> {
    s.store
        .notice(id)
        .await?
        .map(|n| Json(personal.apply(n)))
        .ok_or_else(|| ApiError::NotFound(format!("notice {id}")))
}

/// Deliveries and confirmations, per unit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeliveriesBody {
    by: String,
    records: Vec<RecordBody>,
}

/// One unit's delivery.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RecordBody {
    unit: String,
    channel: DeliveryChannel,
    /// The household confirmed it (a signature, a reply); implies delivery.
    #[serde(default)]
    confirmed: bool,
}

/// Records deliveries and confirmations per unit; every unit must be a target, else none
/// is recorded.
#[utoipa::path(post, path = "/notices/{id}/deliveries", tag = "notices",
    params(("id" = i64, Path, description = "Notice number")), request_body = DeliveriesBody,
    responses(
        (status = 200, description = "The notice with its records", body = Notice),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 404, description = "No such notice", body = ErrorBody),
        (status = 422, description = "A unit is not a target (`unit`), or `by` is missing", body = ErrorBody),
    ))]
async fn deliveries(
    State(s): State<AppState>,
    personal: Personal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<DeliveriesBody>,
) -> Result<Json<Notice>, ApiError> {
    super::require_actor(&b.by)?;
    let notice = s
        .store
        .notice(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("notice {id}")))?;
    let targets: BTreeSet<&str> = notice.deliveries.iter().map(|d| d.unit.as_str()).collect();
    if let Some(r) = b
        .records
        .iter()
        .find(|r| !targets.contains(r.unit.as_str()))
    {
        return Err(ApiError::invalid(
            "unit",
            format!("unit `{}` is not a target of notice {id}", r.unit),
        ));
    }
    let now = s.clock.now();
    for r in b.records {
        let record = DeliveryRecord {
            unit: r.unit,
            channel: r.channel,
            delivered: true,
            confirmed: r.confirmed,
            by: b.by.clone(),
            at: now,
        };
        s.store.record_delivery(id, &record).await?;
    }
    one(State(s), personal, ApiPath(id)).await
}
