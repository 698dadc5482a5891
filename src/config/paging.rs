//! `[paging]`, `[[people]]`, `[[rota]]` and `[[rota_overrides]]` (issue 21): who is on
//! call at each escalation level, how each person is reached, and how pages repeat. A rota
//! that leaves a gap, overlaps itself or names someone not in `[[people]]` is a warning
//! (the daemon still starts: at run time a gap raises its alarm and the page goes up a
//! level); a rota entry that cannot be read at all is a problem.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use sitewatch_core::alarms::{AlarmConfig, Priority};
use sitewatch_core::oncall::rota::Place;
use sitewatch_core::oncall::{Rota, RotaEntry, RotaOverride, ShiftTimes, Window};
use toml::Spanned;

use super::{Problem, Problems};

/// `[paging]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagingConfig {
    /// Signs the links in pages (HMAC-SHA256); at least 32 characters. Or
    /// `SITEWATCH_PAGING_SECRET`. Never logged.
    pub secret: Option<String>,
    /// The daemon's address as a phone reaches it (`https://sitewatch.example.cn`); links
    /// are `{link_base}/p/{token}`.
    pub link_base: String,
    /// How long a link works (2 h by default: long enough for a night call-out).
    #[serde(default = "default_link_ttl", with = "humantime_serde")]
    pub link_ttl: Duration,
    /// `[paging.repeat]`: how often a page repeats while its alarm stays unacknowledged.
    #[serde(default)]
    pub repeat: RepeatConfig,
    /// One summary per person per this interval when many alarms rise (5 min).
    #[serde(default = "default_summary", with = "humantime_serde")]
    pub summary_interval: Duration,
    /// Most pages per person per hour, emergencies not held back (30).
    #[serde(default = "default_per_hour")]
    pub per_hour: u32,
    /// Attempts on one channel before the person's next channel (3).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Wait after a failed attempt, doubled after each further one (10 s).
    #[serde(default = "default_backoff", with = "humantime_serde")]
    pub backoff: Duration,
    /// The secret the SMS gateway sends (`Authorization: Bearer …`) when it posts a
    /// person's reply to `/api/v1/paging/sms-replies`; at least 16 characters. Unset: SMS
    /// replies are off. Never logged.
    pub reply_secret: Option<String>,
    /// Named shifts added to (or replacing) the manuals' `day`, `evening`, `night`,
    /// `office`: `{ late = "12:00-20:00" }`.
    #[serde(default)]
    pub shifts: BTreeMap<String, String>,
}

impl fmt::Debug for PagingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagingConfig")
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("reply_secret", &self.reply_secret.as_ref().map(|_| "***"))
            .field("link_base", &self.link_base)
            .field("link_ttl", &self.link_ttl)
            .field("repeat", &self.repeat)
            .field("summary_interval", &self.summary_interval)
            .field("per_hour", &self.per_hour)
            .finish_non_exhaustive()
    }
}

impl PagingConfig {
    /// The shift names with their hours: the manuals' and the site's own.
    pub fn shift_times(&self) -> Result<ShiftTimes, String> {
        let mut times = ShiftTimes::default();
        for (name, hours) in &self.shifts {
            times.0.insert(name.clone(), Window::parse(hours)?);
        }
        Ok(times)
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let from_env = std::env::var_os("SITEWATCH_PAGING_SECRET").is_some();
        if !from_env && self.secret.as_ref().is_none_or(|s| s.len() < 32) {
            out.push((
                "secret",
                "`secret` must be at least 32 characters (or set SITEWATCH_PAGING_SECRET)".into(),
            ));
        }
        if !(self.link_base.starts_with("http://") || self.link_base.starts_with("https://")) {
            out.push((
                "link_base",
                format!(
                    "`link_base` `{}` must start with http:// or https://",
                    self.link_base
                ),
            ));
        }
        if let Err(e) = self.shift_times() {
            out.push(("shifts", e));
        }
        if self.reply_secret.as_ref().is_some_and(|s| s.len() < 16) {
            out.push((
                "reply_secret",
                "`reply_secret` must be at least 16 characters".into(),
            ));
        }
        if self.attempts == 0 {
            out.push(("attempts", "`attempts` must be at least 1".into()));
        }
        out
    }
}

fn default_link_ttl() -> Duration {
    Duration::from_secs(2 * 3600)
}
fn default_summary() -> Duration {
    Duration::from_secs(5 * 60)
}
fn default_per_hour() -> u32 {
    30
}
fn default_attempts() -> u32 {
    3
}
fn default_backoff() -> Duration {
    Duration::from_secs(10)
}

/// `[paging.repeat]`: repeat interval per priority. Product defaults (rules.md is silent):
/// emergency 2 min, high 5 min, medium 10 min, low 30 min.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepeatConfig {
    /// Emergency.
    #[serde(with = "humantime_serde")]
    pub emergency: Duration,
    /// High.
    #[serde(with = "humantime_serde")]
    pub high: Duration,
    /// Medium.
    #[serde(with = "humantime_serde")]
    pub medium: Duration,
    /// Low.
    #[serde(with = "humantime_serde")]
    pub low: Duration,
}

impl RepeatConfig {
    /// The interval for `p`.
    pub fn of(&self, p: Priority) -> Duration {
        match p {
            Priority::Emergency => self.emergency,
            Priority::High => self.high,
            Priority::Medium => self.medium,
            Priority::Low => self.low,
        }
    }
}

