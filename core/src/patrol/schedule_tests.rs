use super::*;
use chrono::TimeZone;

fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, m, d, h, min, 0)
        .earliest()
        .expect("valid local time")
        .with_timezone(&Utc)
}

fn local_hours(tz: Tz, starts: &[DateTime<Utc>]) -> Vec<String> {
    starts
        .iter()
        .map(|s| s.with_timezone(&tz).format("%d %H:%M").to_string())
        .collect()
}

#[test]
fn night_rounds_run_across_midnight_in_shanghai() {
    let tz = chrono_tz::Asia::Shanghai;
    let rule = ScheduleConfig::night_rounds().parse().expect("valid");
    let starts = rule.occurrences(
        tz,
        local(tz, 2024, 5, 1, 12, 0),
        local(tz, 2024, 5, 2, 12, 0),
    );
    assert_eq!(
        local_hours(tz, &starts),
        ["01 22:00", "02 00:00", "02 02:00", "02 04:00", "02 06:00"]
    );
}

#[test]
fn day_rounds_start_every_four_hours_from_eight_to_twenty() {
    let tz = chrono_tz::Asia::Shanghai;
    let rule = ScheduleConfig::day_rounds().parse().expect("valid");
    let starts = rule.occurrences(tz, local(tz, 2024, 5, 1, 0, 0), local(tz, 2024, 5, 2, 0, 0));
    assert_eq!(
        local_hours(tz, &starts),
        ["01 08:00", "01 12:00", "01 16:00", "01 20:00"]
    );
}

#[test]
fn expansion_range_is_half_open() {
    let tz = chrono_tz::Asia::Shanghai;
    let rule = ScheduleConfig::day_rounds().parse().expect("valid");
    let eight = local(tz, 2024, 5, 1, 8, 0);
    let starts = rule.occurrences(tz, eight, local(tz, 2024, 5, 1, 12, 0));
    assert_eq!(starts, vec![eight]);
}

#[test]
fn night_round_in_the_spring_forward_gap_moves_to_after_the_gap_in_berlin() {
    // 2024-03-31 02:00 does not exist in Berlin: clocks jump from 02:00 to 03:00.
    let tz = chrono_tz::Europe::Berlin;
    let rule = ScheduleConfig::night_rounds().parse().expect("valid");
    let starts = rule.occurrences(
        tz,
        local(tz, 2024, 3, 30, 12, 0),
        local(tz, 2024, 3, 31, 12, 0),
    );
    assert_eq!(
        local_hours(tz, &starts),
        ["30 22:00", "31 00:00", "31 03:00", "31 04:00", "31 06:00"]
    );
}

#[test]
fn night_round_at_a_repeated_hour_runs_once_in_berlin() {
    // 2024-10-27 02:00-03:00 happens twice in Berlin; 02:00 must give one tour.
    let tz = chrono_tz::Europe::Berlin;
    let rule = ScheduleConfig::night_rounds().parse().expect("valid");
    let starts = rule.occurrences(
        tz,
        local(tz, 2024, 10, 26, 12, 0),
        local(tz, 2024, 10, 27, 12, 0),
    );
    assert_eq!(starts.len(), 5);
    // 00:00 CEST to 02:00 CEST is two hours; to 04:00 CET it is five.
    assert_eq!(starts[2] - starts[1], Duration::hours(2));
    assert_eq!(starts[3] - starts[2], Duration::hours(3));
}

#[test]
fn cron_schedule_runs_in_site_time_and_skips_the_repeated_hour_copy() {
    let tz = chrono_tz::Europe::Berlin;
    let rule = ScheduleConfig::cron("0 30 2 * * *").parse().expect("valid");
    let starts = rule.occurrences(
        tz,
        local(tz, 2024, 10, 26, 12, 0),
        local(tz, 2024, 10, 28, 12, 0),
    );
    assert_eq!(local_hours(tz, &starts), ["27 02:30", "28 02:30"]);
    assert_eq!(
        starts[0],
        Utc.with_ymd_and_hms(2024, 10, 27, 0, 30, 0)
            .single()
            .expect("valid")
    );
}

#[test]
fn cron_schedule_in_shanghai_crosses_midnight() {
    let tz = chrono_tz::Asia::Shanghai;
    let rule = ScheduleConfig::cron("0 0 23,1 * * *")
        .parse()
        .expect("valid");
    let starts = rule.occurrences(
        tz,
        local(tz, 2024, 5, 1, 22, 0),
        local(tz, 2024, 5, 2, 2, 0),
    );
    assert_eq!(local_hours(tz, &starts), ["01 23:00", "02 01:00"]);
    // Shanghai is UTC+8 all year: 23:00 local is 15:00 UTC.
    assert_eq!(
        starts[0],
        Utc.with_ymd_and_hms(2024, 5, 1, 15, 0, 0)
            .single()
            .expect("valid")
    );
}

#[test]
fn schedule_with_both_forms_or_a_bad_cron_is_refused() {
    let mut both = ScheduleConfig::night_rounds();
    both.cron = Some("0 0 * * * *".into());
    assert!(both.parse().is_err());
    assert!(ScheduleConfig::cron("not cron").parse().is_err());
    assert!(ScheduleConfig::every(0, (8, 0), (20, 0)).parse().is_err());
}

#[test]
fn hours_window_over_midnight_holds_late_evening_and_early_morning() {
    let tz = chrono_tz::Asia::Shanghai;
    let w = HoursWindow {
        from: NaiveTime::from_hms_opt(22, 0, 0).expect("valid"),
        to: NaiveTime::from_hms_opt(6, 0, 0).expect("valid"),
    };
    assert!(w.contains(tz, local(tz, 2024, 5, 1, 23, 0)));
    assert!(w.contains(tz, local(tz, 2024, 5, 2, 5, 59)));
    assert!(!w.contains(tz, local(tz, 2024, 5, 2, 6, 0)));
    assert!(!w.contains(tz, local(tz, 2024, 5, 1, 12, 0)));
}
