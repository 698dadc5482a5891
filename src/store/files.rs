//! Photos and documents, stored in the database with their type and size.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreError};

/// A stored file.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    /// Id: the first 32 hex digits of the content's SHA-256 (the same photo twice is one file).
    pub id: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes.
    pub body: Vec<u8>,
}

impl StoredFile {
    /// A file of `content_type` holding `body`, its id made from the content.
    pub fn new(content_type: &str, body: Vec<u8>) -> StoredFile {
        let id = Sha256::digest(&body)
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        StoredFile {
            id,
            content_type: content_type.to_owned(),
            body,
        }
    }
}

impl Store {
    /// Keeps a file; storing the same content again is a no-op.
    pub async fn insert_file(
        &self,
        f: &StoredFile,
        by: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into files (file_id, content_type, size_bytes, uploaded_by, created_ms, body) \
             values ($1, $2, $3, $4, $5, $6) on conflict (file_id) do nothing",
        )
        .bind(f.id.clone())
        .bind(f.content_type.clone())
        .bind(f.body.len() as i64)
        .bind(by.to_owned())
        .bind(at_ms)
        .bind(f.body.clone())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One file.
    pub async fn file(&self, id: &str) -> Result<Option<StoredFile>, StoreError> {
        let row = sqlx::query("select file_id, content_type, body from files where file_id = $1")
            .bind(id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(StoredFile {
                id: r.try_get("file_id")?,
                content_type: r.try_get("content_type")?,
                body: r.try_get("body")?,
            })
        })
        .transpose()
    }

    /// Whether a file exists.
    pub async fn file_exists(&self, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("select 1 as one from files where file_id = $1")
            .bind(id.to_owned())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }
}
