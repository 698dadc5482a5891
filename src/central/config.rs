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

/// `[[sites]]`: what the fleet page shows of a site beyond its records. A site that
/// sends records without an entry is shown by its id, in Asia/Shanghai time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteEntry {
    /// The site's `[site] id`, as its records carry it.
    pub id: String,
    /// Its name on the fleet page.
    pub name: Option<String>,
    /// Its own dashboard (`https://north.example.com/`); the row links there.
    pub url: Option<String>,
    /// Its `[site] timezone`: the page shows site time and the month's figures by it.
    #[serde(default = "default_tz")]
    pub timezone: String,
}

fn default_tz() -> String {
    "Asia/Shanghai".to_owned()
}

impl SiteEntry {
    /// The entry of a site the config does not name.
    pub fn unnamed(id: &str) -> SiteEntry {
        SiteEntry {
            id: id.to_owned(),
            name: None,
            url: None,
            timezone: default_tz(),
        }
    }

    /// Its time zone (checked by [`CentralConfig::parse`]).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }
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
    /// `[[sites]]`.
    pub sites: Vec<SiteEntry>,
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
        doc.refuse_unknown(&["nats", "database", "http", "fleet", "sites"]);
        let nats: Option<NatsSection> = doc.required("nats");
        let database: Option<DatabaseSection> = doc.required("database");
        let http: HttpSection = doc.section("http");
        let fleet: FleetSection = doc.section("fleet");
        let sites: Vec<SiteEntry> = doc
            .list::<SiteEntry>("sites")
            .into_iter()
            .map(toml::Spanned::into_inner)
            .collect();
        let mut problems = doc.problems;
        let at = |key: &str| text.find(key).unwrap_or(0);
        for site in &sites {
            if site.timezone.parse::<chrono_tz::Tz>().is_err() {
                let reason = format!("site `{}`: unknown time zone `{}`", site.id, site.timezone);
                problems.push(Problem::at(file, text, at(&site.timezone), reason));
            }
        }
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
                sites,
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
    fn sites_are_read_and_a_bad_time_zone_is_refused() {
        let head = "[nats]\nurl = \"nats://h:4222\"\n[database]\nurl = \"postgres://c\"\n";
        let good = format!("{head}[[sites]]\nid = \"north\"\nurl = \"http://n/\"\n");
        let c = CentralConfig::parse(Path::new("c.toml"), &good).expect("good");
        assert_eq!(c.sites[0].timezone, "Asia/Shanghai");
        let bad = format!("{head}[[sites]]\nid = \"north\"\ntimezone = \"Mars/Base\"\n");
        let err = CentralConfig::parse(Path::new("c.toml"), &bad)
            .expect_err("refused")
            .to_string();
        assert!(err.contains("unknown time zone `Mars/Base`"), "{err}");
    }

    #[test]
    fn the_guides_central_toml_is_accepted() {
        let guide = include_str!("../../docs/central.md");
        let start = guide
            .find("```toml central")
            .expect("a central.toml in the guide");
        let block = &guide[start..];
        let body: String = block
            .lines()
            .skip(1)
            .take_while(|l| l.trim() != "```")
            .map(|l| format!("{}\n", l.trim_start()))
            .collect();
        let c = CentralConfig::parse(Path::new("docs/central.md"), &body).expect("accepted");
        assert_eq!(c.sites.len(), 1);
        assert_eq!(c.fleet.link_down_after, Duration::from_secs(300));
    }

    #[test]
    fn a_missing_section_is_named() {
        let err = CentralConfig::parse(Path::new("c.toml"), "[nats]\nurl = \"nats://h:4222\"\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("database"), "{err}");
    }
}
