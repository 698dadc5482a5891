//! The site's working-day calendar: weekends, public holidays and the make-up working days
//! (调休) that China moves onto weekends. Deadlines counted in working days (a suggestion's
//! reply, a complaint's resolution, a follow-up call) go through here.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How a site's calendar is configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    /// IANA time zone the site's days are counted in. Product default: `Asia/Shanghai`,
    /// where every seed site is (rules.md §0).
    pub time_zone: String,
    /// Days of the week that are not working days. Product default: Saturday and Sunday;
    /// the six-day week at seed 004:43 is a staff rota, not the owner-facing calendar.
    pub weekend: Vec<Weekday>,
    /// Public holidays (site-local dates) that are not working days.
    pub holidays: Vec<NaiveDate>,
    /// Weekend dates that are working days (调休 make-up days).
    pub make_up_days: Vec<NaiveDate>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        Self {
            time_zone: "Asia/Shanghai".to_owned(),
            weekend: vec![Weekday::Sat, Weekday::Sun],
            holidays: Vec::new(),
            make_up_days: Vec::new(),
        }
    }
}

/// A calendar that cannot be built from its config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The time zone is not an IANA name.
    #[error("unknown time zone `{0}`")]
    UnknownTimeZone(String),
    /// Every day of the week is a weekend day, so no deadline could ever fall due.
    #[error("the weekend covers all seven days")]
    NoWorkingWeekday,
}

/// Which days are working days at a site, and deadline maths over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    tz: Tz,
    weekend: BTreeSet<u32>,
    holidays: BTreeSet<NaiveDate>,
    make_up_days: BTreeSet<NaiveDate>,
}

impl Default for WorkingCalendar {
    fn default() -> Self {
        Self {
            tz: chrono_tz::Asia::Shanghai,
            weekend: [Weekday::Sat, Weekday::Sun]
                .iter()
                .map(|d| d.num_days_from_monday())
                .collect(),
            holidays: BTreeSet::new(),
            make_up_days: BTreeSet::new(),
        }
    }
}

impl WorkingCalendar {
    /// Builds the calendar, checking the time zone and the weekend.
    pub fn new(config: &CalendarConfig) -> Result<Self, CalendarError> {
        let tz: Tz = config
            .time_zone
            .parse()
            .map_err(|_| CalendarError::UnknownTimeZone(config.time_zone.clone()))?;
        let weekend: BTreeSet<u32> = config
            .weekend
            .iter()
            .map(|d| d.num_days_from_monday())
            .collect();
        if weekend.len() >= 7 {
            return Err(CalendarError::NoWorkingWeekday);
        }
        Ok(Self {
            tz,
            weekend,
            holidays: config.holidays.iter().copied().collect(),
            make_up_days: config.make_up_days.iter().copied().collect(),
        })
    }

    /// The site's time zone.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Whether `date` (site-local) is a working day. A make-up day wins over everything, a
    /// holiday over an ordinary weekday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.make_up_days.contains(&date) {
            return true;
        }
        let weekend = self
            .weekend
            .contains(&date.weekday().num_days_from_monday());
        !weekend && !self.holidays.contains(&date)
    }

    /// The moment `n` working days after `t`: the same site-local time of day on the `n`th
    /// working day after `t`'s date. A `t` on a non-working day counts from the start of the
    /// next working day, so a request left on Saturday gets the whole of Monday as its
    /// first working day.
    pub fn add_working_days(&self, t: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let local = t.with_timezone(&self.tz);
        let (mut date, time) = if self.is_working_day(local.date_naive()) {
            (local.date_naive(), local.time())
        } else {
            (self.next_working_day(local.date_naive()), NaiveTime::MIN)
        };
        for _ in 0..n {
            date = self.next_working_day(date);
        }
        self.to_utc(date.and_time(time))
    }

    /// The first working day strictly after `date`. Terminates because the weekend leaves
    /// at least one weekday; the bound only guards against a calendar of all holidays.
    fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        let mut next = date;
        for _ in 0..3660 {
            next = next.checked_add_days(Days::new(1)).unwrap_or(next);
            if self.is_working_day(next) {
                return next;
            }
        }
        next
    }

    /// Site-local wall time to UTC. A time inside a DST gap (not in Asia/Shanghai, but a
    /// site may set another zone) moves an hour later rather than failing.
    fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                let later = local + chrono::Duration::hours(1);
                self.tz.from_local_datetime(&later).earliest()
            })
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|| local.and_utc())
    }
}

/// When the customer-service desk is staffed, every day, in site time: the park desk is
/// unstaffed 22:00–08:30 (rules.md §1.4, seed 004:43), so clocks that count "in desk
/// hours" (§14 Complaints) pause outside these hours. In `[service] desk_hours`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskHours {
    /// When the desk opens (`"08:30"`).
    pub opens: NaiveTime,
    /// When it closes (`"22:00"`), later the same day.
    pub closes: NaiveTime,
}

