//! Photos and documents: uploaded as themselves, typed and size-limited, served back, and
//! a guard's finding can only reference a photo that was really uploaded.

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
    let (status, _) = upload(&app, "image/jpeg", vec![0xFF; 21 * 1024 * 1024]).await;
    assert_eq!(status, 413);
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