impl Default for RepeatConfig {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(m * 60);
        Self {
            emergency: min(2),
            high: min(5),
            medium: min(10),
            low: min(30),
        }
    }
}

/// `[[people]]`: a staff user who can be paged, with their channels in their order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonConfig {
    /// The staff user's name (as they sign in).
    pub user: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Channels, tried in this order: `sms:+8613800000000`, `voice:+86…`,
    /// `wechat:https://qyapi.weixin.qq.com/…`, `dingtalk:https://oapi.dingtalk.com/…`,
    /// `email:wang@example.cn`, `mqtt:site/pager/wang`.
    pub channels: Vec<String>,
}

/// The paging part of a site config, as read.
#[derive(Debug, Clone, Default)]
pub struct OnCall {
    /// `[paging]`; `None`: nobody is paged.
    pub paging: Option<PagingConfig>,
    /// `[[people]]`.
    pub people: Vec<PersonConfig>,
    /// `[[rota]]`.
    pub rota: Vec<RotaEntry>,
    /// `[[rota_overrides]]`.
    pub overrides: Vec<RotaOverride>,
}

/// Spanned entries as read from the file, for problems with lines.
pub(super) struct Raw {
    pub(super) people: Vec<Spanned<PersonConfig>>,
    pub(super) rota: Vec<Spanned<RotaEntry>>,
    pub(super) overrides: Vec<Spanned<RotaOverride>>,
}

/// Where to point at in the file.
pub(super) struct Text<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
}

impl Text<'_> {
    fn at(&self, offset: usize, reason: String) -> Problem {
        Problem::at(self.file, self.text, offset, reason)
    }

    fn find(&self, key: &str) -> usize {
        self.text.find(key).unwrap_or(0)
    }
}

impl OnCall {
    /// Checks and keeps the entries: problems (an entry that cannot be read, a bad
    /// channel, `[paging]` settings) and warnings (gaps, overlaps, unknown people).
    pub(super) fn read(
        paging: Option<PagingConfig>,
        raw: Raw,
        alarms: &AlarmConfig,
        t: &Text<'_>,
        problems: &mut Problems,
        warnings: &mut Problems,
    ) -> OnCall {
        let out = OnCall {
            paging,
            people: raw.people.iter().map(|s| s.get_ref().clone()).collect(),
            rota: raw.rota.iter().map(|s| s.get_ref().clone()).collect(),
            overrides: raw.overrides.iter().map(|s| s.get_ref().clone()).collect(),
        };
        let Some(paging) = &out.paging else {
            return out;
        };
        for (key, reason) in paging.problems() {
            let start = t.find("[paging]");
            let at = t.text[start..].find(key).map_or(start, |i| start + i);
            problems.push(t.at(at, reason));
        }
        for p in &raw.people {
            for c in &p.get_ref().channels {
                if let Err(reason) = super::contacts::Contact::parse(c) {
                    problems.push(t.at(
                        p.span().start,
                        format!("person `{}`: {reason}", p.get_ref().user),
                    ));
                }
            }
        }
        let times = paging.shift_times().unwrap_or_default();
        let (rota, bad) = Rota::new(alarms.time_zone, &times, &out.rota, &out.overrides);
        let place = |p: &Place| {
            match p {
                Place::Entry(i) => raw.rota.get(*i).map(|s| s.span().start),
                Place::Override(i) => raw.overrides.get(*i).map(|s| s.span().start),
                Place::Level(_) => None,
            }
            .unwrap_or_else(|| t.find("[paging]"))
        };
        for b in bad {
            problems.push(t.at(place(&b.place), b.reason));
        }
        let levels = levels(alarms);
        for w in rota.check(&levels) {
            warnings.push(t.at(place(&w.place), w.reason));
        }
        out.unknown(&raw, &levels, t, warnings);
        out
    }

    /// Rota entries naming a person not in `[[people]]` or a level no chain has.
    fn unknown(&self, raw: &Raw, levels: &[String], t: &Text<'_>, warnings: &mut Problems) {
        let known = |u: &str| self.people.iter().any(|p| p.user == u);
        let entries = raw
            .rota
            .iter()
            .map(|s| (s.span().start, &s.get_ref().level, Some(&s.get_ref().user)));
        let changes = raw.overrides.iter().flat_map(|s| {
            let o = s.get_ref();
            [
                (s.span().start, &o.level, o.user.as_ref()),
                (s.span().start, &o.level, o.replaces.as_ref()),
            ]
        });
        for (at, level, user) in entries.chain(changes) {
            if let Some(u) = user.filter(|u| !known(u)) {
                warnings.push(t.at(
                    at,
                    format!("`{u}` is not one of [[people]]: nobody can page them"),
                ));
            }
            if !levels.contains(level) {
                let reason = format!(
                    "level `{level}` is in no escalation chain, expected one of {}",
                    levels.join(", ")
                );
                warnings.push(t.at(at, reason));
            }
        }
    }
}

/// The levels of the escalation chains, in chain order (`duty_engineer`, `shift_lead`,
/// `manager` by default).
pub fn levels(alarms: &AlarmConfig) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in Priority::ALL {
        for step in alarms.escalation.chain(p) {
            if !out.contains(&step.role) {
                out.push(step.role.clone());
            }
        }
    }
    out
}
