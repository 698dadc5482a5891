//! One error type for every handler: a stable body (`code`, `message`, optional `field`),
//! with internal failures logged and never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, field) = match &self {
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            ApiError::Invalid { field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", Some(*field))
            }
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
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
