//! `/api/v1/files`: photos and documents for findings, inspections and incidents. The
//! body is the file itself with its `Content-Type`; types and size follow the incident
//! attachment limits (JPEG, PNG, HEIC, PDF; 20 MiB), and the bytes must be of the type
//! declared (their signature is checked). Files are served with `nosniff` and a
//! `Content-Disposition`: images inline, anything else as a download.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::AttachmentLimits;

use utoipa::{IntoParams, OpenApi, ToSchema};

use super::auth::Actor;
use super::page::ApiQuery;
use super::{ApiError, ApiPath, AppState, ErrorBody};
use crate::store::StoredFile;

#[derive(OpenApi)]
#[openapi(paths(upload, download))]
pub(super) struct Doc;

/// The upload route, whose bodies the sign-in layer reads up to [`max_bytes`] and audits
/// by size and hash.
pub(crate) const UPLOAD_ROUTE: &str = "/api/v1/files";

/// The largest file taken.
pub(crate) fn max_bytes() -> usize {
    usize::try_from(AttachmentLimits::default().max_bytes).unwrap_or(usize::MAX)
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/files",
            post(upload).layer(DefaultBodyLimit::max(max_bytes())),
        )
        .route("/files/{id}", get(download))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
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
        (status = 413, description = "Larger than 20 MiB (`too_large`)", body = ErrorBody),
        (status = 415, description = "Type not accepted (`unsupported_type`)", body = ErrorBody),
        (status = 422, description = "Empty file, or bytes not of the declared type", body = ErrorBody),
    ))]
async fn upload(
    State(s): State<AppState>,
    Actor(signed_in): Actor,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let content_type = accepted_type(&headers)?;
    let body = body.map_err(|_| ApiError::TooLarge { limit: max_bytes() })?;
    if body.is_empty() {
        return Err(ApiError::invalid("body", "the file is empty"));
    }
    if !signature_matches(&content_type, &body) {
        let message = format!("the bytes are not {content_type}: send the file with its own type");
        return Err(ApiError::invalid("body", message));
    }
    let file = StoredFile::new(&content_type, body.to_vec());
    let by = signed_in.or(q.by).unwrap_or_else(|| "anonymous".into());
    s.store
        .insert_file(&file, &by, s.clock.now().timestamp_millis())
        .await?;
    let out = Uploaded {
        id: file.id,
        content_type,
        size_bytes: body.len(),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// The declared `Content-Type` (without parameters), if it is one the attachments take.
fn accepted_type(headers: &HeaderMap) -> Result<String, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let limits = AttachmentLimits::default();
    if limits.content_types.contains(&content_type) {
        return Ok(content_type);
    }
    let allowed = limits.content_types.join(", ");
    Err(ApiError::UnsupportedType(format!(
        "`{content_type}` is not accepted; use {allowed}"
    )))
}

/// HEIF major brands (ISO/IEC 23008-12): what an iPhone's HEIC photo starts with.
const HEIF_BRANDS: [&[u8; 4]; 10] = [
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
];

/// Whether `bytes` start as a file of `content_type` does. A type without an entry here
/// never matches, so a type added to the limits without its signature is refused, not
/// taken unchecked.
fn signature_matches(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        // An ISO media file: a `ftyp` box first, whose major brand is a HEIF one.
        "image/heic" => {
            bytes.get(4..8) == Some(b"ftyp")
                && bytes
                    .get(8..12)
                    .is_some_and(|brand| HEIF_BRANDS.iter().any(|b| b.as_slice() == brand))
        }
        _ => false,
    }
}

/// Downloads a file as uploaded: images inline, other files as a download, never
/// sniffed as another type.
#[utoipa::path(get, path = "/files/{id}", tag = "files",
    params(("id" = String, Path, description = "File id")),
    responses(
        (status = 200, description = "The file, with its content type", body = Vec<u8>, content_type = "application/octet-stream",
            headers(("x-content-type-options" = String, description = "`nosniff`"),
                ("content-disposition" = String, description = "`inline` for images, `attachment` otherwise, with the file name `{id}.{ext}`"))),
        (status = 404, description = "No such file", body = ErrorBody),
    ))]
async fn download(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let file = s
        .store
        .file(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("file `{id}`")))?;
    let disposition = disposition(&file.id, &file.content_type);
    let headers = [
        (header::CONTENT_TYPE, file.content_type),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((headers, file.body).into_response())
}

/// `inline` for images, `attachment` otherwise; the name is the id (hex digits, as the
/// upload made it, filtered again so no stored value can break out of the quotes) and
/// the type's extension.
fn disposition(id: &str, content_type: &str) -> String {
    let ext = match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/heic" => "heic",
        "application/pdf" => "pdf",
        _ => "bin",
    };
    let name: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
    let how = if content_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    format!("{how}; filename=\"{name}.{ext}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_type_has_a_signature_checked() {
        let samples: [(&str, &[u8]); 4] = [
            ("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            ("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            ("application/pdf", b"%PDF-1.7\n"),
            ("image/heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
        ];
        for t in AttachmentLimits::default().content_types {
            let (_, good) = samples
                .iter()
                .find(|(s, _)| *s == t)
                .unwrap_or_else(|| panic!("no sample for accepted type {t}"));
            assert!(signature_matches(&t, good), "{t}");
            assert!(!signature_matches(&t, b"<html><script>"), "{t}");
        }
        // A PNG declared as a JPEG is refused.
        assert!(!signature_matches("image/jpeg", samples[1].1));
    }

    #[test]
    fn images_are_shown_inline_and_documents_downloaded_with_a_safe_name() {
        assert_eq!(
            disposition("ab12", "image/png"),
            "inline; filename=\"ab12.png\""
        );
        assert_eq!(
            disposition("ab12", "application/pdf"),
            "attachment; filename=\"ab12.pdf\""
        );
        assert_eq!(
            disposition("a\"; x=\"../b", "application/pdf"),
            "attachment; filename=\"axb.pdf\""
        );
    }
}
