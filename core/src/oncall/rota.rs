//! The on-call rota: shifts per escalation level in the site's time zone, with per-day
//! overrides (swap, leave, cover). Shifts repeat by weekday; an override changes one date.
//! `on_call` answers "who is on call at `t`", `coverage` adds who comes next, and `check`
//! finds the gaps and overlaps of the weekly pattern and of each override's day.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

const DAY: i64 = 1440;
const WEEK: i64 = 7 * DAY;

/// A daily window in site time, in minutes of the day; an end at or before the start
/// runs past midnight into the next day (`22:00-08:30`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Minute of the day it starts.
    pub start: i64,
    /// Minute of the day it ends (up to 1440).
    pub end: i64,
}

impl Window {
    /// Every minute of a day.
    pub const WHOLE_DAY: Window = Window { start: 0, end: DAY };

    /// Reads `"08:30-16:30"`.
    pub fn parse(s: &str) -> Result<Window, String> {
        let bad = || format!("hours `{s}`: write them as `08:30-16:30`");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let minute = |t: &str| -> Option<i64> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
            ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= DAY)
                .then_some(h * 60 + m)
        };
        let (start, end) = (minute(a).ok_or_else(bad)?, minute(b).ok_or_else(bad)?);
        if start == DAY || start == end {
            return Err(bad());
        }
        Ok(Window { start, end })
    }

    /// The end counted from the start day's midnight (past 1440 when it runs overnight).
    fn end_from_start_day(self) -> i64 {
        if self.end <= self.start {
            self.end + DAY
        } else {
            self.end
        }
    }

    /// Whether minute `m`, counted from the midnight of the day the window starts on, is in it.
    fn covers(self, m: i64) -> bool {
        (self.start..self.end_from_start_day()).contains(&m)
    }
}

/// The named shifts (`shift = "day"`); the manuals' shifts by default (rules.md §1.4,
/// §13.19): the desk's day shift 8:30–16:30, its evening shift on call from the day
/// shift's end to 22:00 (the two overlap 14:00–16:30 at the desk; that overlap is the
/// hand-over, and the day shift stays on call through it), the night manager 22:00–8:30,
/// and the office shift 8:30–17:30 for managers and supervisors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftTimes(pub BTreeMap<String, Window>);

impl Default for ShiftTimes {
    fn default() -> Self {
        let w = |start: i64, end: i64| Window { start, end };
        ShiftTimes(BTreeMap::from([
            ("day".to_owned(), w(8 * 60 + 30, 16 * 60 + 30)),
            ("evening".to_owned(), w(16 * 60 + 30, 22 * 60)),
            ("night".to_owned(), w(22 * 60, 8 * 60 + 30)),
            ("office".to_owned(), w(8 * 60 + 30, 17 * 60 + 30)),
        ]))
    }
}

/// `[[rota]]`: one person on call at one level on some weekdays.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotaEntry {
    /// Escalation level (`duty_engineer`, `shift_lead`, `manager`: the chains' roles).
    pub level: String,
    /// The person (a `[[people]]` user).
    pub user: String,
    /// A named shift (`day`, `evening`, `night`, `office`, or one of `[paging] shifts`).
    pub shift: Option<String>,
    /// Or the hours themselves, `"08:30-16:30"`.
    pub hours: Option<String>,
    /// The weekdays the shift starts on (`mon` … `sun`); every day when left out.
    #[serde(default)]
    pub days: Vec<String>,
}

/// What an override is, for the record; the fields say what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideKind {
    /// Two people trade a shift (write one override each way).
    Swap,
    /// Someone is away; `user`, if given, covers.
    Leave,
    /// `user` is on call at the level for the window, whoever the rota says.
    Cover,
}

/// `[[rota_overrides]]`: one date's change at one level.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotaOverride {
    /// The date (site time) the window starts on.
    pub date: NaiveDate,
    /// Escalation level.
    pub level: String,
    /// Swap, leave or cover.
    pub kind: OverrideKind,
    /// Who is on call instead; left out for a leave nobody covers.
    pub user: Option<String>,
    /// Whose time it takes; left out: the whole level for the window.
    pub replaces: Option<String>,
    /// A named shift for the window; or `hours`; the whole day when both are left out.
    pub shift: Option<String>,
    /// `"08:30-16:30"`.
    pub hours: Option<String>,
}

