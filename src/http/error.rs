//! One error type for every handler: a stable body (`code`, `message`, optional `field`),
//! with internal failures logged and never shown.

use axum::Json;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use sitewatch_core::alarms::AlarmError;
use sitewatch_core::compliance::ComplianceError;
use sitewatch_core::incidents::{HandoverError, IncidentError, ServiceError};
use sitewatch_core::inspections::{InspectionError, KeyError};
use sitewatch_core::maintenance::MaintenanceError;

use super::metrics::ErrorCode;
use crate::customers::RowProblem;
use crate::engine::CommandError;
use crate::store::StoreError;

/// A failed API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such record.
    #[error("{0} not found")]
    NotFound(String),
    /// A parameter is invalid.
    #[error("{message}")]
    Invalid {
        /// The parameter at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The request is valid but the record's state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// Rows of an upload are invalid; nothing was written.
    #[error("{} rows are invalid; nothing was imported", .0.len())]
    InvalidRows(Vec<RowProblem>),
    /// The record cannot move on until these records are in.
    #[error("cannot {action} yet: missing {}", missing.join(", "))]
    Missing {
        /// What was asked.
        action: &'static str,
        /// Each missing record.
        missing: Vec<&'static str>,
    },
    /// The request body is not the JSON the route takes (malformed, wrong shape, wrong
    /// content type).
    #[error("{message}")]
    BadBody {
        /// 400, 415 or 422, as the JSON extractor decided.
        status: StatusCode,
        /// What was wrong, from the extractor.
        message: String,
    },
    /// A query or path parameter is not of its type, or is not one the route takes.
    #[error("{message}")]
    BadParameter {
        /// The parameter at fault (`query` when the string as a whole is wrong).
        field: String,
        /// What was wrong, from the parser.
        message: String,
    },
    /// The body is larger than the route takes.
    #[error("the body is larger than the limit of {} MiB", .limit / (1024 * 1024))]
    TooLarge {
        /// The route's limit in bytes.
        limit: usize,
    },
    /// The body's declared type is not one the route takes.
    #[error("{0}")]
    UnsupportedType(String),
    /// No route under `/api/v1` has this path.
    #[error("no route `{0}`; see /api/v1/openapi.json")]
    NoRoute(String),
    /// The route exists but not with this method (the answer's `Allow` lists those it has).
    #[error("`{0}` is not allowed on this route; the Allow header lists the methods it takes")]
    MethodNotAllowed(String),
    /// A refusal made outside the handlers (an extractor's plain text), re-worded as the
    /// error body.
    #[error("{message}")]
    Refused {
        /// The status the refusal had.
        status: StatusCode,
        /// Its text.
        message: String,
    },
    /// The engine is not running (shutting down).
    #[error("engine unavailable")]
    Unavailable,
    /// The database cannot be reached or did not answer in time; try again shortly.
    #[error("the database is unavailable; try again shortly")]
    StoreUnavailable,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change was made (the engine decided it) but the database has not kept it
    /// within the wait: it will be written when the database returns. Unlike
    /// `unavailable`, sending the request again would make the change twice.
    #[error(
        "the change was made but is not stored yet (the database is unavailable); it will \
         be written when the database returns: do not send it again, look it up later"
    )]
    NotYetStored,
}

impl From<CommandError> for ApiError {
    /// A refused command, by the book that refused it; the status each book's refusal
    /// gets is decided here, once for every route that sends that book a command.
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Unavailable => ApiError::Unavailable,
            CommandError::Alarm(e) => alarm_error(e),
            CommandError::Incident(e) => incident_error(e),
            CommandError::Inspection(e) => inspection_error(e),
            CommandError::Key(KeyError::UnknownSet(set)) => {
                ApiError::NotFound(KeyError::UnknownSet(set).to_string())
            }
            CommandError::Key(e @ KeyError::ReturnInPast(_)) => {
                ApiError::invalid("expected_back", e.to_string())
            }
            CommandError::Key(e) => ApiError::Conflict(e.to_string()),
            CommandError::Maintenance(e) => maintenance_error(e),
            CommandError::Compliance(e @ ComplianceError::UnknownItem(_)) => {
                ApiError::NotFound(e.to_string())
            }
            CommandError::Compliance(e) => ApiError::invalid("on", e.to_string()),
            CommandError::Request(e) => service_error(e),
            CommandError::UnknownIncident(_) => ApiError::invalid("incident", e.to_string()),
            CommandError::Handover(e) => handover_error(e),
            CommandError::NotStored(_) => ApiError::NotYetStored,
            CommandError::Mismatch => ApiError::Refused {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: e.to_string(),
            },
        }
    }
}

