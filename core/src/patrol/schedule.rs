//! Patrol schedules: when a route's tours start, in the site's time zone. Two forms: a
//! cron expression (the `cron` crate, with a seconds field) or "every N hours from HH:MM to
//! HH:MM", which is what most sites write on their duty sheet.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The most tours one expansion returns; bounds a mistaken `* * * * * *` cron line.
const MAX_OCCURRENCES: usize = 10_000;

/// One schedule line of a route, as written in the config. Exactly one of `cron` or
/// `every_hours` (with `from` and `to`) is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// A cron expression in site time with a seconds field: `sec min hour dom month dow`.
    #[serde(default)]
    pub cron: Option<String>,
    /// Hours between tour starts.
    #[serde(default)]
    pub every_hours: Option<u32>,
    /// Local time of the first tour, `HH:MM`.
    #[serde(default)]
    pub from: Option<NaiveTime>,
    /// Local time of the last tour, `HH:MM`, inclusive; earlier than `from` means the next day.
    #[serde(default)]
    pub to: Option<NaiveTime>,
}

impl ScheduleConfig {
    /// Night rounds every 2 h from 22:00 to 06:00 (§14 product default, not a manual rule).
    pub fn night_rounds() -> Self {
        Self::every(2, (22, 0), (6, 0))
    }

    /// Day rounds every 4 h from 08:00 to 20:00 (§14 product default, not a manual rule).
    pub fn day_rounds() -> Self {
        Self::every(4, (8, 0), (20, 0))
    }

    /// The "every N hours from HH:MM to HH:MM" form.
    pub fn every(hours: u32, from: (u32, u32), to: (u32, u32)) -> Self {
        Self {
            cron: None,
            every_hours: Some(hours),
            from: NaiveTime::from_hms_opt(from.0, from.1, 0),
            to: NaiveTime::from_hms_opt(to.0, to.1, 0),
        }
    }

    /// A cron line.
    pub fn cron(expr: &str) -> Self {
        Self {
            cron: Some(expr.to_owned()),
            every_hours: None,
            from: None,
            to: None,
        }
    }

    /// Checks the line and turns it into a rule; the error says what is wrong.
    pub fn parse(&self) -> Result<ScheduleRule, String> {
        match (&self.cron, self.every_hours, self.from, self.to) {
            (Some(expr), None, None, None) => cron::Schedule::from_str(expr)
                .map(|s| ScheduleRule::Cron(Box::new(s)))
                .map_err(|e| format!("bad cron expression `{expr}`: {e}")),
            (None, Some(hours), Some(from), Some(to)) if (1..=24).contains(&hours) => {
                Ok(ScheduleRule::Every { hours, from, to })
            }
            (None, Some(hours), Some(_), Some(_)) => {
                Err(format!("every_hours must be 1 to 24, not {hours}"))
            }
            _ => Err("give either `cron` or all of `every_hours`, `from` and `to`".to_owned()),
        }
    }
}

/// A checked schedule line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleRule {
    /// Tours start at every cron match. A local time that does not exist (spring forward)
    /// is skipped, as cron does; a repeated one (fall back) gives one tour, the first.
    Cron(Box<cron::Schedule>),
    /// Tours start at `from`, `from + hours`, … up to and including `to`, by the wall
    /// clock. A start that falls in a spring-forward gap moves forward by the gap, so no
    /// round is lost; a repeated local time gives one tour, the first.
    Every {
        /// Hours between starts.
        hours: u32,
        /// First start, local time.
        from: NaiveTime,
        /// Last start, local time, inclusive.
        to: NaiveTime,
    },
}

impl ScheduleRule {
    /// Tour start times in `[from, to)`, sorted, in UTC.
    pub fn occurrences(
        &self,
        tz: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        match self {
            ScheduleRule::Cron(schedule) => cron_occurrences(schedule, tz, from, to),
            ScheduleRule::Every {
                hours,
                from: first,
                to: last,
            } => every_occurrences(*hours, *first, *last, tz, from, to),
        }
    }
}

fn cron_occurrences(
    schedule: &cron::Schedule,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    // `after` is exclusive; step back a second so a match exactly at `from` is kept.
    let start = (from - Duration::seconds(1)).with_timezone(&tz);
    let mut out: Vec<DateTime<Utc>> = Vec::new();
    let mut last_local: Option<NaiveDateTime> = None;
    for at in schedule.after(&start) {
        if at.with_timezone(&Utc) >= to || out.len() >= MAX_OCCURRENCES {
            break;
        }
        // cron yields both instants of a repeated local time; one round is enough.
        if last_local == Some(at.naive_local()) || at.with_timezone(&Utc) < from {
            continue;
        }
        last_local = Some(at.naive_local());
        out.push(at.with_timezone(&Utc));
    }
    out
}

fn every_occurrences(
    hours: u32,
    first: NaiveTime,
    last: NaiveTime,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    // A window that started yesterday evening may still have starts after midnight.
    let day0 = from.with_timezone(&tz).date_naive() - Duration::days(1);
    let day_n = to.with_timezone(&tz).date_naive();
    let mut out = BTreeSet::new();
    let mut day = day0;
    while day <= day_n && out.len() < MAX_OCCURRENCES {
        for local in slots_of_day(day, hours, first, last) {
            let at = resolve_local(tz, local);
            if at >= from && at < to {
                out.insert(at);
            }
        }
        day += Duration::days(1);
    }
    out.into_iter().collect()
}

/// The local wall-clock starts of the window that opens on `day`.
fn slots_of_day(
    day: NaiveDate,
    hours: u32,
    first: NaiveTime,
    last: NaiveTime,
) -> Vec<NaiveDateTime> {
    let start = day.and_time(first);
    let span = (last - first).num_minutes().rem_euclid(24 * 60);
    let step = i64::from(hours) * 60;
    // from == to means round the clock: the end is exclusive so the next day's first start
    // is not doubled.
    let (span, inclusive) = if span == 0 {
        (24 * 60, false)
    } else {
        (span, true)
    };
    (0..)
        .map(|k| k * step)
        .take_while(|off| *off < span || (inclusive && *off == span))
        .map(|off| start + Duration::minutes(off))
        .collect()
}

/// A local wall-clock time as an instant: the first of a repeated time; a time in a
/// spring-forward gap read with the offset before the gap, which moves it forward by the gap.
pub(crate) fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(at) = tz.from_local_datetime(&local).earliest() {
        return at.with_timezone(&Utc);
    }
    let before = tz
        .offset_from_utc_datetime(&(local - Duration::hours(12)))
        .fix();
    local.and_utc() - Duration::seconds(i64::from(before.local_minus_utc()))
}

/// Whether a local time lies in a daily window; a window with `from > to` runs over midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursWindow {
    /// Start, local time, inclusive.
    pub from: NaiveTime,
    /// End, local time, exclusive.
    pub to: NaiveTime,
}

impl HoursWindow {
    /// Whether `at` in the site zone falls in the window.
    pub fn contains(&self, tz: Tz, at: DateTime<Utc>) -> bool {
        let t = at.with_timezone(&tz).time();
        if self.from <= self.to {
            self.from <= t && t < self.to
        } else {
            t >= self.from || t < self.to
        }
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
