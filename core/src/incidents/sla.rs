//! SLA clocks: a named deadline that starts at an anchor, is met by a recorded step, and
//! breaches exactly once when `now` passes its due time unmet. Also the default rule sets
//! the manuals (and, where they are silent, rules.md §14) give each kind of work.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::{Desk, Pause, WorkingCalendar};

/// Which deadline a clock measures. The snake-case name is the `sla` metric label.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SlaKind {
    /// Someone on site (an accident, a repair).
    OnSite,
    /// The incident report (事件报告) filed with the general office.
    IncidentReport,
    /// The insurer told of the loss (报案).
    InsurerNotified,
    /// The claim notice (出险通知书) completed.
    ClaimNotice,
    /// The police told of a theft or robbery.
    PoliceReport,
    /// The owner contacted about a repair, or a complaint acknowledged.
    Acknowledged,
    /// An emergency repair made safe.
    MadeSafe,
    /// A reply with a plan (complaint) or a reply (suggestion).
    Replied,
    /// The work done or the complaint resolved.
    Resolved,
    /// The follow-up call (回访) made.
    FollowUp,
}

impl SlaKind {
    /// The stable lower-case name used in the API, the store and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaKind::OnSite => "on_site",
            SlaKind::IncidentReport => "incident_report",
            SlaKind::InsurerNotified => "insurer_notified",
            SlaKind::ClaimNotice => "claim_notice",
            SlaKind::PoliceReport => "police_report",
            SlaKind::Acknowledged => "acknowledged",
            SlaKind::MadeSafe => "made_safe",
            SlaKind::Replied => "replied",
            SlaKind::Resolved => "resolved",
            SlaKind::FollowUp => "follow_up",
        }
    }
}

/// The moment a clock counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaAnchor {
    /// When the incident or request was reported to (or raised by) the system.
    Reported,
    /// When the event happened, which may be earlier than the report.
    Occurrence,
    /// When the incident was dealt with or the work completed; such a clock starts then.
    Resolved,
}

/// How long a clock runs. In config: `{ minutes = 3 }`, `{ working_days = 2 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// Elapsed minutes.
    Minutes(i64),
    /// Elapsed hours.
    Hours(i64),
    /// Elapsed calendar days (24 h each).
    Days(i64),
    /// Working days on the site calendar.
    WorkingDays(u32),
}

impl Span {
    /// Whether the span is longer than zero.
    pub fn is_positive(self) -> bool {
        match self {
            Span::Minutes(n) | Span::Hours(n) | Span::Days(n) => n > 0,
            Span::WorkingDays(n) => n > 0,
        }
    }

    /// The deadline `self` after `from`.
    pub fn after(self, from: DateTime<Utc>, calendar: &WorkingCalendar) -> DateTime<Utc> {
        match self {
            Span::Minutes(m) => from + Duration::minutes(m),
            Span::Hours(h) => from + Duration::hours(h),
            Span::Days(d) => from + Duration::days(d),
            Span::WorkingDays(n) => calendar.add_working_days(from, n),
        }
    }
}

/// One configured deadline: which clock, from when, for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaRule {
    /// The clock.
    pub sla: SlaKind,
    /// What it counts from.
    pub anchor: SlaAnchor,
    /// How long it runs.
    pub within: Span,
    /// Whether it counts only while the desk is staffed (`[service] desk_hours`), pausing
    /// outside them (rules.md §14 Complaints: "within 30 min in desk hours"). Minutes and
    /// hours only; service requests only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub desk_hours: bool,
}

impl SlaRule {
    const fn new(sla: SlaKind, anchor: SlaAnchor, within: Span) -> Self {
        Self {
            sla,
            anchor,
            within,
            desk_hours: false,
        }
    }

    /// The same rule counted in desk hours.
    const fn in_desk_hours(self) -> Self {
        Self {
            desk_hours: true,
            ..self
        }
    }

    /// The same rule counted round the clock (an incident's clocks have no desk hours).
    pub const fn round_the_clock(self) -> Self {
        Self {
            desk_hours: false,
            ..self
        }
    }

    /// The span as elapsed time, for desk-hours counting; `None` for calendar and working
    /// days, which desk hours do not apply to.
    pub fn desk_span(&self) -> Option<Duration> {
        match self.within {
            Span::Minutes(m) => Some(Duration::minutes(m)),
            Span::Hours(h) => Some(Duration::hours(h)),
            Span::Days(_) | Span::WorkingDays(_) => None,
        }
    }
}

