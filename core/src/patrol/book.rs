//! The patrol book: the one aggregate the engine holds for patrols. It plans tours from
//! the schedules, judges scans, moves tours along the clock and answers "what is next".

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::PatrolError;
use super::config::{Checkpoint, PatrolConfig, Route, Windows, normalise_code, normalise_uid};
use super::events::PatrolEvent;
use super::findings::{Finding, FindingAction};
use super::scans::{Scan, ScanRecord, ScanResult, ScanSource, TagRef};
use super::schedule::{ScheduleRule, resolve_local};
use super::tours::{Tour, TourId, TourProgress};

/// How far ahead tours are planned, so the board and the guard page can show them.
const PLAN_AHEAD_HOURS: i64 = 24;
/// How long scan ids and times are remembered for resend and duplicate checks.
const REMEMBER_SCANS_HOURS: i64 = 24;

/// A scan remembered for the duplicate and resend checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentScan {
    /// The sender's scan id.
    pub id: String,
    /// Guard id.
    pub guard: String,
    /// Checkpoint id, or the normalised tag when unknown.
    pub tag: String,
    /// When it counts.
    pub at: DateTime<Utc>,
    /// Whether it passed the sender checks; only those can make a later scan a duplicate.
    pub allowed: bool,
}

/// Everything the book must keep across a restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatrolState {
    /// Tours planned, running and recently closed.
    pub tours: BTreeMap<TourId, Tour>,
    /// Tours are planned up to here.
    pub planned_until: Option<DateTime<Utc>>,
    /// Recent scans.
    pub recent: Vec<RecentScan>,
    /// Phone tokens and the guard each belongs to.
    pub tokens: BTreeMap<String, String>,
    /// Recent findings, for the daily report.
    pub findings: Vec<Finding>,
}

/// Whose next checkpoint to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "for", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// A guard: their tour in progress, else the first open tour.
    Guard(String),
    /// A route: its current tour, else its next one.
    Route(String),
}

/// What a scan did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanOutcome {
    /// The scan and its verdict, to store.
    pub record: ScanRecord,
    /// The tour it was judged against, as it stands now.
    pub progress: Option<TourProgress>,
    /// What changed.
    pub events: Vec<PatrolEvent>,
}

/// Patrol state and rules for one site.
#[derive(Debug, Clone)]
pub struct PatrolBook {
    pub(crate) config: PatrolConfig,
    pub(crate) tz: Tz,
    pub(crate) windows: Windows,
    pub(crate) checkpoints: BTreeMap<String, Checkpoint>,
    by_uid: BTreeMap<String, String>,
    by_code: BTreeMap<String, String>,
    pub(crate) routes: BTreeMap<String, (Route, Vec<ScheduleRule>)>,
    pub(crate) state: PatrolState,
}

impl PatrolBook {
    /// A book with no history; fails with every config problem listed.
    pub fn new(config: PatrolConfig) -> Result<Self, PatrolError> {
        Self::restore(config, PatrolState::default())
    }

