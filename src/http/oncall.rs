//! On call and pages: `GET /api/v1/oncall` (who is on call now and next at each level),
//! `GET /api/v1/pages` (the record of every page, by alarm or incident), and the phone page
//! a page's link opens, `/p/{token}`: no session, the signed token is the permission. It
//! offers Acknowledge and "I'm on it"; each link acts once. An expired, used or forged link
//! gets a page saying so, and nothing is acknowledged.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::alarms::{Alarm, AlarmState};
use sitewatch_core::oncall::Coverage;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams, Page, Paged};
use super::{Actor, ApiError, ApiJson, AppState, ErrorBody};
use crate::paging::LinkError;
use crate::store::PageRecord;

const PHONE: &str = include_str!("assets/phone.html");

#[derive(OpenApi)]
#[openapi(paths(oncall, pages, my_channels, set_my_channels))]
pub(super) struct Doc;

/// The API routes (under `/api/v1`).
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/oncall", get(oncall))
        .route("/pages", get(pages))
        .route("/oncall/me/channels", get(my_channels).put(set_my_channels))
}

/// The phone page (outside the API).
pub(super) fn phone_router() -> Router<AppState> {
    Router::new().route("/p/{token}", get(phone).post(act))
}

/// Who is on call at each level.
#[derive(Serialize, ToSchema)]
struct OnCallNow {
    /// Whether `[paging]` is set (without it nobody is paged).
    paging: bool,
    /// The time the answer is for.
    at: DateTime<Utc>,
    /// Each escalation level, in chain order.
    levels: Vec<Coverage>,
}

/// Who is on call now and who comes next, per escalation level (site time zone rota).
#[utoipa::path(get, path = "/oncall", tag = "paging",
    responses(
        (status = 200, description = "On call now and next", body = OnCallNow),
        (status = 422, description = "An unknown query parameter", body = ErrorBody),
    ))]
async fn oncall(State(s): State<AppState>, _: ApiQuery<NoParams>) -> Json<OnCallNow> {
    let at = s.clock.now();
    Json(OnCallNow {
        paging: s.paging.is_some(),
        at,
        levels: s
            .paging
            .as_ref()
            .map(|p| p.coverage(at))
            .unwrap_or_default(),
    })
}

/// The signed-in person's channels in the order pages try them.
#[derive(Serialize, ToSchema)]
struct MyChannels {
    /// The signed-in user.
    user: String,
    /// Whether the order is the person's own (else the config's `[[people]] channels`).
    own: bool,
    /// Their channels, the first tried first.
    channels: Vec<MyChannel>,
}

/// One channel of a person.
#[derive(Serialize, ToSchema)]
struct MyChannel {
    /// `sms`, `voice`, `wechat`, `dingtalk`, `email` or `mqtt`.
    channel: String,
    /// Number, address or topic (a robot webhook's host only).
    address: String,
}

/// A person's own order of channels.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChannelOrder {
    /// Channel names, the first tried first (`["email", "sms"]`); each one of the person's
    /// configured channels, at most once; those not named follow in the config's order.
    order: Vec<String>,
}

/// The signed-in person and paging, or why not.
fn me(s: &AppState, actor: Actor) -> Result<(&crate::paging::Paging, String), ApiError> {
    let paging = s
        .paging
        .as_deref()
        .ok_or_else(|| ApiError::NotFound("`[paging]` (paging is off)".into()))?;
    let user = actor
        .0
        .ok_or_else(|| ApiError::invalid("user", "sign in: the order is the signed-in person's"))?;
    Ok((paging, user))
}

fn channels_of(paging: &crate::paging::Paging, user: &str) -> Result<MyChannels, ApiError> {
    let person = paging
        .person(user)
        .ok_or_else(|| ApiError::NotFound(format!("`{user}` in [[people]]")))?;
    Ok(MyChannels {
        user: user.to_owned(),
        own: paging.has_own_order(user),
        channels: person
            .contacts
            .iter()
            .map(|c| MyChannel {
                channel: c.channel().to_owned(),
                address: c.shown(),
            })
            .collect(),
    })
}

