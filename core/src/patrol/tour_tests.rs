use super::tests::{at, book, book_with, config, count, ok, result, route, scan, scan_by};
use super::*;
use chrono::{Duration, NaiveTime, TimeZone, Utc};

#[test]
fn missed_checkpoint_raises_its_event_at_the_deadline_and_not_before() {
    let mut book = book();
    let _ = book.scan(scan("s1", "04A1", at(2)), at(2));
    let _ = book.scan(scan("s2", "04B1", at(4)), at(4));
    // Started at +2: deadline +2 +20 +10 = +32.
    let missed = |e: &PatrolEvent| matches!(e, PatrolEvent::CheckpointMissed { route, .. } if route == "loop");
    assert_eq!(count(&book.tick(at(32)), missed), 0);
    let events = book.tick(at(32) + Duration::seconds(1));
    assert_eq!(count(&events, missed), 1);
    assert!(events.iter().any(
        |e| matches!(e, PatrolEvent::CheckpointMissed { checkpoint, .. } if checkpoint == "c")
    ));
    let incomplete =
        |e: &PatrolEvent| matches!(e, PatrolEvent::TourIncomplete { tour } if tour.route == "loop");
    assert_eq!(count(&events, incomplete), 1);
    assert_eq!(count(&book.tick(at(40)), missed), 0, "raised once");
}

#[test]
fn overdue_checkpoint_is_announced_after_its_due_time() {
    let mut book = book();
    let _ = book.scan(scan("s1", "04A1", at(2)), at(2));
    let overdue = |e: &PatrolEvent| matches!(e, PatrolEvent::CheckpointOverdue { checkpoint, .. } if checkpoint == "b");
    assert_eq!(count(&book.tick(at(22)), overdue), 0);
    assert_eq!(count(&book.tick(at(23)), overdue), 1);
}

#[test]
fn tour_nobody_starts_is_reported_after_fifteen_minutes() {
    let mut book = book();
    let opened = book.tick(at(0));
    assert_eq!(
        count(&opened, |e| matches!(e, PatrolEvent::TourOpened { .. })),
        2
    );
    let missed = |e: &PatrolEvent| matches!(e, PatrolEvent::TourStartMissed { .. });
    assert_eq!(count(&book.tick(at(15)), missed), 0);
    assert_eq!(count(&book.tick(at(16)), missed), 2);
}

#[test]
fn queued_scan_arriving_after_the_miss_clears_it_and_completes_the_tour() {
    let mut book = book();
    let _ = book.scan(scan("s1", "04A1", at(2)), at(2));
    let _ = book.scan(scan("s2", "04B1", at(4)), at(4));
    let _ = book.tick(at(40));
    let mut late = scan("s3", "04C1", at(20));
    late.received_at = at(41);
    let out = book.scan(late, at(41));
    assert!(out.record.delivered_late);
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, PatrolEvent::CheckpointMissCleared { .. }))
    );
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, PatrolEvent::TourCompleted { on_time: true, .. }))
    );
}

#[test]
fn completed_tour_reports_on_time() {
    let mut book = book();
    let _ = book.scan(scan("s1", "04A1", at(1)), at(1));
    let _ = book.scan(scan("s2", "04B1", at(11)), at(11));
    let out = book.scan(scan("s3", "04C1", at(21)), at(21));
    let done = out.events.iter().find_map(|e| match e {
        PatrolEvent::TourCompleted { on_time, .. } => Some(*on_time),
        _ => None,
    });
    assert_eq!(done, Some(true));
}

fn two_guard_config() -> PatrolConfig {
    let mut cfg = config();
    for r in &mut cfg.routes {
        r.two_guards = Some(HoursWindow {
            from: NaiveTime::from_hms_opt(21, 0, 0).expect("valid"),
            to: NaiveTime::from_hms_opt(5, 0, 0).expect("valid"),
        });
    }
    cfg
}

#[test]
fn in_two_guard_hours_a_checkpoint_needs_two_different_guards() {
    let mut book = book_with(two_guard_config());
    let out = book.scan(scan("s1", "04A1", at(1)), at(1));
    assert_eq!(out.record.result, ok());
    let progress = out.progress.expect("on a tour");
    assert_eq!(progress.done, 0);
    assert!(progress.waiting_for_second_guard);
    assert_eq!(
        result(&mut book, scan("s2", "04A1", at(3))),
        ScanResult::AlreadyDone
    );
    let out = book.scan(scan_by("s3", "g2", "04A1", at(3)), at(3));
    assert_eq!(out.progress.map(|p| p.done), Some(1));
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, PatrolEvent::CheckpointDone { .. }))
    );
}

#[test]
fn outside_two_guard_hours_one_guard_is_enough() {
    let mut cfg = two_guard_config();
    for r in &mut cfg.routes {
        r.schedules = vec![ScheduleConfig::cron("0 0 12 * * *")];
    }
    let noon = Utc
        .with_ymd_and_hms(2024, 5, 1, 4, 0, 0)
        .single()
        .expect("valid");
    let mut book = PatrolBook::new(cfg).expect("valid");
    book.register_token("phone-1", "g1");
    book.tick(noon - Duration::minutes(5));
    let out = book.scan(scan("s1", "04A1", noon + Duration::minutes(1)), noon);
    assert_eq!(out.progress.map(|p| p.done), Some(1));
}

#[test]
fn next_for_follows_the_guards_tour_and_the_routes_tour() {
    let mut book = book();
    let _ = book.scan(scan("s1", "04E1", at(1)), at(1));
    let for_guard = book
        .next_for(&Subject::Guard("g1".into()), at(2))
        .expect("tour");
    assert_eq!(
        (for_guard.route.as_str(), for_guard.next.as_deref()),
        ("line", Some("c"))
    );
    let for_route = book
        .next_for(&Subject::Route("loop".into()), at(2))
        .expect("tour");
    assert_eq!(for_route.next.as_deref(), Some("a"));
    let idle = book
        .next_for(&Subject::Guard("g9".into()), at(2))
        .expect("open tour");
    assert_eq!(idle.route, "loop");
}

#[test]
fn tours_on_a_date_include_the_default_night_and_day_rounds() {
    let mut cfg = config();
    cfg.routes = vec![Route {
        // What a route without `schedules` deserialises to: the §14 rounds.
        schedules: vec![ScheduleConfig::night_rounds(), ScheduleConfig::day_rounds()],
        ..route("loop", &[("a", 0)], false)
    }];
    let book = book_with(cfg);
    let date = chrono::NaiveDate::from_ymd_opt(2024, 5, 2).expect("valid");
    let hours: Vec<String> = book
        .tours_on(date)
        .iter()
        .map(|t| {
            t.scheduled_start
                .with_timezone(&book.time_zone())
                .format("%H")
                .to_string()
        })
        .collect();
    assert_eq!(
        hours,
        ["00", "02", "04", "06", "08", "12", "16", "20", "22"]
    );
}
