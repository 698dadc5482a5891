//! Commands down, the centre's side (issue 23): `POST /api/v1/sites/{site}/alarms/{id}/ack`
//! and `POST /api/v1/sites/{site}/incidents/{id}/dispatch` send a command to the site
//! (`outbox::commands`) by a NATS request with `[fleet] command_timeout`, and answer what
//! the site answered: 200 applied; the site's own status and code when it refused; 502
//! or 504 `not_delivered` when no site answered, never a silent success. Every command is
//! recorded (`central_commands`) before it is sent, with its outcome after. A command id
//! given again answers the outcome already recorded without sending; one that was not
//! delivered is sent again (the site answers its first outcome if it had applied it).

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::auth::Operator;
use super::command_log::{self, Outcome, Started};
use crate::access::Role;
use crate::http::ErrorBody;
use crate::metrics::Registry;
use crate::outbox::commands::{self as site, Action, MAX_ID, Reply, SiteCommand, VERSION, subject};

/// What the command routes share.
#[derive(Debug, Clone)]
pub(super) struct Commands {
    /// The central NATS server (requests to the sites).
    pub(super) client: async_nats::Client,
    /// The central database (the command record).
    pub(super) pool: PgPool,
    /// How long a site has to answer.
    pub(super) timeout: Duration,
    /// Commands by outcome.
    pub(super) metrics: CommandFigures,
}

pub(super) fn router(state: Commands) -> Router {
    Router::new()
        .route("/api/v1/sites/{site}/alarms/{id}/ack", post(ack))
        .route(
            "/api/v1/sites/{site}/incidents/{id}/dispatch",
            post(dispatch),
        )
        .with_state(state)
}

/// An acknowledgement from the centre.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AckBody {
    /// For the site's journal.
    #[serde(default)]
    comment: Option<String>,
    /// The caller's id for this command (a resend answers its outcome); made if absent.
    #[serde(default)]
    command_id: Option<String>,
}

/// A dispatch from the centre.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DispatchBody {
    /// Who is sent.
    to: String,
    /// For the incident's timeline.
    #[serde(default)]
    note: String,
    /// As for [`AckBody`].
    #[serde(default)]
    command_id: Option<String>,
}

/// Acknowledges an alarm at a site, as the signed-in operator (`central:{name}` there).
#[utoipa::path(post, path = "/api/v1/sites/{site}/alarms/{id}/ack", tag = "commands",
    params(("site" = String, Path, description = "Site id"), ("id" = String, Path, description = "Alarm id at the site")),
    request_body = AckBody,
    responses(
        (status = 200, description = "Applied at the site: `{outcome, events, command_id, site}`", body = Object),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only duty engineers and admins send commands", body = ErrorBody),
        (status = 404, description = "The site has no such alarm (its `not_found`)", body = ErrorBody),
        (status = 409, description = "The site refused (its `conflict`: already acknowledged), or `command_id_reused`", body = ErrorBody),
        (status = 422, description = "A field is invalid (here or at the site)", body = ErrorBody),
        (status = 502, description = "`not_delivered`: no site answers (`reason` `no_responders` or `link`), or `bad_reply`", body = ErrorBody),
        (status = 503, description = "The central database cannot record the command (nothing sent), or the site's own 503", body = ErrorBody),
        (status = 504, description = "`not_delivered`: no answer within `[fleet] command_timeout`", body = ErrorBody),
    ))]
pub(super) async fn ack(
    State(s): State<Commands>,
    operator: Option<Extension<Operator>>,
    Path((site, alarm)): Path<(String, String)>,
    body: Result<Json<AckBody>, JsonRejection>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return refuse(e.status(), "bad_body", &e.body_text()),
    };
    let action = Action::Acknowledge {
        alarm,
        comment: b.comment,
    };
    send(&s, operator, &site, b.command_id, action).await
}

/// Dispatches an incident at a site to a person, as the signed-in operator.
#[utoipa::path(post, path = "/api/v1/sites/{site}/incidents/{id}/dispatch", tag = "commands",
    params(("site" = String, Path, description = "Site id"), ("id" = i64, Path, description = "Incident number at the site")),
    request_body = DispatchBody,
    responses(
        (status = 200, description = "Applied at the site: `{outcome, events, command_id, site}`", body = Object),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only duty engineers and admins send commands", body = ErrorBody),
        (status = 404, description = "The site has no such incident", body = ErrorBody),
        (status = 409, description = "The site refused (the incident's state does not allow it), or `command_id_reused`", body = ErrorBody),
        (status = 422, description = "A field is invalid (`to`, `id`)", body = ErrorBody),
        (status = 502, description = "`not_delivered` (no site answers) or `bad_reply`", body = ErrorBody),
        (status = 503, description = "The central database cannot record the command (nothing sent), or the site's own 503", body = ErrorBody),
        (status = 504, description = "`not_delivered`: no answer within `[fleet] command_timeout`", body = ErrorBody),
    ))]
