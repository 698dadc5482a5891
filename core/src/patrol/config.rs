//! Patrol configuration: checkpoints, routes and their schedules, windows and limits. Every
//! number here is a product default from rules.md §14 (the manuals give none, §5.1), and a
//! site setting.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::findings::{FindingAction, FindingType};
use super::schedule::{HoursWindow, ScheduleConfig};
use crate::alarms::AlarmRule;

/// A place a guard must visit, marked by an NFC tag and a printed short code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Stable id.
    pub id: String,
    /// The tag's NFC UID; any case and separators, normalised by [`normalise_uid`].
    pub tag_uid: String,
    /// Code printed beside the tag, typed on phones without NFC.
    pub short_code: String,
    /// Name shown to the guard.
    pub name: String,
    /// Building the checkpoint is in.
    pub building: String,
    /// Floor, as the site writes it (`B1`, `12`, `roof`).
    pub floor: String,
}

/// One checkpoint of a route and when it is expected after the tour starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteStop {
    /// Checkpoint id.
    pub checkpoint: String,
    /// Minutes from the tour start at which the guard is expected here.
    pub offset_minutes: u32,
}

/// A fixed set of checkpoints walked as one tour (001:849: routes and times fixed per route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Stable id.
    pub id: String,
    /// Name shown on the board and in the report.
    pub name: String,
    /// Stops in walking order.
    pub checkpoints: Vec<RouteStop>,
    /// Whether the stops must be scanned in the listed order.
    #[serde(default)]
    pub ordered: bool,
    /// Local hours in which each stop needs two different guards (001:843: double-person
    /// patrols at key periods). Judged by the tour's scheduled start.
    #[serde(default)]
    pub two_guards: Option<HoursWindow>,
    /// When tours of this route start; default the §14 night and day rounds.
    #[serde(default = "default_schedules")]
    pub schedules: Vec<ScheduleConfig>,
}

fn default_schedules() -> Vec<ScheduleConfig> {
    vec![ScheduleConfig::night_rounds(), ScheduleConfig::day_rounds()]
}

/// The patrol section of the site config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatrolConfig {
    /// IANA time zone that schedules and hours windows are written in.
    pub time_zone: String,
    /// How late a tour may start (§14: 15 min).
    pub start_late_minutes: u32,
    /// Grace after a checkpoint's expected time before it counts as late (§14: 10 min).
    pub grace_minutes: u32,
    /// The same tag scanned again by the same guard within this is a duplicate (§14: 60 s).
    pub duplicate_seconds: u32,
    /// A scan received this long after it was made is flagged as delivered late (product
    /// choice: 120 s, a phone queue flushing after a dead spot).
    pub late_delivery_seconds: u32,
    /// Closed tours stay in memory this long after their deadline, for reports.
    pub keep_closed_hours: u32,
    /// Fixed readers allowed to send scans.
    pub readers: Vec<String>,
    /// Checkpoints of the site.
    pub checkpoints: Vec<Checkpoint>,
    /// Routes of the site.
    pub routes: Vec<Route>,
    /// Overrides of the action each finding type leads to.
    pub finding_actions: BTreeMap<FindingType, FindingAction>,
    /// The incident category a missed-checkpoint alarm opens when the incident policy
    /// escalates it (product default: `patrol_finding`).
    pub missed_category: String,
}

impl Default for PatrolConfig {
    fn default() -> Self {
        Self {
            time_zone: "Asia/Shanghai".to_owned(),
            start_late_minutes: 15,
            grace_minutes: 10,
            duplicate_seconds: 60,
            late_delivery_seconds: 120,
            keep_closed_hours: 48,
            readers: Vec::new(),
            checkpoints: Vec::new(),
            routes: Vec::new(),
            finding_actions: BTreeMap::new(),
            missed_category: "patrol_finding".to_owned(),
        }
    }
}

/// The limits of [`PatrolConfig`] as durations, for the tour and scan rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Windows {
    /// How late a tour may start.
    pub start_late: Duration,
    /// Grace after a checkpoint's expected time.
    pub grace: Duration,
    /// Duplicate-scan interval.
    pub duplicate: Duration,
    /// Delay after which a scan counts as delivered late.
    pub late_delivery: Duration,
}

impl PatrolConfig {
    /// One missed-checkpoint alarm rule per route.
    pub fn missed_rules(&self) -> Vec<AlarmRule> {
        (self.routes.iter())
            .map(|r| AlarmRule::checkpoint_missed(&r.id, &r.name))
            .collect()
    }

    /// The windows as durations.
    pub fn windows(&self) -> Windows {
        Windows {
            start_late: Duration::minutes(i64::from(self.start_late_minutes)),
            grace: Duration::minutes(i64::from(self.grace_minutes)),
            duplicate: Duration::seconds(i64::from(self.duplicate_seconds)),
            late_delivery: Duration::seconds(i64::from(self.late_delivery_seconds)),
        }
    }

    /// The site time zone, or why it is not one.
    pub fn tz(&self) -> Result<Tz, String> {
        self.time_zone
            .parse::<Tz>()
            .map_err(|_| format!("unknown time zone `{}`", self.time_zone))
    }

    /// Every problem in the config, each as one line; empty when it is usable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(e) = self.tz() {
            out.push(e);
        }
        out.extend(self.checkpoint_problems());
        out.extend(self.route_problems());
        out
    }

    fn checkpoint_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let (mut ids, mut uids, mut codes) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for c in &self.checkpoints {
            if !ids.insert(c.id.as_str()) {
                out.push(format!("checkpoint `{}` is defined twice", c.id));
            }
            match normalise_uid(&c.tag_uid) {
                Some(uid) if !uids.insert(uid.clone()) => {
                    out.push(format!("checkpoint `{}`: tag {uid} is used twice", c.id));
                }
                Some(_) => {}
                None => out.push(format!("checkpoint `{}`: tag_uid is not hex", c.id)),
            }
            if !codes.insert(normalise_code(&c.short_code)) {
                out.push(format!("checkpoint `{}`: short code is used twice", c.id));
            }
        }
        out
    }

    fn route_problems(&self) -> Vec<String> {
        let known: BTreeSet<&str> = self.checkpoints.iter().map(|c| c.id.as_str()).collect();
        let mut out = Vec::new();
        let mut ids = BTreeSet::new();
        for r in &self.routes {
            if !ids.insert(r.id.as_str()) {
                out.push(format!("route `{}` is defined twice", r.id));
            }
            if r.checkpoints.is_empty() {
                out.push(format!("route `{}` has no checkpoints", r.id));
            }
            let mut seen = BTreeSet::new();
            for stop in &r.checkpoints {
                if !known.contains(stop.checkpoint.as_str()) {
                    out.push(format!(
                        "route `{}`: unknown checkpoint `{}`",
                        r.id, stop.checkpoint
                    ));
                }
                if !seen.insert(stop.checkpoint.as_str()) {
                    out.push(format!(
                        "route `{}`: checkpoint `{}` twice",
                        r.id, stop.checkpoint
                    ));
                }
            }
            for s in &r.schedules {
                if let Err(e) = s.parse() {
                    out.push(format!("route `{}`: {e}", r.id));
                }
            }
        }
        out
    }
}

/// An NFC UID in canonical form: upper-case hex without separators; `None` if not hex.
pub fn normalise_uid(raw: &str) -> Option<String> {
    let hex: String = raw
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ok = !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    ok.then_some(hex)
}

/// A short code as compared: trimmed, upper case.
pub fn normalise_code(raw: &str) -> String {
    raw.trim().to_uppercase()
}
