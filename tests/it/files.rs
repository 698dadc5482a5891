//! Photos and documents: uploaded as themselves, typed, checked against their type and
//! size-limited (20 MiB, past the sign-in layer's 4 MiB for other bodies), audited by size
//! and hash rather than copied, served back with `nosniff` and a `Content-Disposition`,
//! and a guard's finding can only reference a photo that was really uploaded.

use serde_json::json;

use crate::helpers::{Db, TestApp, spawn_app};

/// A minimal valid 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

async fn upload(app: &TestApp, content_type: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let resp = app
        .client
        .post(format!("{}/api/v1/files?by=guard-zhang", app.base))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_photo_is_stored_served_back_and_referenced_by_a_finding() {
    let app = spawn_app(Db::Postgres).await;
    let (status, up) = upload(&app, "image/png", PNG.to_vec()).await;
    assert_eq!(status, 201, "{up}");
    let id = up["id"].as_str().expect("id").to_owned();
    let got = app
        .client
        .get(format!("{}/api/v1/files/{id}", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        got.headers()["content-disposition"],
        format!("inline; filename=\"{id}.png\"").as_str()
    );
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), PNG);
    let finding = |photo: &str| json!({"id": format!("f-{photo}"), "kind": "unlocked_door", "text": "B1 plant room door open", "guard": "guard-zhang", "photo": photo});
    let (status, err) = app
        .post_json("/api/v1/patrol/findings", finding("not-uploaded"))
        .await;
    assert_eq!((status, err["field"].as_str()), (422, Some("photo")));
    let (status, ok) = app.post_json("/api/v1/patrol/findings", finding(&id)).await;
    assert_eq!(status, 201, "{ok}");
    assert_eq!(ok["finding"]["photo"], id);
}

#[tokio::test]
async fn wrong_types_and_oversized_files_are_refused() {
    let app = spawn_app(Db::Sqlite).await;
    let (status, err) = upload(&app, "text/html", b"<script>".to_vec()).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (415, Some("unsupported_type"))
    );
    let (status, err) = upload(&app, "image/jpeg", jpeg(21 * 1024 * 1024)).await;
    assert_eq!((status, err["code"].as_str()), (413, Some("too_large")));
    let message = err["message"].as_str().unwrap_or_default();
    assert!(message.contains("20 MiB"), "the limit is named: {err}");
    let (status, err) = upload(&app, "image/jpeg", Vec::new()).await;
    assert_eq!((status, err["field"].as_str()), (422, Some("body")));
    let missing = app
        .client
        .get(format!("{}/api/v1/files/0000", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
}

/// `size` bytes that start as a JPEG does.
fn jpeg(size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    bytes
}

async fn audit_of_uploads(app: &TestApp) -> Vec<serde_json::Value> {
    let rows = app.get_json("/api/v1/audit?action=/api/v1/files").await;
    rows.as_array().expect("a list").clone()
}

#[tokio::test]
async fn a_photo_over_4_mib_is_taken_and_audited_by_size_type_and_hash_not_copied() {
    let app = spawn_app(Db::Sqlite).await;
    let photo = jpeg(6 * 1024 * 1024);
    let (status, up) = upload(&app, "image/jpeg", photo.clone()).await;
    assert_eq!(status, 201, "{up}");
    let rows = audit_of_uploads(&app).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let sha256: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&photo)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(
        rows[0]["after"],
        json!({"upload": {"size_bytes": 6 * 1024 * 1024, "content_type": "image/jpeg", "sha256": sha256}})
    );
    assert!(
        rows[0].to_string().len() < 2_000,
        "the audit row holds no copy of the file"
    );
    // The file id is the hash's first half: the audit row names the file it kept.
    assert!(sha256.starts_with(up["id"].as_str().expect("id")));
}

#[tokio::test]
async fn bytes_not_of_their_declared_type_are_refused_and_documents_are_downloads() {
    let app = spawn_app(Db::Sqlite).await;
    // A page posing as a photo, and a real PNG declared as a JPEG.
    for (declared, body) in [
        ("image/png", b"<html><script>alert(1)</script>".to_vec()),
        ("image/jpeg", PNG.to_vec()),
        ("application/pdf", PNG.to_vec()),
    ] {
        let (status, err) = upload(&app, declared, body).await;
        assert_eq!(
            (status, err["code"].as_str(), err["field"].as_str()),
            (422, Some("invalid"), Some("body")),
            "{declared}: {err}"
        );
    }
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let (status, up) = upload(&app, "application/pdf", pdf).await;
    assert_eq!(status, 201, "{up}");
    let id = up["id"].as_str().expect("id");
    let got = app
        .client
        .get(format!("{}/api/v1/files/{id}", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        got.headers()["content-disposition"],
        format!("attachment; filename=\"{id}.pdf\"").as_str()
    );
}
