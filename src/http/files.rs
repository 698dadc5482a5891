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

use super::auth::Actor;
use super::{ApiError, AppState};
use crate::store::StoredFile;

pub(super) fn router() -> Router<AppState> {
    let limit = AttachmentLimits::default().max_bytes as usize;
    Router::new()
        .route("/files", post(upload).layer(DefaultBodyLimit::max(limit)))
        .route("/files/{id}", get(download))
}

#[derive(Deserialize)]
struct UploadQuery {
    /// Who uploads (replaced by the signed-in user when sign-in is on).
    by: Option<String>,
}

#[derive(Serialize)]
struct Uploaded {
    id: String,
    content_type: String,
    size_bytes: usize,
}

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

async fn download(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let file = s
        .store
        .file(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("file `{id}`")))?;
    Ok(([(header::CONTENT_TYPE, file.content_type)], file.body).into_response())
}