/// Where a rota problem is: an entry, an override, or a level as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// `[[rota]]` entry by index.
    Entry(usize),
    /// `[[rota_overrides]]` entry by index.
    Override(usize),
    /// A level with no entry at all.
    Level(String),
}

/// A gap, an overlap or a bad entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotaProblem {
    /// Where to point the reader.
    pub place: Place,
    /// What is wrong, with the times.
    pub reason: String,
}

#[derive(Debug, Clone)]
struct Shift {
    level: String,
    user: String,
    window: Window,
    days: [bool; 7],
}

#[derive(Debug, Clone)]
struct DayChange {
    date: NaiveDate,
    level: String,
    user: Option<String>,
    replaces: Option<String>,
    window: Window,
}

/// Who is on call at a level now and who comes next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Coverage {
    /// The level.
    pub level: String,
    /// On call now (empty: nobody; two or more: an overlap).
    pub now: Vec<String>,
    /// When the next change comes (within 8 days), if any.
    pub next_at: Option<DateTime<Utc>>,
    /// Who is on call from then.
    pub next: Vec<String>,
}

/// The rota, ready to answer.
#[derive(Debug, Clone)]
pub struct Rota {
    tz: Tz,
    shifts: Vec<Shift>,
    changes: Vec<DayChange>,
}