pub(super) async fn dispatch(
    State(s): State<Commands>,
    operator: Option<Extension<Operator>>,
    Path((site, incident)): Path<(String, String)>,
    body: Result<Json<DispatchBody>, JsonRejection>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return refuse(e.status(), "bad_body", &e.body_text()),
    };
    let Ok(incident) = incident.parse() else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "id: not a number",
        );
    };
    if b.to.trim().is_empty() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "to: who is sent",
        );
    }
    let action = Action::Dispatch {
        incident,
        to: b.to,
        note: b.note,
    };
    send(&s, operator, &site, b.command_id, action).await
}

/// Checks who asks and what, records the command, sends it and answers its outcome.
async fn send(
    s: &Commands,
    operator: Option<Extension<Operator>>,
    site: &str,
    command_id: Option<String>,
    action: Action,
) -> Response {
    let Some(Extension(operator)) = operator else {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", "sign in first");
    };
    if !matches!(operator.role, Role::Admin | Role::DutyEngineer) {
        let why = "only duty engineers and admins send commands to sites";
        return refuse(StatusCode::FORBIDDEN, "forbidden", why);
    }
    if let Err(why) = check(site, command_id.as_deref()) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "invalid", &why);
    }
    let action_json = serde_json::to_value(&action).unwrap_or_default();
    let record = command_log::record(&s.pool, site, &operator.name, command_id, &action_json);
    let started = match record.await {
        Ok(started) => started,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record a command; not sent");
            let why = "the central database is unavailable; nothing was sent";
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", why);
        }
    };
    let command_id = match started {
        Started::Send(id) => id,
        Started::Answered(status, body) => {
            s.metrics.sent("answered_again");
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            return (status, Json(body)).into_response();
        }
        Started::Reused(id) => {
            let why = format!("command_id `{id}` was used for another command");
            return refuse(StatusCode::CONFLICT, "command_id_reused", &why);
        }
    };
    // The site applies it no later than the centre waits (a resend is a fresh try).
    let ttl_ms = u64::try_from(s.timeout.as_millis()).unwrap_or(u64::MAX);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let command = SiteCommand {
        v: VERSION,
        command_id: command_id.clone(),
        operator: operator.name.clone(),
        action,
        expires_at_ms: Some(now_ms.saturating_add_unsigned(ttl_ms)),
        ttl_ms: Some(ttl_ms),
    };
    let ended = request(s, site, &command).await;
    s.metrics.sent(ended.outcome);
    let body = with_ids(ended.body.clone(), site, &command_id);
    let outcome = Outcome {
        outcome: ended.outcome,
        status: ended.status.as_u16(),
        code: ended.code.as_deref(),
        body: &body,
    };
    if let Err(e) = command_log::keep_outcome(&s.pool, &command_id, &outcome).await {
        tracing::warn!(error = %e, command = %command_id, "cannot record a command's outcome");
    }
    tracing::info!(site, command = %command_id, operator = %operator.name,
        outcome = ended.outcome, status = ended.status.as_u16(), "command sent to a site");
    (ended.status, Json(body)).into_response()
}

/// A site id that is one NATS subject token, and a command id of 1 to 100 characters.
fn check(site: &str, command_id: Option<&str>) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if site.is_empty() || !site.chars().all(token) {
        return Err(format!("site: `{site}` is not a site id"));
    }
    match command_id {
        Some(id) if id.trim().is_empty() || id.len() > MAX_ID => {
            Err("command_id: must be 1 to 100 characters".to_owned())
        }
        _ => Ok(()),
    }
}

/// How a sent command ended: what is recorded and answered.
struct Ended {
    /// `applied`, `refused`, `not_delivered`, `bad_reply`.
    outcome: &'static str,
    /// The centre's answer's status.
    status: StatusCode,
    /// The site's code, or why not delivered.
    code: Option<String>,
    /// The centre's answer's body (without the command id and site).
    body: Value,
}

impl Ended {
    fn not_delivered(status: StatusCode, reason: &str, message: String) -> Self {
        Ended {
            outcome: "not_delivered",
            status,
            code: Some(reason.to_owned()),
            body: json!({"code": "not_delivered", "error": "not_delivered", "reason": reason,
                "message": message}),
        }
    }
}