    /// A book resumed from a snapshot taken by [`PatrolBook::snapshot`].
    pub fn restore(config: PatrolConfig, state: PatrolState) -> Result<Self, PatrolError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(PatrolError::Config { problems });
        }
        let tz = config
            .tz()
            .map_err(|e| PatrolError::Config { problems: vec![e] })?;
        let routes = config
            .routes
            .iter()
            .map(|r| {
                let rules = r.schedules.iter().filter_map(|s| s.parse().ok()).collect();
                (r.id.clone(), (r.clone(), rules))
            })
            .collect();
        let checkpoints: BTreeMap<String, Checkpoint> = config
            .checkpoints
            .iter()
            .map(|c| (c.id.clone(), c.clone()))
            .collect();
        let by_uid = checkpoints
            .values()
            .filter_map(|c| normalise_uid(&c.tag_uid).map(|u| (u, c.id.clone())))
            .collect();
        let by_code = checkpoints
            .values()
            .map(|c| (normalise_code(&c.short_code), c.id.clone()))
            .collect();
        let windows = config.windows();
        Ok(Self {
            config,
            tz,
            windows,
            checkpoints,
            by_uid,
            by_code,
            routes,
            state,
        })
    }

    /// The state to persist.
    pub fn snapshot(&self) -> PatrolState {
        self.state.clone()
    }

    /// The site time zone.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Lets a phone token scan for `guard`.
    pub fn register_token(&mut self, token: &str, guard: &str) {
        self.state.tokens.insert(token.to_owned(), guard.to_owned());
    }

    /// Stops a phone token from scanning.
    pub fn revoke_token(&mut self, token: &str) {
        self.state.tokens.remove(token);
    }

    /// Moves every tour along the clock and plans the next ones.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<PatrolEvent> {
        self.plan(now);
        let mut out = Vec::new();
        for tour in self.state.tours.values_mut() {
            out.extend(tour.tick(now));
        }
        self.prune(now);
        out
    }

    /// Judges a scan at its own time and, if valid, records it on its tour.
    pub fn scan(&mut self, scan: Scan, now: DateTime<Utc>) -> ScanOutcome {
        self.plan(now);
        let at = scan.scanned_at.min(scan.received_at);
        let delivered_late = scan.received_at - scan.scanned_at > self.windows.late_delivery;
        let checkpoint = self.resolve(&scan.tag);
        let (result, tour, events) = self.judge(&scan, at, checkpoint.as_deref());
        let allowed = !matches!(result, ScanResult::NotAllowed | ScanResult::Resent);
        self.remember(&scan, at, checkpoint.as_deref(), allowed);
        let progress = tour
            .as_ref()
            .and_then(|id| self.state.tours.get(id))
            .map(Tour::progress);
        let record = ScanRecord {
            scan,
            result,
            at,
            delivered_late,
            checkpoint,
            tour,
        };
        ScanOutcome {
            record,
            progress,
            events,
        }
    }

    /// Records a finding and says what to do about it; `None` when a finding with its id
    /// is already kept (a phone resending after a lost answer), so it is not acted on twice.
    pub fn finding(&mut self, finding: Finding) -> Option<PatrolEvent> {
        if self.kept_finding(&finding.id).is_some() {
            return None;
        }
        let action = finding.kind.action(&self.config.finding_actions);
        self.state.findings.push(finding.clone());
        Some(PatrolEvent::FindingRecorded { finding, action })
    }

    /// A kept finding by its id, with the action it led to.
    pub fn kept_finding(&self, id: &str) -> Option<(&Finding, FindingAction)> {
        let kept = self.state.findings.iter().find(|f| f.id == id)?;
        Some((kept, kept.kind.action(&self.config.finding_actions)))
    }

    /// The tour a guard or route is on, with what is next.
    pub fn next_for(&self, who: &Subject, now: DateTime<Utc>) -> Option<TourProgress> {
        let live = self.state.tours.values().filter(|t| !t.status.is_closed());
        let mut live: Vec<&Tour> = live.collect();
        live.sort_by_key(|t| t.scheduled_start);
        let tour = match who {
            Subject::Guard(g) => live.iter().find(|t| t.guards.contains(g)).or_else(|| {
                live.iter()
                    .find(|t| t.scheduled_start <= now && t.started_at.is_none())
            }),
            Subject::Route(r) => live.iter().find(|t| &t.route == r),
        };
        tour.map(|t| t.progress())
    }

    /// Every tour whose scheduled start falls on a local date: those held, and those the
    /// schedules will plan.
    pub fn tours_on(&self, date: NaiveDate) -> Vec<Tour> {
        let (from, to) = self.day_bounds(date);
        let mut out: BTreeMap<TourId, Tour> = self
            .state
            .tours
            .values()
            .filter(|t| t.scheduled_start >= from && t.scheduled_start < to)
            .map(|t| (t.id.clone(), t.clone()))
            .collect();
        for tour in self.planned(from, to) {
            out.entry(tour.id.clone()).or_insert(tour);
        }
        let mut tours: Vec<Tour> = out.into_values().collect();
        tours.sort_by(|a, b| (a.scheduled_start, &a.route).cmp(&(b.scheduled_start, &b.route)));
        tours
    }

    /// Findings held by the book (kept as long as closed tours).
    pub fn findings(&self) -> &[Finding] {
        &self.state.findings
    }

    /// UTC bounds of a local date.
    pub(crate) fn day_bounds(&self, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let next = date.succ_opt().unwrap_or(date);
        (
            resolve_local(self.tz, date.and_time(chrono::NaiveTime::MIN)),
            resolve_local(self.tz, next.and_time(chrono::NaiveTime::MIN)),
        )
    }

    /// Tours the schedules give in `[from, to)`, not yet held.
    fn planned(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Tour> {
        let mut out = Vec::new();
        for (route, rules) in self.routes.values() {
            let starts: BTreeSet<DateTime<Utc>> = rules
                .iter()
                .flat_map(|r| r.occurrences(self.tz, from, to))
                .collect();
            for start in starts {
                let two = route.two_guards.is_some_and(|w| w.contains(self.tz, start));
                out.push(Tour::plan(route, start, &self.windows, two));
            }
        }
        out
    }

    /// Plans tours up to a day ahead. A fresh book starts at the earliest start still on
    /// time, so a restart does not raise alarms for tours nobody was asked to walk.
    fn plan(&mut self, now: DateTime<Utc>) {
        let from = self
            .state
            .planned_until
            .unwrap_or(now - self.windows.start_late);
        let to = now + Duration::hours(PLAN_AHEAD_HOURS);
        if from >= to {
            return;
        }
        for tour in self.planned(from, to) {
            self.state.tours.entry(tour.id.clone()).or_insert(tour);
        }
        self.state.planned_until = Some(to);
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let keep = now - Duration::hours(i64::from(self.config.keep_closed_hours));
        self.state
            .tours
            .retain(|_, t| !t.status.is_closed() || t.deadline() >= keep);
        self.state.findings.retain(|f| f.at >= keep);
        let remember = now - Duration::hours(REMEMBER_SCANS_HOURS);
        self.state.recent.retain(|r| r.at >= remember);
    }

    /// The checkpoint a tag or code names.
    fn resolve(&self, tag: &TagRef) -> Option<String> {
        match tag {
            TagRef::Uid(raw) => normalise_uid(raw).and_then(|u| self.by_uid.get(&u).cloned()),
            TagRef::ShortCode(raw) => self.by_code.get(&normalise_code(raw)).cloned(),
        }
    }

    fn source_allowed(&self, scan: &Scan) -> bool {
        match &scan.source {
            ScanSource::Reader { reader } => self.config.readers.contains(reader),
            ScanSource::Phone { token } => self.state.tokens.get(token) == Some(&scan.guard),
        }
    }

    /// The checks in order; the first that fails gives the verdict.
    fn judge(
        &mut self,
        scan: &Scan,
        at: DateTime<Utc>,
        checkpoint: Option<&str>,
    ) -> (ScanResult, Option<TourId>, Vec<PatrolEvent>) {
        if self.state.recent.iter().any(|r| r.id == scan.id) {
            return (ScanResult::Resent, None, Vec::new());
        }
        if !self.source_allowed(scan) {
            return (ScanResult::NotAllowed, None, Vec::new());
        }
        let Some(checkpoint) = checkpoint else {
            return (ScanResult::UnknownTag, None, Vec::new());
        };
        let dup = self.windows.duplicate;
        let duplicate = self.state.recent.iter().any(|r| {
            r.allowed && r.guard == scan.guard && r.tag == checkpoint && (r.at - at).abs() <= dup
        });
        if duplicate {
            return (ScanResult::Duplicate, None, Vec::new());
        }
        self.judge_on_tour(&scan.guard, checkpoint, at)
    }

    fn remember(
        &mut self,
        scan: &Scan,
        at: DateTime<Utc>,
        checkpoint: Option<&str>,
        allowed: bool,
    ) {
        let tag = checkpoint
            .map(str::to_owned)
            .unwrap_or_else(|| match &scan.tag {
                TagRef::Uid(raw) => normalise_uid(raw).unwrap_or_else(|| raw.clone()),
                TagRef::ShortCode(raw) => normalise_code(raw),
            });
        self.state.recent.push(RecentScan {
            id: scan.id.clone(),
            guard: scan.guard.clone(),
            tag,
            at,
            allowed,
        });
    }

    /// A held tour.
    pub fn tour(&self, id: &str) -> Option<&Tour> {
        self.state.tours.get(id)
    }

    /// A checkpoint, for its name, building and floor on the guard page.
    pub fn checkpoint(&self, id: &str) -> Option<&Checkpoint> {
        self.checkpoints.get(id)
    }
}
