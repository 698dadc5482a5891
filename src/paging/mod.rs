//! Paging people on call (issue 21). The engine hands alarm events to a bounded queue
//! (`engine::paging_queue`) and never waits; the paging task (`task`) plans one page per escalation step
//! and repeat in the store (`pages`, unique per step, so a restart neither repeats nor
//! skips one), resolves the level to the person on call (`sitewatch_core::oncall::Rota`),
//! applies flood control, and delivers through the person's channels in their order
//! (`send`), with retries and then the next channel. An acknowledgement from anywhere, or a
//! return to normal, cancels every queued page of the alarm. Each page carries a signed
//! link (`links`) to a small phone page (`http::oncall`).

mod links;
mod metrics;
mod send;
mod task;
pub mod text;

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::Duration;
use chrono_tz::Tz;
use sitewatch_core::alarms::{EscalationConfig, Priority};
use sitewatch_core::oncall::{Coverage, FloodPolicy, Rota};

use crate::config::Config;
pub use crate::config::contacts::Contact;
use crate::config::paging::RepeatConfig;
pub use crate::engine::paging_queue::{PagingInput, PagingQueue, Receiver, incident_alarm};
pub use links::{LinkError, Links};
pub use metrics::PagingMetrics;
pub use task::{PagingTask, Parts};

/// A person who can be paged.
#[derive(Debug, Clone)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// Channels in their order.
    pub contacts: Vec<Contact>,
}

/// What paging decides with, shared by the task and the phone page.
#[derive(Debug)]
pub struct Paging {
    /// Signed links.
    pub links: Links,
    /// Who is on call.
    pub rota: Rota,
    /// The escalation levels, in chain order.
    pub levels: Vec<String>,
    /// The chains per priority (which level comes next).
    pub chains: EscalationConfig,
    /// People by user name.
    pub people: BTreeMap<String, Person>,
    /// Repeat interval per priority.
    pub repeat: RepeatConfig,
    /// Flood control.
    pub flood: FloodPolicy,
    /// Attempts per channel.
    pub attempts: u32,
    /// First back-off after a failed attempt.
    pub backoff: Duration,
    /// Site name, for the text.
    pub site: String,
    /// Site time zone.
    pub tz: Tz,
}

impl Paging {
    /// From the config; `None` without `[paging]`.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Paging>> {
        let Some(p) = &config.oncall.paging else {
            return Ok(None);
        };
        let secret = p.secret.clone().context("[paging] secret is not set")?;
        let times = p.shift_times().map_err(anyhow::Error::msg)?;
        let tz = config.alarms.time_zone;
        let (rota, _) = Rota::new(tz, &times, &config.oncall.rota, &config.oncall.overrides);
        let mut people = BTreeMap::new();
        for person in &config.oncall.people {
            let contacts = person
                .channels
                .iter()
                .map(|c| Contact::parse(c).map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let name = if person.name.is_empty() {
                person.user.clone()
            } else {
                person.name.clone()
            };
            people.insert(person.user.clone(), Person { name, contacts });
        }
        let chrono = |d: std::time::Duration| Duration::from_std(d).unwrap_or(Duration::MAX);
        Ok(Some(Paging {
            links: Links::new(&secret, chrono(p.link_ttl), &p.link_base),
            rota,
            levels: crate::config::paging::levels(&config.alarms),
            chains: config.alarms.escalation.clone(),
            people,
            repeat: p.repeat.clone(),
            flood: FloodPolicy {
                interval: chrono(p.summary_interval),
                per_hour: p.per_hour,
            },
            attempts: p.attempts.max(1),
            backoff: chrono(p.backoff),
            site: config.site.name.clone(),
            tz,
        }))
    }

    /// Who is on call now and next at every level.
    pub fn coverage(&self, now: chrono::DateTime<chrono::Utc>) -> Vec<Coverage> {
        self.levels
            .iter()
            .map(|l| self.rota.coverage(l, now))
            .collect()
    }

    /// The level after `level` in `priority`'s chain, where a page goes when nobody is on
    /// call at `level`.
    pub fn level_above(&self, priority: Priority, level: &str) -> Option<String> {
        let chain = self.chains.chain(priority);
        let i = chain.iter().position(|s| s.role == level)?;
        chain.get(i + 1).map(|s| s.role.clone())
    }

    /// Repeat interval of `priority`.
    pub fn repeat_of(&self, priority: Priority) -> Duration {
        Duration::from_std(self.repeat.of(priority)).unwrap_or(Duration::MAX)
    }
}