/// The signed-in person's channels in the order pages try them.
#[utoipa::path(get, path = "/oncall/me/channels", tag = "paging",
    responses(
        (status = 200, description = "Their channels, first tried first", body = MyChannels),
        (status = 404, description = "Paging is not set up, or the user is not one of [[people]]", body = ErrorBody),
        (status = 422, description = "Nobody is signed in, or an unknown query parameter", body = ErrorBody),
    ))]
async fn my_channels(
    State(s): State<AppState>,
    actor: Actor,
    _: ApiQuery<NoParams>,
) -> Result<Json<MyChannels>, ApiError> {
    let (paging, user) = me(&s, actor)?;
    Ok(Json(channels_of(paging, &user)?))
}

/// Sets the signed-in person's own order of channels (stored; it overrides the config's
/// order and survives a restart).
#[utoipa::path(put, path = "/oncall/me/channels", tag = "paging", request_body = ChannelOrder,
    responses(
        (status = 200, description = "Stored; their channels in the new order", body = MyChannels),
        (status = 404, description = "Paging is not set up, or the user is not one of [[people]]", body = ErrorBody),
        (status = 422, description = "A channel that is not theirs, named twice, or nobody signed in", body = ErrorBody),
    ))]
async fn set_my_channels(
    State(s): State<AppState>,
    actor: Actor,
    _: ApiQuery<NoParams>,
    ApiJson(body): ApiJson<ChannelOrder>,
) -> Result<Json<MyChannels>, ApiError> {
    let (paging, user) = me(&s, actor)?;
    if !paging.people.contains_key(&user) {
        return Err(ApiError::NotFound(format!("`{user}` in [[people]]")));
    }
    paging
        .check_order(&user, &body.order)
        .map_err(|m| ApiError::invalid("order", m))?;
    s.store
        .set_channel_order(&user, &body.order, s.clock.now())
        .await?;
    paging.set_order(&user, body.order);
    Ok(Json(channels_of(paging, &user)?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PagesQuery {
    /// Only pages about this alarm.
    alarm: Option<String>,
    /// Only pages about this incident's alarms.
    incident: Option<i64>,
    /// Items per page, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000, default = 1000)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// Every page sent (or held back), newest first: who, level, channel, outcome, attempts,
/// and the acknowledgement that cancelled it.
#[utoipa::path(get, path = "/pages", tag = "paging", params(PagesQuery),
    responses(
        (status = 200, description = "One page of page records", body = Vec<PageRecord>),
        (status = 404, description = "No such incident", body = ErrorBody),
        (status = 422, description = "Bad filter or paging parameter", body = ErrorBody),
    ))]
async fn pages(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<PagesQuery>,
) -> Result<Paged<Vec<PageRecord>>, ApiError> {
    let page = Page::new(q.limit, q.offset)?;
    let alarms = match (q.alarm, q.incident) {
        (Some(a), _) => Some(vec![a]),
        (None, Some(id)) => Some(incident_alarms(&s, id).await?),
        (None, None) => None,
    };
    let rows = s
        .store
        .pages(alarms.as_deref(), page.offset, page.fetch())
        .await?;
    Ok(page.of_fetched(rows))
}

async fn incident_alarms(s: &AppState, id: i64) -> Result<Vec<String>, ApiError> {
    let found = s
        .engine
        .incident(id)
        .await
        .ok_or(ApiError::Unavailable)?
        .map(|i| {
            let mut alarms: Vec<String> =
                i.alarm_trips.iter().map(|t| t.alarm_id.clone()).collect();
            // An emergency opened by hand is paged under its own name.
            alarms.push(crate::paging::incident_alarm(id));
            alarms.sort();
            alarms.dedup();
            alarms
        });
    found.ok_or_else(|| ApiError::NotFound(format!("incident {id}")))
}

/// What the phone page's buttons send.
#[derive(Deserialize)]
struct ActForm {
    action: String,
}

/// The link's page, its alarm, or why not.
async fn open(s: &AppState, token: &str) -> Result<(PageRecord, Option<Alarm>), Response> {
    let Some(paging) = &s.paging else {
        return Err(notice(
            s,
            StatusCode::NOT_FOUND,
            "寻呼未启用 Paging is not set up",
            "",
        ));
    };
    let id = match paging.links.verify(token, s.clock.now()) {
        Ok(id) => id,
        Err(LinkError::Expired) => return Err(expired(s)),
        Err(LinkError::Forged) => return Err(forged(s)),
    };
    let page = match s.store.page(id).await {
        Ok(Some(p)) => p,
        Ok(None) => return Err(forged(s)),
        Err(e) => return Err(unavailable(s, &e.to_string())),
    };
    if let Some(at) = page.link_used_at {
        return Err(used(s, &page, at));
    }
    let alarm_id = page.alarm.clone().unwrap_or_default();
    let alarm = s.engine.alarm_by_id(&alarm_id).await.flatten();
    Ok((page, alarm))
}

/// `GET /p/{token}`: the alarm and two buttons.
async fn phone(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    let (page, alarm) = match open(&s, &token).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    if let Some(id) = page
        .alarm
        .as_deref()
        .and_then(|a| a.strip_prefix("incident:"))
    {
        let content = format!(
            "{}<div class=\"card\"><a href=\"/incidents/{id}\">在控制台处理此事件 Open the incident in the console</a></div>",
            alarm_card(&s, &page, None)
        );
        return render(&s, StatusCode::OK, "事件寻呼 Incident page", &content);
    }
    let content = format!(
        "{}<form method=\"post\" class=\"card\">\
         <button name=\"action\" value=\"acknowledge\">确认告警 Acknowledge</button>\
         <button name=\"action\" value=\"own\" class=\"secondary\">我来处理 I'm on it</button>\
         </form>",
        alarm_card(&s, &page, alarm.as_ref())
    );
    render(&s, StatusCode::OK, "告警寻呼 Alarm page", &content)
}

/// `POST /p/{token}`: acknowledges (and, for "I'm on it", records who took it); the link
/// is used up first, so two taps act once.
async fn act(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    let (page, alarm) = match open(&s, &token).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    if page
        .alarm
        .as_deref()
        .is_some_and(|a| a.starts_with("incident:"))
    {
        // An incident is taken on its own page (dispatch), not acknowledged from here.
        return phone(State(s), Path(token)).await;
    }
    let note = match f.action.as_str() {
        "acknowledge" => "acknowledged from a page's link",
        "own" => "I'm on it: taken from a page's link",
        _ => {
            return notice(
                &s,
                StatusCode::BAD_REQUEST,
                "无法识别的操作 Unknown action",
                "",
            );
        }
    };
    let (Some(alarm_id), Some(person)) = (page.alarm.clone(), page.person.clone()) else {
        return notice(
            &s,
            StatusCode::CONFLICT,
            "此寻呼没有告警可确认 This page has no alarm to acknowledge",
            "",
        );
    };
    match s
        .store
        .use_page_link(page.id, &f.action, s.clock.now())
        .await
    {
        Ok(true) => {}
        Ok(false) => return used(&s, &page, s.clock.now()),
        Err(e) => return unavailable(&s, &e.to_string()),
    }
    let result =
        super::alarms::acknowledge_as(&s, alarm_id, person.clone(), Some(note.into())).await;
    let done = match (result, f.action.as_str()) {
        (Ok(_), "own") => "已确认，由您处理 Acknowledged: you are on it",
        (Ok(_), _) => "已确认 Acknowledged",
        (Err(ApiError::Conflict(_)), "own") => {
            "告警已被确认，由您处理 Already acknowledged: you are on it"
        }
        (Err(ApiError::Conflict(_)), _) => "告警已被确认 Already acknowledged",
        (Err(e), _) => {
            // Nothing was done: the link may be tried again.
            let _ = s.store.release_page_link(page.id).await;
            return unavailable(&s, &format!("{e:?}"));
        }
    };
    let id = page.alarm.clone().unwrap_or_default();
    let now = s.engine.alarm_by_id(&id).await.flatten();
    let content = format!(
        "<div class=\"card ok\" id=\"done\"><b>{done}</b></div>{}",
        alarm_card(&s, &page, now.as_ref().or(alarm.as_ref()))
    );
    render(&s, StatusCode::OK, "告警寻呼 Alarm page", &content)
}

fn alarm_card(s: &AppState, page: &PageRecord, alarm: Option<&Alarm>) -> String {
    let tz = s
        .paging
        .as_ref()
        .map_or(chrono_tz::Asia::Shanghai, |p| p.tz);
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "—".into())
    };
    let (message, device, state) = match alarm {
        Some(a) => (a.message.clone(), a.device.clone(), state_name(a)),
        None => (
            page.alarm.clone().unwrap_or_default(),
            String::new(),
            "—".into(),
        ),
    };
    format!(
        "<div class=\"card\" id=\"alarm\"><span class=\"prio {p}\">{pn}</span>\
         <dl><dt>告警 Alarm</dt><dd>{m}</dd><dt>设备 Device</dt><dd>{d}</dd>\
         <dt>报警时间 Raised</dt><dd>{r}</dd><dt>状态 State</dt><dd>{st}</dd>\
         <dt>寻呼 Paged</dt><dd>{who} · {lvl}</dd></dl></div>",
        p = esc(&page.priority),
        pn = priority_name(&page.priority),
        m = esc(&message),
        d = esc(&device),
        r = time(page.raised_at),
        st = state,
        who = esc(page.person.as_deref().unwrap_or("—")),
        lvl = level_name(&page.level),
    )
}

