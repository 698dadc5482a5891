//! One error type for every handler: a stable body (`code`, `message`, optional `field`),
//! with internal failures logged and never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::customers::RowProblem;
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
    /// The engine is not running (shutting down).
    #[error("engine unavailable")]
    Unavailable,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Each bad row of an upload, with its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<&'a [RowProblem]>,
    /// Each record still missing.
    #[serde(skip_serializing_if = "Option::is_none")]
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
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            ApiError::Store(e) => {
                tracing::error!(error = %e, "store failure in request");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        let message = match &self {
            ApiError::Store(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        (
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
            .into_response()
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