impl Rota {
    /// Builds the rota; entries that cannot be read (unknown shift, bad hours or day) are
    /// left out and reported.
    pub fn new(
        tz: Tz,
        times: &ShiftTimes,
        entries: &[RotaEntry],
        overrides: &[RotaOverride],
    ) -> (Rota, Vec<RotaProblem>) {
        let mut problems = Vec::new();
        let mut shifts = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let read = window(times, e.shift.as_deref(), e.hours.as_deref(), false)
                .and_then(|w| Ok((w, weekdays(&e.days)?)));
            match read {
                Ok((window, days)) => shifts.push(Shift {
                    level: e.level.clone(),
                    user: e.user.clone(),
                    window,
                    days,
                }),
                Err(reason) => problems.push(RotaProblem {
                    place: Place::Entry(i),
                    reason,
                }),
            }
        }
        let mut changes = Vec::new();
        for (i, o) in overrides.iter().enumerate() {
            match window(times, o.shift.as_deref(), o.hours.as_deref(), true) {
                Ok(window) => changes.push(DayChange {
                    date: o.date,
                    level: o.level.clone(),
                    user: o.user.clone(),
                    replaces: o.replaces.clone(),
                    window,
                }),
                Err(reason) => problems.push(RotaProblem {
                    place: Place::Override(i),
                    reason,
                }),
            }
        }
        (
            Rota {
                tz,
                shifts,
                changes,
            },
            problems,
        )
    }

    /// The site's time zone.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Who is on call at `level` at `t` (sorted; empty when nobody).
    pub fn on_call(&self, level: &str, t: DateTime<Utc>) -> Vec<String> {
        let local = t.with_timezone(&self.tz).naive_local();
        let minute = i64::from(local.hour() * 60 + local.minute());
        self.on_call_local(level, local.date(), minute)
    }

    /// Who is on call now and who comes next, looking up to 8 days ahead minute by minute.
    pub fn coverage(&self, level: &str, t: DateTime<Utc>) -> Coverage {
        let now = self.on_call(level, t);
        let start = t
            - Duration::seconds(i64::from(t.second()))
            - Duration::nanoseconds(i64::from(t.nanosecond()));
        let next = (1..=8 * DAY)
            .map(|m| start + Duration::minutes(m))
            .map(|at| (at, self.on_call(level, at)))
            .find(|(_, who)| *who != now);
        Coverage {
            level: level.to_owned(),
            now,
            next_at: next.as_ref().map(|(at, _)| *at),
            next: next.map(|(_, who)| who).unwrap_or_default(),
        }
    }

    fn on_call_local(&self, level: &str, date: NaiveDate, minute: i64) -> Vec<String> {
        let mut who = self.base(level, date, minute);
        for c in self.changes.iter().filter(|c| c.level == level) {
            let from_start = (date - c.date).num_days() * DAY + minute;
            if !c.window.covers(from_start) {
                continue;
            }
            // `replaces` takes that person's time only; without it the whole level.
            match &c.replaces {
                Some(r) if who.contains(r) => who.retain(|u| u != r),
                Some(_) => continue,
                None => who.clear(),
            }
            who.extend(c.user.clone());
        }
        who.sort();
        who.dedup();
        who
    }

    /// The weekly pattern's people at `minute` of `date`: shifts that started that day or
    /// the day before (overnight).
    fn base(&self, level: &str, date: NaiveDate, minute: i64) -> Vec<String> {
        let today = date.weekday().num_days_from_monday() as usize;
        self.base_weekday(level, today, minute)
    }

    fn base_weekday(&self, level: &str, weekday: usize, minute: i64) -> Vec<String> {
        let yesterday = (weekday + 6) % 7;
        self.shifts
            .iter()
            .filter(|s| s.level == level)
            .filter(|s| {
                (s.days[weekday] && s.window.covers(minute))
                    || (s.days[yesterday] && s.window.covers(minute + DAY))
            })
            .map(|s| s.user.clone())
            .collect()
    }

    /// The gaps and overlaps of each of `levels` in the weekly pattern, and of each
    /// override's day.
    pub fn check(&self, levels: &[String]) -> Vec<RotaProblem> {
        let mut out = Vec::new();
        for level in levels {
            out.extend(self.check_week(level));
        }
        for (i, c) in self.changes.iter().enumerate() {
            out.extend(self.check_change(i, c));
        }
        out
    }

    fn check_week(&self, level: &str) -> Vec<RotaProblem> {
        let first = self.shifts.iter().position(|s| s.level == level);
        let Some(first) = first else {
            return vec![RotaProblem {
                place: Place::Level(level.to_owned()),
                reason: format!("level `{level}` has nobody on call at any time"),
            }];
        };
        let at = |m: i64| {
            let m = m.rem_euclid(WEEK);
            let mut who = self.base_weekday(level, (m / DAY) as usize, m % DAY);
            who.sort();
            who
        };
        // Start the sweep where the set changes, so a run is never cut at Monday 00:00.
        let offset = (0..WEEK).find(|&m| at(m) != at(m - 1)).unwrap_or(0);
        // The same gap or overlap on several days is one problem naming the days.
        let mut grouped: Vec<(Vec<i64>, i64, i64, Vec<String>)> = Vec::new();
        for (from, to, who) in runs(offset, WEEK, at)
            .into_iter()
            .filter(|r| r.2.len() != 1)
        {
            let (day, start) = (from.rem_euclid(WEEK) / DAY, from.rem_euclid(DAY));
            let len = to - from;
            match grouped
                .iter_mut()
                .find(|g| g.1 == start && g.2 == len && g.3 == who)
            {
                Some(g) => g.0.push(day),
                None => grouped.push((vec![day], start, len, who)),
            }
        }
        grouped
            .into_iter()
            .map(|(days, start, len, who)| RotaProblem {
                place: self.place_of(level, &who).unwrap_or(Place::Entry(first)),
                reason: describe(level, &who, &week_span(&days, start, len), ""),
            })
            .collect()
    }

    /// The entry written last among those overlapping (or the level's first for a gap).
    fn place_of(&self, level: &str, who: &[String]) -> Option<Place> {
        self.shifts
            .iter()
            .rposition(|s| s.level == level && who.contains(&s.user))
            .map(Place::Entry)
    }

    fn check_change(&self, i: usize, c: &DayChange) -> Vec<RotaProblem> {
        let mut out = Vec::new();
        if let Some(r) = &c.replaces {
            let covered = (c.window.start..c.window.end_from_start_day()).any(|m| {
                self.base(&c.level, c.date + Duration::days(m / DAY), m % DAY)
                    .contains(r)
            });
            if !covered {
                let reason = format!(
                    "`{r}` is not on call at `{}` on {} in that window",
                    c.level, c.date
                );
                out.push(RotaProblem {
                    place: Place::Override(i),
                    reason,
                });
            }
        }
        let at = |m: i64| self.on_call_local(&c.level, c.date + Duration::days(m / DAY), m % DAY);
        let span = c.window.end_from_start_day() - c.window.start;
        for (from, to, who) in runs(c.window.start, span, at) {
            if who.len() != 1 {
                let day =
                    |m: i64| format!("{} {}", c.date + Duration::days(m / DAY), clock(m % DAY));
                let reason = describe(&c.level, &who, &day(from), &day(to));
                out.push(RotaProblem {
                    place: Place::Override(i),
                    reason,
                });
            }
        }
        out
    }
}