/// The board's traffic light for a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// Met on time.
    Met,
    /// Running with at least a quarter of its time left.
    Green,
    /// Running with less than a quarter of its time left.
    Amber,
    /// Breached (whether or not met since).
    Red,
}

/// A running or finished deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaClock {
    /// Which deadline.
    pub sla: SlaKind,
    /// When it started counting.
    pub started_at: DateTime<Utc>,
    /// When it falls due; met at exactly this moment is on time.
    pub due_at: DateTime<Utc>,
    /// When the step it measures was recorded.
    pub met_at: Option<DateTime<Utc>>,
    /// Whether the deadline passed unmet; set once, never cleared.
    pub breached: bool,
    /// For a desk-hours clock, the stretches between start and due when the desk is closed
    /// and the clock does not count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pauses: Vec<Pause>,
}

impl SlaClock {
    /// Starts `rule` from `anchor_at`.
    pub fn start(rule: &SlaRule, anchor_at: DateTime<Utc>, calendar: &WorkingCalendar) -> Self {
        Self {
            sla: rule.sla,
            started_at: anchor_at,
            due_at: rule.within.after(anchor_at, calendar),
            met_at: None,
            breached: false,
            pauses: Vec::new(),
        }
    }

    /// Starts `rule` from `anchor_at`, counting only the desk's hours when the rule says so.
    pub fn start_at_desk(
        rule: &SlaRule,
        anchor_at: DateTime<Utc>,
        calendar: &WorkingCalendar,
        desk: &Desk,
    ) -> Self {
        let mut clock = Self::start(rule, anchor_at, calendar);
        if let Some(span) = rule.desk_span().filter(|_| rule.desk_hours) {
            (clock.due_at, clock.pauses) = desk.after(anchor_at, span);
        }
        clock
    }

    /// When a running clock paused at `now` (the desk closed) counts again; `None` while it
    /// counts or once met.
    pub fn resumes_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let paused = self.pauses.iter().find(|p| p.from <= now && now < p.to);
        paused.filter(|_| self.is_running()).map(|p| p.to)
    }

    /// Whether the step is still outstanding.
    pub fn is_running(&self) -> bool {
        self.met_at.is_none()
    }

    /// Marks the clock breached if `now` is past due and it is unmet. Returns true only on
    /// the call that breached it, so the breach event goes out exactly once.
    pub fn tick(&mut self, now: DateTime<Utc>) -> bool {
        if self.breached || !self.is_running() || now <= self.due_at {
            return false;
        }
        self.breached = true;
        true
    }

    /// Records the step at `at`. Returns true when meeting it late is what breached it
    /// (no tick had caught the breach yet), so the caller still reports it once.
    pub fn meet(&mut self, at: DateTime<Utc>) -> bool {
        if !self.is_running() {
            return false;
        }
        self.met_at = Some(at);
        self.tick_at_meeting(at)
    }

    fn tick_at_meeting(&mut self, at: DateTime<Utc>) -> bool {
        if self.breached || at <= self.due_at {
            return false;
        }
        self.breached = true;
        true
    }

    /// Moves the due time (an agreed visit time); a clock already breached stays breached.
    pub fn reschedule(&mut self, due_at: DateTime<Utc>) {
        self.due_at = due_at;
    }

    /// Time left before the deadline (negative when overdue); `None` once met.
    pub fn remaining(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.is_running().then(|| self.due_at - now)
    }

    /// The board's traffic light at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> SlaStatus {
        if self.breached || (self.is_running() && now > self.due_at) {
            return SlaStatus::Red;
        }
        if !self.is_running() {
            return SlaStatus::Met;
        }
        let total = (self.due_at - self.started_at).num_milliseconds();
        let left = (self.due_at - now).num_milliseconds();
        // Amber below a quarter of the whole span left; integer maths avoids rounding.
        if left.saturating_mul(4) < total {
            SlaStatus::Amber
        } else {
            SlaStatus::Green
        }
    }
}

