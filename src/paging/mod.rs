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
use std::sync::RwLock;

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
    /// The SMS gateway's secret for posting replies; `None`: replies are off.
    pub reply_secret: Option<String>,
    /// Each person's own order of channels (names), over the config's; read from the
    /// store at start and set through the API.
    orders: RwLock<BTreeMap<String, Vec<String>>>,
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
            reply_secret: p.reply_secret.clone(),
            orders: RwLock::default(),
        }))
    }

    /// Reads every person's own order of channels from the store.
    pub async fn load_orders(&self, store: &crate::store::Store) -> anyhow::Result<()> {
        let orders = store
            .channel_orders()
            .await
            .context("cannot read the people's channel orders")?;
        if let Ok(mut o) = self.orders.write() {
            *o = orders;
        }
        Ok(())
    }

    /// `user` with their channels in their own order: the channels they named first, in
    /// that order, then the rest in the config's order.
    pub fn person(&self, user: &str) -> Option<Person> {
        let mut person = self.people.get(user)?.clone();
        let order = self
            .orders
            .read()
            .ok()
            .and_then(|o| o.get(user).cloned())
            .unwrap_or_default();
        let rank = |c: &Contact| {
            order
                .iter()
                .position(|n| n == c.channel())
                .unwrap_or(order.len())
        };
        // A stable sort keeps the config's order among equals.
        person.contacts.sort_by_key(rank);
        Some(person)
    }

    /// Whether `user` set their own order.
    pub fn has_own_order(&self, user: &str) -> bool {
        self.orders.read().is_ok_and(|o| o.contains_key(user))
    }

    /// Checks `order` for `user`: names only channels configured for them, each once.
    pub fn check_order(&self, user: &str, order: &[String]) -> Result<(), String> {
        let person = self
            .people
            .get(user)
            .ok_or_else(|| format!("`{user}` is not one of [[people]]: no channels to order"))?;
        let configured: Vec<&str> = person.contacts.iter().map(Contact::channel).collect();
        for (i, name) in order.iter().enumerate() {
            if !configured.contains(&name.as_str()) {
                return Err(format!(
                    "`{name}` is not one of your channels ({})",
                    configured.join(", ")
                ));
            }
            if order[..i].contains(name) {
                return Err(format!("`{name}` is named twice"));
            }
        }
        Ok(())
    }

    /// Sets `user`'s own order (already checked and stored).
    pub fn set_order(&self, user: &str, order: Vec<String>) {
        if let Ok(mut o) = self.orders.write() {
            o.insert(user.to_owned(), order);
        }
    }

    /// Whether `given` is the SMS gateway's secret (compared in constant time).
    pub fn reply_secret_is(&self, given: &str) -> bool {
        let Some(secret) = &self.reply_secret else {
            return false;
        };
        subtle::ConstantTimeEq::ct_eq(secret.as_bytes(), given.as_bytes()).into()
    }

    /// The SMS and voice numbers of `[[people]]` that are `phone` written another way
    /// (spaces, dashes), as the config writes them.
    pub fn numbers_matching(&self, phone: &str) -> Vec<String> {
        let bare = |p: &str| -> String {
            p.chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect()
        };
        let wanted = bare(phone);
        let mut out: Vec<String> = self
            .people
            .values()
            .flat_map(|p| &p.contacts)
            .filter_map(|c| match c {
                Contact::Sms(n) | Contact::Voice(n) if !wanted.is_empty() && bare(n) == wanted => {
                    Some(n.clone())
                }
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
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
