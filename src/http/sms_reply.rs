//! `POST /api/v1/paging/sms-replies`: the SMS gateway posts a person's reply to a page
//! here. `1` acknowledges and `2` takes ownership ("I'm on it") of the alarm of the latest
//! page sent to that number by SMS or voice. No session: the gateway is authenticated by
//! the shared secret `[paging] reply_secret` (`Authorization: Bearer …`); without it set
//! the route answers 404, with a wrong one 401. An unknown reply or number is refused with
//! the reason, and nothing is acknowledged.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::page::{ApiQuery, NoParams};
use super::{ApiError, ApiJson, AppState, ErrorBody};

#[derive(OpenApi)]
#[openapi(paths(reply))]
pub(super) struct Doc;

/// The API route (under `/api/v1`).
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/paging/sms-replies", post(reply))
}

/// A reply as the gateway posts it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SmsReply {
    /// The number the reply came from (`+8613512345678`).
    phone: String,
    /// What the person wrote: `1` acknowledges, `2` takes ownership.
    text: String,
}

/// What the reply did.
#[derive(Serialize, ToSchema)]
struct ReplyDone {
    /// The page replied to (the latest sent to the number).
    page_id: i64,
    /// Its alarm.
    alarm: String,
    /// The person it was sent to, now the acknowledger.
    person: String,
    /// `acknowledge` or `own`.
    action: String,
}

/// Acknowledges (`1`) or takes ownership of (`2`) the alarm of the latest page sent to the
/// number the reply came from.
#[utoipa::path(post, path = "/paging/sms-replies", tag = "paging", request_body = SmsReply,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Acknowledged", body = ReplyDone),
        (status = 401, description = "Missing or wrong gateway secret", body = ErrorBody),
        (status = 404, description = "Replies not set up, or no page was sent to the number", body = ErrorBody),
        (status = 409, description = "The alarm is already acknowledged, or the page has no alarm", body = ErrorBody),
        (status = 422, description = "A reply that is neither 1 nor 2", body = ErrorBody),
    ))]
async fn reply(
    State(s): State<AppState>,
    headers: HeaderMap,
    _: ApiQuery<NoParams>,
    ApiJson(body): ApiJson<SmsReply>,
) -> Result<Json<ReplyDone>, ApiError> {
    let paging = s
        .paging
        .as_deref()
        .filter(|p| p.reply_secret.is_some())
        .ok_or_else(|| {
            ApiError::NotFound("`[paging] reply_secret` (SMS replies are off)".into())
        })?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|g| paging.reply_secret_is(g)) {
        return Err(ApiError::Refused {
            status: StatusCode::UNAUTHORIZED,
            message: "the gateway's secret is missing or wrong".into(),
        });
    }
    let (action, note) = match body.text.trim() {
        "1" => ("acknowledge", "acknowledged by an SMS reply"),
        "2" => ("own", "I'm on it: taken by an SMS reply"),
        other => {
            return Err(ApiError::invalid(
                "text",
                format!("reply `{other}` is not understood: 1 acknowledges, 2 takes it on"),
            ));
        }
    };
    let numbers = paging.numbers_matching(&body.phone);
    let page = match numbers.is_empty() {
        true => None,
        false => s.store.latest_page_to(&numbers).await?,
    };
    let page =
        page.ok_or_else(|| ApiError::NotFound(format!("a page sent to {}", body.phone.trim())))?;
    let (Some(alarm), Some(person)) = (page.alarm.clone(), page.person.clone()) else {
        return Err(ApiError::Conflict(
            "the latest page to this number is a summary, with no alarm to acknowledge".into(),
        ));
    };
    if alarm.starts_with("incident:") {
        return Err(ApiError::Conflict(
            "the latest page to this number is about an incident: dispatch it in the console"
                .into(),
        ));
    }
    let _events =
        super::alarms::acknowledge_as(&s, alarm.clone(), person.clone(), Some(note.into())).await?;
    Ok(Json(ReplyDone {
        page_id: page.id,
        alarm,
        person,
        action: action.into(),
    }))
}