/// Accident clocks (rules.md §2.3, §13.2–5): on site in 3 min, incident report and insurer
/// in 12 h, claim notice in 3 days; theft and robbery add the police in 24 h.
pub fn accident_rules(theft: bool) -> Vec<SlaRule> {
    let mut rules = vec![
        // rules.md §13.2, seed 004:157: "接到事故发生,三分钟内到现场".
        SlaRule::new(SlaKind::OnSite, SlaAnchor::Reported, Span::Minutes(3)),
        // rules.md §13.3, seed 004:157: incident report to the general office in 12 h.
        SlaRule::new(
            SlaKind::IncidentReport,
            SlaAnchor::Occurrence,
            Span::Hours(12),
        ),
        // rules.md §13.4, seed 004:157 (anchor switch to `resolved` per 004:171).
        SlaRule::new(
            SlaKind::InsurerNotified,
            SlaAnchor::Occurrence,
            Span::Hours(12),
        ),
        // rules.md §13.3, seed 004:157: 出险通知书 within 3 days of occurrence.
        SlaRule::new(SlaKind::ClaimNotice, SlaAnchor::Occurrence, Span::Days(3)),
    ];
    if theft {
        // rules.md §13.5, seed 004:123: police report within 24 h of the loss.
        rules.push(SlaRule::new(
            SlaKind::PoliceReport,
            SlaAnchor::Occurrence,
            Span::Hours(24),
        ));
    }
    rules
}

/// Emergency repair (急修) clocks, product defaults (rules.md §14 "Repairs").
pub fn emergency_repair_rules() -> Vec<SlaRule> {
    vec![
        // rules.md §14 Repairs: emergency repair on site within 15 min.
        SlaRule::new(SlaKind::OnSite, SlaAnchor::Reported, Span::Minutes(15)),
        // rules.md §14 Repairs: made safe within 2 h.
        SlaRule::new(SlaKind::MadeSafe, SlaAnchor::Reported, Span::Hours(2)),
        // rules.md §14 Repairs: follow-up within 1 working day of completion.
        SlaRule::new(SlaKind::FollowUp, SlaAnchor::Resolved, Span::WorkingDays(1)),
    ]
}

/// Ordinary repair clocks, product defaults (rules.md §14 "Repairs").
pub fn ordinary_repair_rules() -> Vec<SlaRule> {
    vec![
        // rules.md §14 Repairs: owner contacted within 30 min.
        SlaRule::new(
            SlaKind::Acknowledged,
            SlaAnchor::Reported,
            Span::Minutes(30),
        ),
        // rules.md §14 Repairs: on site within 24 h (or the agreed time).
        SlaRule::new(SlaKind::OnSite, SlaAnchor::Reported, Span::Hours(24)),
        // rules.md §14 Repairs: done within 3 days.
        SlaRule::new(SlaKind::Resolved, SlaAnchor::Reported, Span::Days(3)),
        // rules.md §14 Repairs: follow-up within 1 working day of completion.
        SlaRule::new(SlaKind::FollowUp, SlaAnchor::Resolved, Span::WorkingDays(1)),
    ]
}

/// Complaint clocks, product defaults (rules.md §14 "Complaints"; no property default in
/// the seeds, §4.3).
pub fn complaint_rules() -> Vec<SlaRule> {
    vec![
        // rules.md §14 Complaints: acknowledged within 30 min in desk hours (the park desk
        // is unstaffed 22:00–08:30, §1.4).
        SlaRule::new(
            SlaKind::Acknowledged,
            SlaAnchor::Reported,
            Span::Minutes(30),
        )
        .in_desk_hours(),
        // rules.md §14 Complaints: a reply with a plan within 24 h.
        SlaRule::new(SlaKind::Replied, SlaAnchor::Reported, Span::Hours(24)),
        // rules.md §14 Complaints: resolved within 3 working days.
        SlaRule::new(SlaKind::Resolved, SlaAnchor::Reported, Span::WorkingDays(3)),
        // rules.md §14 Complaints: follow-up within 2 working days of resolution.
        SlaRule::new(SlaKind::FollowUp, SlaAnchor::Resolved, Span::WorkingDays(2)),
    ]
}

/// Suggestion clocks: a reply within 2 working days (rules.md §4.3, §13.18, seed 001:837).
pub fn suggestion_rules() -> Vec<SlaRule> {
    // rules.md §4.3, seed 001:837: "两个工作日内专人负责回复".
    vec![SlaRule::new(
        SlaKind::Replied,
        SlaAnchor::Reported,
        Span::WorkingDays(2),
    )]
}