/// Runs of equal sets over `len` minutes from `start`: (from, to, who).
fn runs(start: i64, len: i64, at: impl Fn(i64) -> Vec<String>) -> Vec<(i64, i64, Vec<String>)> {
    let mut out: Vec<(i64, i64, Vec<String>)> = Vec::new();
    for m in start..start + len {
        let who = at(m);
        match out.last_mut() {
            Some(last) if last.2 == who => last.1 = m + 1,
            _ => out.push((m, m + 1, who)),
        }
    }
    out
}

/// `from` and `to` are joined by a dash unless `to` is empty (`from` is a whole span).
fn describe(level: &str, who: &[String], from: &str, to: &str) -> String {
    let when = if to.is_empty() {
        from.to_owned()
    } else {
        format!("{from}–{to}")
    };
    if who.is_empty() {
        format!("level `{level}` has nobody on call {when}")
    } else {
        let names: Vec<String> = who.iter().map(|u| format!("`{u}`")).collect();
        format!(
            "level `{level}` has {} on call at once {when}",
            names.join(" and ")
        )
    }
}

/// `every day 17:30–22:00`, `Sat, Sun 22:00–08:30 (next day)`, or for a span of a day or
/// more `Sat 00:00–Mon 00:00`.
fn week_span(days: &[i64], start: i64, len: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let first = days.first().copied().unwrap_or(0);
    if len >= DAY {
        let from = first * DAY + start;
        return format!("{}–{}", week_time(from), week_time(from + len));
    }
    let names = if days.len() == 7 {
        "every day".to_owned()
    } else {
        let mut sorted = days.to_vec();
        sorted.sort();
        sorted
            .iter()
            .map(|d| DAYS[*d as usize])
            .collect::<Vec<_>>()
            .join(", ")
    };
    let end = start + len;
    let next = if end > DAY { " (next day)" } else { "" };
    format!("{names} {}–{}{next}", clock(start), clock(end % DAY))
}

fn clock(m: i64) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn week_time(m: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let m = m.rem_euclid(WEEK);
    format!("{} {}", DAYS[(m / DAY) as usize], clock(m % DAY))
}

fn window(
    times: &ShiftTimes,
    shift: Option<&str>,
    hours: Option<&str>,
    whole_day: bool,
) -> Result<Window, String> {
    match (shift, hours) {
        (Some(_), Some(_)) => Err("give `shift` or `hours`, not both".into()),
        (Some(name), None) => times.0.get(name).copied().ok_or_else(|| {
            let known: Vec<&str> = times.0.keys().map(String::as_str).collect();
            format!(
                "unknown shift `{name}`, expected one of {}",
                known.join(", ")
            )
        }),
        (None, Some(h)) => Window::parse(h),
        (None, None) if whole_day => Ok(Window::WHOLE_DAY),
        (None, None) => Err("give `shift` (day, evening, night, office) or `hours`".into()),
    }
}

fn weekdays(days: &[String]) -> Result<[bool; 7], String> {
    if days.is_empty() {
        return Ok([true; 7]);
    }
    let mut out = [false; 7];
    for d in days {
        let day: Weekday = d
            .parse()
            .map_err(|_| format!("unknown day `{d}`, expected mon … sun"))?;
        out[day.num_days_from_monday() as usize] = true;
    }
    Ok(out)
}

/// A UTC time for `date` at `hh:mm` in `tz` (for tests and tools).
pub fn local(tz: Tz, date: NaiveDate, hour: u32, minute: u32) -> Option<DateTime<Utc>> {
    let naive = date.and_hms_opt(hour, minute, 0)?;
    tz.from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}