fn maintenance_error(e: MaintenanceError) -> ApiError {
    match e {
        MaintenanceError::UnknownTask(_) | MaintenanceError::UnknownPumpSet(_) => {
            ApiError::NotFound(e.to_string())
        }
        MaintenanceError::Derived(_) => ApiError::Conflict(e.to_string()),
        MaintenanceError::Future(_) => ApiError::invalid("on", e.to_string()),
        MaintenanceError::UnknownPoint { .. } => ApiError::invalid("run_a", e.to_string()),
    }
}

fn alarm_error(e: AlarmError) -> ApiError {
    match e {
        AlarmError::UnknownAlarm(_) => ApiError::NotFound(e.to_string()),
        AlarmError::EndsInPast(_) => ApiError::invalid("until", e.to_string()),
        AlarmError::MissingReason(_) => ApiError::invalid("reason", e.to_string()),
        AlarmError::NothingToAcknowledge => ApiError::invalid("alarms", e.to_string()),
        _ => ApiError::Conflict(e.to_string()),
    }
}

fn incident_error(e: IncidentError) -> ApiError {
    match e {
        IncidentError::NotFound(_) => ApiError::NotFound(e.to_string()),
        IncidentError::UnknownCategory(_) | IncidentError::NotAnAccident(_) => {
            ApiError::invalid("category", e.to_string())
        }
        IncidentError::MissingReason => ApiError::invalid("reason", e.to_string()),
        IncidentError::BadCall { field, .. } => ApiError::invalid(field, e.to_string()),
        _ => ApiError::Conflict(e.to_string()),
    }
}

fn service_error(e: ServiceError) -> ApiError {
    match e {
        ServiceError::CannotClose { missing } => ApiError::Missing {
            action: "close",
            missing,
        },
        ServiceError::Empty(what) => ApiError::invalid(empty_field(what), e.to_string()),
        ServiceError::BadRating(_) => ApiError::invalid("score", e.to_string()),
        ServiceError::BadAttachment(_) => ApiError::invalid("file", e.to_string()),
        ServiceError::NotAComplaint(_) => ApiError::invalid("action", e.to_string()),
        ServiceError::NotFound(id) => ApiError::NotFound(format!("request {id}")),
        ServiceError::NotLinkable => ApiError::invalid("incident", e.to_string()),
        ServiceError::DueInPast => ApiError::invalid("due_at", e.to_string()),
        _ => ApiError::Conflict(e.to_string()),
    }
}

/// The body field an empty text of a request step was given in.
fn empty_field(what: &str) -> &'static str {
    match what {
        "reply" => "text",
        "completion report" => "report",
        "result" => "text",
        "assignee" => "to",
        "department" => "department",
        "task" => "task",
        _ => "reason",
    }
}

fn handover_error(e: HandoverError) -> ApiError {
    match e {
        HandoverError::UnknownItem(_) => ApiError::invalid("reference", e.to_string()),
        HandoverError::EmptyNote => ApiError::invalid("text", e.to_string()),
        HandoverError::NotFound(id) => ApiError::NotFound(format!("hand-over {id}")),
        _ => ApiError::Conflict(e.to_string()),
    }
}

fn inspection_error(e: InspectionError) -> ApiError {
    match e {
        InspectionError::NotVacant(_) | InspectionError::AlreadyRecorded(_) => {
            ApiError::Conflict(e.to_string())
        }
        InspectionError::Incomplete(_) => ApiError::invalid("items", e.to_string()),
        InspectionError::UnknownKeySet(_) => ApiError::invalid("key_set", e.to_string()),
        InspectionError::Config(_) => ApiError::Conflict(e.to_string()),
    }
}

