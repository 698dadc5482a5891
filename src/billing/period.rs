//! When a snapshot is due: pure date arithmetic in the site's time zone.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The period (`YYYY-MM`) whose cut-off has passed at `now` and is not yet `done`, if any.
/// The cut-off is 00:00 local time on `cutoff_day` (clamped to the month's last day).
pub fn due_period(
    now: DateTime<Utc>,
    tz: Tz,
    cutoff_day: u32,
    done: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let local = now.with_timezone(&tz);
    let (y, m) = (local.year(), local.month());
    let cutoff = cutoff_at(y, m, cutoff_day, tz)?;
    let period = format!("{y:04}-{m:02}");
    (now >= cutoff && !done(&period)).then_some(period)
}

fn cutoff_at(y: i32, m: u32, day: u32, tz: Tz) -> Option<DateTime<Utc>> {
    let last = last_day(y, m)?;
    let date = NaiveDate::from_ymd_opt(y, m, day.clamp(1, last))?;
    let local = tz
        .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    Some(local.with_timezone(&Utc))
}

fn last_day(y: i32, m: u32) -> Option<u32> {
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)?
    };
    Some(next.pred_opt()?.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_cut_off_is_midnight_of_the_20th_in_shanghai() {
        let tz: Tz = "Asia/Shanghai".parse().expect("tz");
        let never = |_: &str| false;
        // 19th 23:59 local = 19th 15:59 UTC: not yet.
        assert_eq!(due_period(at("2026-11-19T15:59:00Z"), tz, 20, &never), None);
        // 20th 00:00 local = 19th 16:00 UTC: due, for November.
        assert_eq!(
            due_period(at("2026-11-19T16:00:00Z"), tz, 20, &never).as_deref(),
            Some("2026-11")
        );
    }

    #[test]
    fn a_period_taken_is_not_due_again() {
        let tz: Tz = "Asia/Shanghai".parse().expect("tz");
        let done = |p: &str| p == "2026-11";
        assert_eq!(due_period(at("2026-11-25T00:00:00Z"), tz, 20, &done), None);
    }

    #[test]
    fn a_cut_off_past_the_month_end_falls_on_its_last_day() {
        let tz: Tz = "Asia/Shanghai".parse().expect("tz");
        let never = |_: &str| false;
        assert_eq!(
            due_period(at("2026-02-27T16:00:00Z"), tz, 31, &never).as_deref(),
            Some("2026-02")
        );
        assert_eq!(due_period(at("2026-02-27T15:00:00Z"), tz, 31, &never), None);
    }
}
