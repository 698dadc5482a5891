//! `/api/v1/files`: photos and documents for findings, inspections and incidents. The
//! body is the file itself with its `Content-Type`; types and size follow the incident
//! attachment limits (JPEG, PNG, HEIC, PDF; 20 MiB).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sitewatch_core::incidents::AttachmentLimits;

use utoipa::{IntoParams, OpenApi, ToSchema};

use super::auth::Actor;
use super::{ApiError, AppState, ErrorBody};
use crate::store::StoredFile;

#[derive(OpenApi)]
#[openapi(paths(upload, download))]
pub(super) struct Doc;

pub(super) fn router() -> Router<AppState> {
    let limit = AttachmentLimits::default().max_bytes as usize;
    Router::new()
        .route("/files", post(upload).layer(DefaultBodyLimit::max(limit)))
        .route("/files/{id}", get(download))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
    /// Who uploads (replaced by the signed-in user when sign-in is on).
    by: Option<String>,
}

/// The file as kept; `id` is what findings and inspections refer to.
#[derive(Serialize, ToSchema)]
struct Uploaded {
    id: String,
    content_type: String,
    size_bytes: usize,
}

/// Uploads a photo or document: the body is the file with its `Content-Type`.
#[utoipa::path(post, path = "/files", tag = "files", params(UploadQuery),
    request_body(description = "The file (JPEG, PNG, HEIC, PDF; up to 20 MiB)",
        content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/heic"),
            (Vec<u8> = "application/pdf"))),
    responses(
        (status = 201, description = "Kept", body = Uploaded),
        (status = 413, description = "Larger than 20 MiB"),
        (status = 415, description = "Type not accepted (`unsupported_type`)", body = ErrorBody),
        (status = 422, description = "Empty file", body = ErrorBody),
    ))]
async fn upload(
    State(s): State<AppState>,
    Actor(signed_in): Actor,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let limits = AttachmentLimits::default();
    if !limits.content_types.iter().any(|t| t == &content_type) {
        let allowed = limits.content_types.join(", ");
        let body = Json(
            serde_json::json!({"code": "unsupported_type", "message": format!("`{content_type}` is not accepted; use {allowed}"), "field": "content-type"}),
        );
        return Ok((StatusCode::UNSUPPORTED_MEDIA_TYPE, body).into_response());
    }
    if body.is_empty() {
        return Err(ApiError::invalid("body", "the file is empty"));
    }
    let id: String = Sha256::digest(&body)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let file = StoredFile {
        id: id.clone(),
        content_type: content_type.clone(),
        body: body.to_vec(),
    };
    let by = signed_in.or(q.by).unwrap_or_else(|| "anonymous".into());
    s.store
        .insert_file(&file, &by, s.clock.now().timestamp_millis())
        .await?;
    let out = Uploaded {
        id,
        content_type,
        size_bytes: body.len(),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Downloads a file as uploaded.
#[utoipa::path(get, path = "/files/{id}", tag = "files",
    params(("id" = String, Path, description = "File id")),
    responses(
        (status = 200, description = "The file, with its content type", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 404, description = "No such file", body = ErrorBody),
    ))]
async fn download(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let file = s
        .store
        .file(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("file `{id}`")))?;
    Ok(([(header::CONTENT_TYPE, file.content_type)], file.body).into_response())
}