/// The body of every refusal; the OpenAPI document names it `ErrorBody`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub(crate) struct Body<'a> {
    /// Stable, machine-readable: `not_found`, `invalid`, `conflict`, `invalid_rows`,
    /// `missing_records`, `bad_body`, `too_large`, `unsupported_type`,
    /// `method_not_allowed`, `unavailable`, `not_yet_stored` (503: the change was made
    /// and will be stored; do not send it again), `internal` (and
    /// `forbidden`/`unauthorized` from sign-in).
    #[schema(value_type = String, example = "invalid")]
    code: &'a str,
    /// For people.
    message: String,
    /// The parameter or body field at fault, where one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "limit")]
    field: Option<&'a str>,
    /// Each bad row of an upload, with its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    problems: Option<&'a [RowProblem]>,
    /// Each record still missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    missing: Option<&'a [&'static str]>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, field) = match &self {
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            ApiError::Invalid { field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(*field))
            }
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
            ApiError::InvalidRows(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_rows", None),
            ApiError::Missing { .. } => (StatusCode::CONFLICT, "missing_records", None),
            ApiError::BadBody { status, .. } => (*status, "bad_body", Some("body")),
            ApiError::BadParameter { field, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some(field.as_str()),
            ),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", Some("body")),
            ApiError::UnsupportedType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_type",
                Some("content-type"),
            ),
            ApiError::NoRoute(_) => (StatusCode::NOT_FOUND, "not_found", None),
            ApiError::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None)
            }
            ApiError::Refused { status, .. } => (*status, code_of(*status), None),
            ApiError::Unavailable | ApiError::StoreUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None)
            }
            ApiError::NotYetStored => (StatusCode::SERVICE_UNAVAILABLE, "not_yet_stored", None),
            ApiError::Store(e) if is_outage(e) => {
                tracing::warn!(error = %e, "database unavailable in request");
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None)
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "store failure in request");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        let message = match &self {
            ApiError::Store(e) if is_outage(e) => ApiError::StoreUnavailable.to_string(),
            ApiError::Store(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let mut resp = (
            status,
            Json(Body {
                code,
                message,
                field,
                problems: match &self {
                    ApiError::InvalidRows(p) => Some(p),
                    _ => None,
                },
                missing: match &self {
                    ApiError::Missing { missing, .. } => Some(missing),
                    _ => None,
                },
            }),
        )
            .into_response();
        resp.extensions_mut().insert(ErrorCode(code));
        resp
    }
}

/// The code a bare status gets: the one the handlers use for it.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_type",
        StatusCode::CONFLICT => "conflict",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "invalid",
    }
}

/// Whether a store error means the database is out of reach (down, cut off, or no
/// connection free in time) rather than a fault in the request or the data: such an
/// error answers 503, which clients retry.
fn is_outage(e: &StoreError) -> bool {
    let StoreError::Sql(e) = e else {
        return false;
    };
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01..03 (shut down, cannot connect).
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

impl ApiError {
    /// A field that is missing or malformed.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// A JSON body whose rejections answer with the stable error body (and count), instead of
/// axum's plain-text message.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    Json<T>: axum::extract::FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(r) => Err(ApiError::BadBody {
                status: r.status(),
                message: r.body_text(),
            }),
        }
    }
}

/// Path parameters whose rejection (`/incidents/null`) answers with the stable error body
/// naming the parameter, instead of axum's plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_error(parts, &rejection).await),
        }
    }
}

/// The parameter a path rejection is about, and what was wrong with it.
async fn path_error(parts: &mut Parts, rejection: &PathRejection) -> ApiError {
    let (key, message) = match rejection {
        PathRejection::FailedToDeserializePathParams(e) => {
            let key = match e.kind() {
                ErrorKind::ParseErrorAtKey { key, .. }
                | ErrorKind::DeserializeError { key, .. }
                | ErrorKind::InvalidUtf8InPathParam { key } => Some(key.clone()),
                _ => None,
            };
            (key, e.kind().to_string())
        }
        other => (None, other.body_text()),
    };
    // A single `{id}` parses as a bare value, whose error names no key: the route's
    // first (only) parameter is the one.
    let first = match RawPathParams::from_request_parts(parts, &()).await {
        Ok(params) => params.iter().next().map(|(k, _)| k.to_owned()),
        Err(_) => None,
    };
    let field = key.or(first).unwrap_or_else(|| "path".to_owned());
    let message = format!("path parameter `{field}`: {message}");
    ApiError::BadParameter { field, message }
}

/// Every change names who made it (the audit trail needs it).
pub fn require_actor(actor: &str) -> Result<(), ApiError> {
    if actor.trim().is_empty() {
        return Err(ApiError::invalid(
            "actor",
            "who is doing this must be given",
        ));
    }
    Ok(())
}

/// A client-made record id (a phone's scan or inspection): 1 to 100 characters, so a
/// resend is recognised and nothing unbounded reaches the store.
pub fn require_client_id(id: &str, what: &str) -> Result<(), ApiError> {
    if id.trim().is_empty() || id.len() > 100 {
        return Err(ApiError::invalid(
            "id",
            format!("{what} id of 1 to 100 characters is required"),
        ));
    }
    Ok(())
}

impl ApiError {
    /// The status, stable code and message this error answers with: a command from the
    /// centre (`outbox::commands`) is refused with what the site's own route would say.
    pub fn refusal(self) -> (u16, &'static str, String) {
        let message = match &self {
            ApiError::Store(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let response = self.into_response();
        let code = response
            .extensions()
            .get::<ErrorCode>()
            .map_or("internal", |c| c.0);
        (response.status().as_u16(), code, message)
    }
}
