//! `central.toml`: the central office's NATS server, its PostgreSQL database, its HTTP
//! listener and when a silent site counts as cut off. Checked like a site config: every
//! problem with its file and line.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{Document, Problem, Problems};

/// `[nats]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSection {
    /// The central NATS server with JetStream (`nats://host:4222`).
    pub url: String,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// The central PostgreSQL database (`postgres://user@host/db`).
    pub url: String,
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// The fleet view's address; loopback by default.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8090))
}

/// `[fleet]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSection {
    /// A site silent for longer than this is cut off: an alarm at the centre (5 min).
    #[serde(default = "default_link_down", with = "humantime_serde")]
    pub link_down_after: Duration,
    /// How long a command to a site waits for its answer before it is "not delivered"
    /// (5 s).
    #[serde(default = "default_command_timeout", with = "humantime_serde")]
    pub command_timeout: Duration,
}

impl Default for FleetSection {
    fn default() -> Self {
        Self {
            link_down_after: default_link_down(),
            command_timeout: default_command_timeout(),
        }
    }
}

fn default_command_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_link_down() -> Duration {
    Duration::from_secs(300)
}

/// A checked `central.toml`.
#[derive(Debug, Clone)]
pub struct CentralConfig {
    /// `[nats]`.
    pub nats: NatsSection,
    /// `[database]`.
    pub database: DatabaseSection,
    /// `[http]`.
    pub http: HttpSection,
    /// `[fleet]`.
    pub fleet: FleetSection,
}

impl CentralConfig {
    /// Reads and checks `path`; `SITEWATCH_CENTRAL_DATABASE_URL` overrides the database.
    pub fn load(path: &Path) -> Result<CentralConfig, Problems> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Problems(vec![Problem::file(path, format!("cannot read: {e}"))]))?;
        let mut config = CentralConfig::parse(path, &text)?;
        if let Ok(url) = std::env::var("SITEWATCH_CENTRAL_DATABASE_URL") {
            config.database.url = url;
        }
        Ok(config)
    }

    /// Parses and checks config text.
    pub fn parse(file: &Path, text: &str) -> Result<CentralConfig, Problems> {
        let mut doc = Document::parse(file, text);
        doc.refuse_unknown(&["nats", "database", "http", "fleet"]);
        let nats: Option<NatsSection> = doc.required("nats");
        let database: Option<DatabaseSection> = doc.required("database");
        let http: HttpSection = doc.section("http");
        let fleet: FleetSection = doc.section("fleet");
        let mut problems = doc.problems;
        let at = |key: &str| text.find(key).unwrap_or(0);
        if let Some(n) = &nats
            && !(n.url.starts_with("nats://") || n.url.starts_with("tls://"))
        {
            let reason = format!("`url` `{}` must start with nats:// or tls://", n.url);
            problems.push(Problem::at(file, text, at("[nats]"), reason));
        }
        if let Some(d) = &database
            && !d.url.starts_with("postgres://")
        {
            // The URL may hold a password: not repeated.
            let reason = "the central database must be PostgreSQL (`postgres://…`)".to_owned();
            problems.push(Problem::at(file, text, at("[database]"), reason));
        }
        problems.sort();
        match (nats, database) {
            (Some(nats), Some(database)) if problems.0.is_empty() => Ok(CentralConfig {
                nats,
                database,
                http,
                fleet,
            }),
            _ => Err(problems),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_centre_and_a_bad_nats_url_are_refused_at_their_lines() {
        let text = "[nats]\nurl = \"http://x\"\n\n[database]\nurl = \"sqlite://c.db\"\n";
        let err = CentralConfig::parse(Path::new("central.toml"), text)
            .expect_err("refused")
            .to_string();
        assert!(err.contains("central.toml:1:1: `url` `http://x`"), "{err}");
        assert!(
            err.contains("central.toml:4:1: the central database must be PostgreSQL"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_section_is_named() {
        let err = CentralConfig::parse(Path::new("c.toml"), "[nats]\nurl = \"nats://h:4222\"\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("database"), "{err}");
    }
}