fn priority_name(p: &str) -> &'static str {
    match p {
        "emergency" => "紧急 emergency",
        "high" => "高 high",
        "medium" => "中 medium",
        _ => "低 low",
    }
}

fn level_name(level: &str) -> String {
    match level {
        "duty_engineer" => "值班工程师 duty engineer".into(),
        "shift_lead" => "值班主管 shift lead".into(),
        "manager" => "经理 manager".into(),
        other => esc(other),
    }
}

fn state_name(a: &Alarm) -> String {
    let by = a
        .acked_by
        .as_deref()
        .map(|b| format!(" · {}", esc(b)))
        .unwrap_or_default();
    let state = match a.state {
        AlarmState::Normal => "正常 normal",
        AlarmState::UnackActive => "未确认 unacknowledged",
        AlarmState::AckActive => "已确认 acknowledged",
        AlarmState::UnackReturned => "已恢复，未确认 returned, unacknowledged",
    };
    format!("{state}{by}")
}

fn expired(s: &AppState) -> Response {
    notice(
        s,
        StatusCode::GONE,
        "链接已过期 This link has expired",
        "请打开控制台处理告警。Open the console to handle the alarm. 未确认任何告警 Nothing was acknowledged.",
    )
}

fn forged(s: &AppState) -> Response {
    notice(
        s,
        StatusCode::FORBIDDEN,
        "链接无效 This link is not valid",
        "该链接不是本系统发出的，或已损坏。This link was not issued here, or it is damaged. 未确认任何告警 Nothing was acknowledged.",
    )
}