impl Default for DeskHours {
    fn default() -> Self {
        Self {
            opens: NaiveTime::from_hms_opt(8, 30, 0).unwrap_or(NaiveTime::MIN),
            closes: NaiveTime::from_hms_opt(22, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl DeskHours {
    /// Why the hours cannot be used, if they cannot: a desk must open before it closes.
    pub fn problem(&self) -> Option<String> {
        (self.opens >= self.closes).then(|| {
            format!(
                "desk_hours: opens {} is not before closes {}",
                self.opens.format("%H:%M"),
                self.closes.format("%H:%M")
            )
        })
    }
}

/// A stretch of time a desk-hours clock does not count: the desk closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pause {
    /// When the desk closed.
    pub from: DateTime<Utc>,
    /// When it opens again and the clock resumes.
    pub to: DateTime<Utc>,
}

/// Desk hours in the site's zone: deadline maths for clocks that count only while the desk
/// is staffed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Desk {
    hours: DeskHours,
    tz: Tz,
}

impl Default for Desk {
    fn default() -> Self {
        Self::new(DeskHours::default(), chrono_tz::Asia::Shanghai)
    }
}

impl Desk {
    /// `hours` every day in `tz` (the site's zone).
    pub fn new(hours: DeskHours, tz: Tz) -> Self {
        Self { hours, tz }
    }

    /// The desk's opening and closing moments on the site-local `date`.
    fn day(&self, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let at = |time| resolve(self.tz, date.and_time(time));
        (at(self.hours.opens), at(self.hours.closes))
    }

    /// The deadline `span` of desk time after `from`, and the closed stretches in between
    /// (a clock started while the desk is closed begins with the wait for opening).
    pub fn after(
        &self,
        from: DateTime<Utc>,
        span: chrono::Duration,
    ) -> (DateTime<Utc>, Vec<Pause>) {
        let mut left = span;
        let mut at = from;
        let mut pauses = Vec::new();
        let mut date = from
            .with_timezone(&self.tz)
            .date_naive()
            .pred_opt()
            .unwrap_or(NaiveDate::MIN);
        // Day by day from the day before (a zone far from UTC); bounded for safety.
        for _ in 0..3660 {
            let (opens, closes) = self.day(date);
            date = date.succ_opt().unwrap_or(date);
            if closes <= at {
                continue;
            }
            if opens > at {
                pauses.push(Pause {
                    from: at,
                    to: opens,
                });
                at = opens;
            }
            if at + left <= closes {
                return (at + left, pauses);
            }
            left -= closes - at;
            at = closes;
        }
        (at + left, pauses)
    }
}

/// Site-local wall time to UTC; a time in a DST gap moves an hour later.
fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // House rule: unwrap is allowed in tests.
mod tests {
    use super::*;

    fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn two_working_days_from_thursday_skip_the_weekend() {
        let cal = WorkingCalendar::default();
        // 2024-05-09 is a Thursday.
        let due = cal.add_working_days(shanghai(2024, 5, 9, 10, 0), 2);
        assert_eq!(due, shanghai(2024, 5, 13, 10, 0));
    }

    #[test]
    fn a_holiday_does_not_count_as_a_working_day() {
        let cal = WorkingCalendar::new(&CalendarConfig {
            holidays: vec![date(2024, 5, 13)],
            ..CalendarConfig::default()
        })
        .unwrap();
        let due = cal.add_working_days(shanghai(2024, 5, 9, 10, 0), 2);
        assert_eq!(due, shanghai(2024, 5, 14, 10, 0));
    }

    #[test]
    fn a_make_up_saturday_counts_as_a_working_day() {
        let cal = WorkingCalendar::new(&CalendarConfig {
            make_up_days: vec![date(2024, 5, 11)],
            ..CalendarConfig::default()
        })
        .unwrap();
        let due = cal.add_working_days(shanghai(2024, 5, 10, 9, 0), 1);
        assert_eq!(due, shanghai(2024, 5, 11, 9, 0));
    }

    #[test]
    fn a_request_left_on_saturday_gets_all_of_monday() {
        let cal = WorkingCalendar::default();
        let due = cal.add_working_days(shanghai(2024, 5, 11, 15, 0), 1);
        assert_eq!(due, shanghai(2024, 5, 14, 0, 0));
    }

    #[test]
    fn working_days_are_counted_in_site_time_not_utc() {
        let cal = WorkingCalendar::default();
        // Friday 07:00 in Shanghai is still Thursday in UTC.
        let due = cal.add_working_days(shanghai(2024, 5, 10, 7, 0), 1);
        assert_eq!(due, shanghai(2024, 5, 13, 7, 0));
    }

    #[test]
    fn an_unknown_time_zone_is_refused() {
        let config = CalendarConfig {
            time_zone: "Mars/Olympus".to_owned(),
            ..CalendarConfig::default()
        };
        assert_eq!(
            WorkingCalendar::new(&config),
            Err(CalendarError::UnknownTimeZone("Mars/Olympus".to_owned()))
        );
    }

    #[test]
    fn a_desk_clock_started_at_night_waits_for_half_past_eight() {
        let desk = Desk::default();
        let (due, pauses) = desk.after(shanghai(2024, 5, 9, 23, 0), chrono::Duration::minutes(30));
        assert_eq!(due, shanghai(2024, 5, 10, 9, 0));
        assert_eq!(
            pauses,
            vec![Pause {
                from: shanghai(2024, 5, 9, 23, 0),
                to: shanghai(2024, 5, 10, 8, 30)
            }]
        );
    }

    #[test]
    fn a_desk_clock_pauses_at_ten_at_night_and_resumes_in_the_morning() {
        let desk = Desk::default();
        let (due, pauses) = desk.after(shanghai(2024, 5, 9, 21, 50), chrono::Duration::minutes(30));
        assert_eq!(due, shanghai(2024, 5, 10, 8, 50));
        assert_eq!(pauses.len(), 1);
        assert_eq!(pauses[0].to, shanghai(2024, 5, 10, 8, 30));
        let (due, pauses) = desk.after(shanghai(2024, 5, 9, 10, 0), chrono::Duration::minutes(30));
        assert_eq!((due, pauses), (shanghai(2024, 5, 9, 10, 30), Vec::new()));
    }

    #[test]
    fn desk_hours_must_open_before_they_close() {
        let hours = DeskHours {
            opens: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            closes: NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
        };
        assert!(hours.problem().unwrap().contains("22:00"));
        assert_eq!(DeskHours::default().problem(), None);
    }
}
