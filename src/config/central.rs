//! `[central]` (issue 23): forward this site's records to the central office over NATS
//! JetStream. Absent, nothing is forwarded and nothing about the site changes.

use std::time::Duration;

use serde::Deserialize;

/// `[central]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralConfig {
    /// The central NATS server (`nats://host:4222`).
    pub url: String,
    /// This site's id at the centre; `[site] id` unless set. Letters, digits, `_` and `-`
    /// (it is a NATS subject token).
    pub site_id: Option<String>,
    /// Which point history travels: `none`, `recorded` (what the site's own history
    /// keeps; the default) or `all` (every sample read).
    #[serde(default)]
    pub history: HistoryLevel,
    /// Most MiB of records waiting for the centre (forwarded or not yet confirmed by the
    /// centre's watermark). At 80 % an alarm rises; full, history is refused first (at
    /// 90 %), then records (at 100 %): kept on site, not forwarded, and counted.
    #[serde(default = "default_buffer_mib")]
    pub buffer_mib: u64,
    /// The oldest record the buffer holds before it counts as full, as the size does: the
    /// buffer is as full as the larger of its size and its age say.
    #[serde(default = "default_max_age", with = "humantime_serde")]
    pub max_age: Duration,
}

/// `[central] history`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryLevel {
    /// No point history.
    None,
    /// What the site's history keeps.
    #[default]
    Recorded,
    /// Every sample.
    All,
}

/// 7 days of the demo site at its measured rate, with room (docs/benchmarks.md,
/// "Forward buffer").
fn default_buffer_mib() -> u64 {
    512
}

/// 7 days offline, and a day to spare.
fn default_max_age() -> Duration {
    Duration::from_secs(8 * 24 * 3600)
}

impl CentralConfig {
    /// The site id the centre knows this site by.
    pub fn site_id<'a>(&'a self, site: &'a str) -> &'a str {
        self.site_id.as_deref().unwrap_or(site)
    }

    /// The buffer's size bound in bytes.
    pub fn buffer_bytes(&self) -> u64 {
        self.buffer_mib.max(1).saturating_mul(1 << 20)
    }

    /// What is wrong with it, by key.
    pub(super) fn problems(&self, site: &str) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(self.url.starts_with("nats://") || self.url.starts_with("tls://")) {
            out.push((
                "url",
                format!("`url` `{}` must start with nats:// or tls://", self.url),
            ));
        }
        let id = self.site_id(site);
        if id.is_empty() || !id.chars().all(subject_char) {
            out.push((
                if self.site_id.is_some() {
                    "site_id"
                } else {
                    "[central]"
                },
                format!(
                    "site id `{id}` must be letters, digits, `_` or `-` (a NATS subject token)"
                ),
            ));
        }
        if self.buffer_mib == 0 {
            out.push(("buffer_mib", "`buffer_mib` must be at least 1".into()));
        }
        if self.max_age < Duration::from_secs(3600) {
            out.push(("max_age", "`max_age` must be at least 1h".into()));
        }
        out
    }
}

fn subject_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}