/// Sends `command` and waits for the site's answer.
async fn request(s: &Commands, site: &str, command: &SiteCommand) -> Ended {
    use async_nats::RequestErrorKind as Kind;
    let payload = serde_json::to_vec(command).unwrap_or_default();
    let request = async_nats::Request::new()
        .payload(payload.into())
        .timeout(Some(s.timeout));
    match s.client.send_request(subject(site), request).await {
        Ok(message) => match serde_json::from_slice::<Reply>(&message.payload) {
            Ok(reply) => answered(reply),
            Err(e) => Ended {
                outcome: "bad_reply",
                status: StatusCode::BAD_GATEWAY,
                code: Some("bad_reply".to_owned()),
                body: json!({"code": "bad_reply", "error": "bad_reply",
                    "message": format!("the site's answer is not one: {e}")}),
            },
        },
        Err(e) if e.kind() == Kind::NoResponders => Ended::not_delivered(
            StatusCode::BAD_GATEWAY,
            "no_responders",
            format!("site `{site}` is not connected to the centre; nothing was done"),
        ),
        Err(e) if e.kind() == Kind::TimedOut => Ended::not_delivered(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "site `{site}` did not answer within {:?}; it will not apply the command \
                 after that time (it refuses it as expired); send the same command_id \
                 again to try anew",
                s.timeout
            ),
        ),
        Err(e) => Ended::not_delivered(
            StatusCode::BAD_GATEWAY,
            "link",
            format!("the centre cannot reach NATS: {e}"),
        ),
    }
}

/// The site's reply as the centre answers it.
fn answered(reply: Reply) -> Ended {
    if reply.outcome == site::Outcome::Applied {
        return Ended {
            outcome: "applied",
            status: StatusCode::OK,
            code: None,
            body: json!({"outcome": "applied", "events": reply.events}),
        };
    }
    // The site's own refusals keep their status; a site that could not read the centre's
    // command (another version) is a fault between the two.
    let status = match reply.status {
        400 => StatusCode::BAD_GATEWAY,
        s => StatusCode::from_u16(s)
            .ok()
            .filter(|s| s.is_client_error() || *s == StatusCode::SERVICE_UNAVAILABLE)
            .unwrap_or(StatusCode::BAD_GATEWAY),
    };
    let code = reply.code.unwrap_or_else(|| "refused".to_owned());
    // The site's engine was stopping, too many commands wait there, or it took the command
    // too late: nothing changed, and the same command id may be sent again (a refusal is
    // final).
    let outcome = match code.as_str() {
        "unavailable" | "busy" | "expired" => "unavailable",
        _ => "refused",
    };
    Ended {
        outcome,
        status,
        body: json!({"code": code, "error": code, "outcome": outcome,
            "message": reply.message}),
        code: Some(code),
    }
}

/// `body` with the command id and site.
fn with_ids(mut body: Value, site: &str, command_id: &str) -> Value {
    if let Some(o) = body.as_object_mut() {
        o.insert("command_id".into(), command_id.into());
        o.insert("site".into(), site.into());
    }
    body
}

/// Commands sent to sites, by outcome, in the centre's `/metrics`.
#[derive(Debug, Clone)]
pub(super) struct CommandFigures {
    sent: prometheus::IntCounterVec,
}

impl CommandFigures {
    /// Creates and registers the family in `r`.
    pub(super) fn register(r: &Registry) -> Self {
        let sent = r.counter(
            "sitewatch_central_commands_total",
            "Commands from the centre to sites, by outcome: applied, refused (the site's \
             refusal answered), unavailable (the site's engine was stopping, or it was \
             busy; nothing done), not_delivered (no site answered), bad_reply, \
             answered_again (a command id already answered; not sent again).",
            &["outcome"],
        );
        for o in [
            "applied",
            "refused",
            "unavailable",
            "not_delivered",
            "bad_reply",
            "answered_again",
        ] {
            sent.with_label_values(&[o]);
        }
        Self { sent }
    }

    fn sent(&self, outcome: &str) {
        self.sent.with_label_values(&[outcome]).inc();
    }
}

/// The centre's error body: `code` as in every refusal of the centre (`ErrorBody`),
/// and the same in `error`.
fn refuse(status: StatusCode, error: &str, message: &str) -> Response {
    let body = json!({"code": error, "error": error, "message": message});
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(outcome: site::Outcome, status: u16, code: &str) -> Reply {
        Reply {
            v: VERSION,
            command_id: Some("c".into()),
            outcome,
            status,
            code: Some(code.into()),
            message: None,
            events: None,
        }
    }

    #[test]
    fn a_site_refusal_keeps_its_status_and_code_and_a_version_fault_is_a_gateway_error() {
        let e = answered(reply(site::Outcome::Refused, 409, "conflict"));
        assert_eq!(
            (e.outcome, e.status, e.code.as_deref()),
            ("refused", StatusCode::CONFLICT, Some("conflict"))
        );
        let e = answered(reply(site::Outcome::BadCommand, 400, "bad_command"));
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        let e = answered(reply(site::Outcome::Refused, 500, "internal"));
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        let e = answered(reply(site::Outcome::Refused, 503, "unavailable"));
        assert_eq!(
            (e.outcome, e.status),
            ("unavailable", StatusCode::SERVICE_UNAVAILABLE)
        );
    }

    #[test]
    fn a_site_id_must_be_one_subject_token() {
        assert!(check("north-1", None).is_ok());
        for bad in ["", "a.b", "a*", "a b", ">"] {
            assert!(check(bad, None).is_err(), "{bad}");
        }
        assert!(check("north", Some(&"x".repeat(MAX_ID + 1))).is_err());
    }
}
