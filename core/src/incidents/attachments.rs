//! Attachments: photos and documents kept by the store, referenced here by the id the
//! caller supplies, with the size and type limits checked before one is accepted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an attachment is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A photo of the scene as found (拍照留证, seed 004:157).
    ScenePhoto,
    /// A photo taken before an emergency repair (抢修前须现场拍照, seed 004:121).
    BeforeRepairPhoto,
    /// A photo of the repaired site.
    AfterRepairPhoto,
    /// The police report certificate (报案证明, seed 004:123).
    PoliceCertificate,
    /// A statement of a person involved (当事人口述记录, seed 004:171).
    Statement,
    /// Any other document: a notice, a quote, an invoice, an appraisal.
    Document,
}

/// A file on record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The store's id for the file.
    pub id: String,
    /// What it shows.
    pub kind: AttachmentKind,
    /// MIME type, e.g. `image/jpeg`.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Caption or file name.
    pub caption: String,
    /// When it was attached.
    pub added_at: DateTime<Utc>,
    /// Who attached it.
    pub added_by: String,
}

/// What the caller hands over to attach a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAttachment {
    /// The store's id for the file.
    pub id: String,
    /// What it shows.
    pub kind: AttachmentKind,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Caption or file name.
    pub caption: String,
}

/// Size and type limits for attachments. Product defaults: the seeds set none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttachmentLimits {
    /// Largest file accepted, in bytes. Product default: 20 MiB (a phone photo or a scan).
    pub max_bytes: u64,
    /// MIME types accepted. Product default: JPEG, PNG, HEIC photos and PDF documents.
    pub content_types: Vec<String>,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            content_types: ["image/jpeg", "image/png", "image/heic", "application/pdf"]
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

impl AttachmentLimits {
    /// Why `file` is refused, or `None` when it is within limits.
    pub fn refusal(&self, file: &NewAttachment) -> Option<String> {
        if file.id.trim().is_empty() {
            return Some("attachment id is empty".to_owned());
        }
        if file.size_bytes > self.max_bytes {
            return Some(format!(
                "{} bytes exceeds the {} byte limit",
                file.size_bytes, self.max_bytes
            ));
        }
        if !self
            .content_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&file.content_type))
        {
            return Some(format!("type `{}` is not accepted", file.content_type));
        }
        None
    }
}
