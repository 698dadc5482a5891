//! When a snapshot is due: pure date arithmetic in the site's time zone.

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The period (`YYYY-MM`) whose cut-off has passed at `now` and is not yet `done`, if any.
/// The cut-off is the end of `cutoff_day` (clamped to the month's last day): 00:00 site
/// time on the day after, so the 20th's own consumption is in (rules.md §13.10, seed
/// 004:85 "截止当月20日").
pub fn due_period(
    now: DateTime<Utc>,
    tz: Tz,
    cutoff_day: u32,
    done: &dyn Fn(&str) -> bool,
) -> Option<String> {
    // The last whole day that has ended; its month is the period it may close.
    let ended = now.with_timezone(&tz).date_naive().pred_opt()?;
    let day = cutoff_day.clamp(1, last_day(ended.year(), ended.month())?);
    let period = format!("{:04}-{:02}", ended.year(), ended.month());
    (ended.day() >= day && !done(&period)).then_some(period)
}

/// A period's reading calendar (§13.10): when the snapshot is taken and the days the
/// export to Finance is due in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Schedule {
    /// The cut-off: the end of the cut-off day, when the meters are read.
    pub cutoff_at: DateTime<Utc>,
    /// The export window opens (the cut-off itself: the 21st at 00:00).
    pub export_from: DateTime<Utc>,
    /// The export is due by (the end of the 23rd by default).
    pub export_by: DateTime<Utc>,
}

/// The schedule of `period` (`YYYY-MM`); `None` for a malformed period.
pub fn schedule(period: &str, tz: Tz, cutoff_day: u32, export_days: u32) -> Option<Schedule> {
    let first = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
    let day = cutoff_day.clamp(1, last_day(first.year(), first.month())?);
    let cut = NaiveDate::from_ymd_opt(first.year(), first.month(), day)?;
    let start_of = |date: NaiveDate| -> Option<DateTime<Utc>> {
        let local = tz
            .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
            .earliest()?;
        Some(local.with_timezone(&Utc))
    };
    let cutoff_at = start_of(cut.succ_opt()?)?;
    let export_by = start_of(cut.checked_add_days(Days::new(u64::from(export_days) + 1))?)?;
    Some(Schedule {
        cutoff_at,
        export_from: cutoff_at,
        export_by,
    })
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

    /// rules.md §13.10, seed 004:85 "截止当月20日": the 20th is in, so the reading is at
    /// the end of the 20th, 00:00 on the 21st in Shanghai.
    #[test]
    fn the_cut_off_is_the_end_of_the_20th_in_shanghai() {
        let tz: Tz = "Asia/Shanghai".parse().expect("tz");
        let never = |_: &str| false;
        // 20th 00:00 local (the start of the day) is not the cut-off any more.
        assert_eq!(due_period(at("2026-11-19T16:00:00Z"), tz, 20, &never), None);
        // 20th 23:59 local = 20th 15:59 UTC: not yet.
        assert_eq!(due_period(at("2026-11-20T15:59:00Z"), tz, 20, &never), None);
        // 21st 00:00 local = 20th 16:00 UTC: due, for November.
        assert_eq!(
            due_period(at("2026-11-20T16:00:00Z"), tz, 20, &never).as_deref(),
            Some("2026-11")
        );
    }

    /// §13.10: the export is due 21st–23rd, so by the end of the 23rd.
    #[test]
    fn the_export_is_due_from_the_21st_to_the_end_of_the_23rd() {
        let tz: Tz = "Asia/Shanghai".parse().expect("tz");
        let s = schedule("2026-11", tz, 20, 3).expect("schedule");
        assert_eq!(s.cutoff_at, at("2026-11-20T16:00:00Z"));
        assert_eq!(s.export_from, at("2026-11-20T16:00:00Z"));
        assert_eq!(s.export_by, at("2026-11-23T16:00:00Z"));
        assert_eq!(schedule("2026-13", tz, 20, 3), None);
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
        // The end of the 28th: 00:00 on 1 March local = 28 February 16:00 UTC.
        assert_eq!(
            due_period(at("2026-02-28T16:00:00Z"), tz, 31, &never).as_deref(),
            Some("2026-02")
        );
        assert_eq!(due_period(at("2026-02-28T15:00:00Z"), tz, 31, &never), None);
    }
}