fn used(s: &AppState, page: &PageRecord, at: DateTime<Utc>) -> Response {
    let tz = s
        .paging
        .as_ref()
        .map_or(chrono_tz::Asia::Shanghai, |p| p.tz);
    let when = at.with_timezone(&tz).format("%H:%M:%S");
    let what = page.link_action.as_deref().unwrap_or("acknowledge");
    let detail = format!(
        "此链接已于 {when} 使用（{what}）。This link was already used at {when} ({what}). 未再次操作 Nothing more was done."
    );
    notice(
        s,
        StatusCode::CONFLICT,
        "链接已使用 This link has been used",
        &detail,
    )
}

fn unavailable(s: &AppState, why: &str) -> Response {
    tracing::warn!(error = why, "phone page cannot act");
    notice(
        s,
        StatusCode::SERVICE_UNAVAILABLE,
        "暂时无法处理 Service unavailable",
        "请稍后重试。Try again in a moment. 未确认任何告警 Nothing was acknowledged.",
    )
}

fn notice(s: &AppState, status: StatusCode, heading: &str, detail: &str) -> Response {
    let content = format!(
        "<div class=\"card bad\" id=\"refused\"><p>{}</p></div>",
        esc(detail)
    );
    render(s, status, heading, &content)
}

fn render(s: &AppState, status: StatusCode, heading: &str, content: &str) -> Response {
    let html = PHONE
        .replace("{{site_name}}", &esc(&s.site.name))
        .replace("{{heading}}", &esc(heading))
        .replace("{{content}}", content);
    (status, Html(html)).into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
