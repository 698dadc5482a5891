use super::*;
use chrono::{DateTime, Duration, TimeZone, Utc};

/// 2024-05-01 22:00 in Shanghai: the start of the test tour.
pub(super) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 14, 0, 0)
        .single()
        .expect("valid")
}

pub(super) fn at(minutes: i64) -> DateTime<Utc> {
    start() + Duration::minutes(minutes)
}

fn checkpoint(id: &str, uid: &str) -> Checkpoint {
    Checkpoint {
        id: id.into(),
        tag_uid: uid.into(),
        short_code: format!("{id}-CODE"),
        name: format!("Checkpoint {id}"),
        building: "T1".into(),
        floor: "1".into(),
    }
}

pub(super) fn route(id: &str, stops: &[(&str, u32)], ordered: bool) -> Route {
    Route {
        id: id.into(),
        name: id.into(),
        checkpoints: stops
            .iter()
            .map(|(c, m)| RouteStop {
                checkpoint: (*c).into(),
                offset_minutes: *m,
            })
            .collect(),
        ordered,
        two_guards: None,
        schedules: vec![ScheduleConfig::cron("0 0 22 * * *")],
    }
}

pub(super) fn config() -> PatrolConfig {
    PatrolConfig {
        readers: vec!["gate-reader".into()],
        checkpoints: vec![
            checkpoint("a", "04:A1"),
            checkpoint("b", "04:B1"),
            checkpoint("c", "04:C1"),
            checkpoint("x", "04:E1"),
            checkpoint("lonely", "04:F1"),
        ],
        routes: vec![
            route("loop", &[("a", 0), ("b", 10), ("c", 20)], false),
            route("line", &[("x", 0), ("c", 5)], true),
        ],
        ..PatrolConfig::default()
    }
}

pub(super) fn book_with(config: PatrolConfig) -> PatrolBook {
    let mut book = PatrolBook::new(config).expect("valid config");
    book.register_token("phone-1", "g1");
    book.register_token("phone-2", "g2");
    book.tick(at(-60));
    book
}

pub(super) fn book() -> PatrolBook {
    book_with(config())
}

pub(super) fn scan_by(id: &str, guard: &str, uid: &str, when: DateTime<Utc>) -> Scan {
    let token = if guard == "g2" { "phone-2" } else { "phone-1" };
    Scan {
        id: id.into(),
        tag: TagRef::Uid(uid.into()),
        source: ScanSource::Phone {
            token: token.into(),
        },
        guard: guard.into(),
        scanned_at: when,
        received_at: when,
    }
}

pub(super) fn scan(id: &str, uid: &str, when: DateTime<Utc>) -> Scan {
    scan_by(id, "g1", uid, when)
}

pub(super) fn result(book: &mut PatrolBook, s: Scan) -> ScanResult {
    let now = s.received_at;
    book.scan(s, now).record.result
}

pub(super) fn ok() -> ScanResult {
    ScanResult::Ok { late: false }
}

pub(super) fn loop_tour(book: &PatrolBook) -> Tour {
    let id = format!("loop@{}", start().to_rfc3339());
    book.tour(&id).expect("tour planned").clone()
}

pub(super) fn count(events: &[PatrolEvent], pred: impl Fn(&PatrolEvent) -> bool) -> usize {
    events.iter().filter(|e| pred(e)).count()
}

#[test]
fn first_valid_scan_starts_the_tour_and_shows_what_is_next() {
    let mut book = book();
    let out = book.scan(scan("s1", "04a1", at(2)), at(2));
    assert_eq!(out.record.result, ok());
    assert_eq!(out.record.checkpoint.as_deref(), Some("a"));
    assert_eq!(
        count(&out.events, |e| matches!(
            e,
            PatrolEvent::TourStarted { .. }
        )),
        1
    );
    let progress = out.progress.expect("on a tour");
    assert_eq!((progress.done, progress.total), (1, 3));
    assert_eq!(progress.next.as_deref(), Some("b"));
    // Started at +2: b is due at +2 +10 +10 grace.
    assert_eq!(progress.next_due_at, Some(at(22)));
}

#[test]
fn uid_with_separators_and_lower_case_finds_its_checkpoint() {
    assert_eq!(normalise_uid("04:a1-3b ff").as_deref(), Some("04A13BFF"));
    assert_eq!(normalise_uid("zz"), None);
    let mut book = book();
    assert_eq!(result(&mut book, scan("s1", "04-a1", at(1))), ok());
}

#[test]
fn short_code_typed_on_a_phone_counts_like_a_tag() {
    let mut book = book();
    let mut s = scan("s1", "", at(1));
    s.tag = TagRef::ShortCode(" b-code ".into());
    assert_eq!(result(&mut book, s), ok());
}

#[test]
fn unknown_tag_is_kept_and_flagged() {
    let mut book = book();
    let out = book.scan(scan("s1", "DEADBEEF", at(1)), at(1));
    assert_eq!(out.record.result, ScanResult::UnknownTag);
    assert_eq!(out.record.checkpoint, None);
    assert!(out.events.is_empty());
}

#[test]
fn checkpoint_on_no_route_is_not_on_route() {
    let mut book = book();
    assert_eq!(
        result(&mut book, scan("s1", "04F1", at(1))),
        ScanResult::NotOnRoute
    );
}

#[test]
fn checkpoint_of_another_route_is_not_on_the_guards_current_route() {
    let mut book = book();
    assert_eq!(result(&mut book, scan("s1", "04A1", at(1))), ok());
    assert_eq!(
        result(&mut book, scan("s2", "04E1", at(3))),
        ScanResult::NotOnRoute
    );
}

#[test]
fn checkpoint_on_two_routes_counts_on_the_one_where_it_is_in_turn() {
    let mut book = book();
    // c is on the ordered line (after x) and on the unordered loop.
    let out = book.scan(scan("s1", "04C1", at(1)), at(1));
    assert_eq!(out.record.result, ok());
    assert_eq!(out.progress.map(|p| p.route).as_deref(), Some("loop"));
}

#[test]
fn ordered_route_names_the_checkpoint_expected() {
    let mut cfg = config();
    cfg.routes = vec![route("line", &[("x", 0), ("c", 5), ("b", 10)], true)];
    let mut book = book_with(cfg);
    assert_eq!(result(&mut book, scan("s1", "04E1", at(1))), ok());
    assert_eq!(
        result(&mut book, scan("s2", "04B1", at(3))),
        ScanResult::OutOfOrder {
            expected: "c".into()
        }
    );
    assert_eq!(result(&mut book, scan("s3", "04C1", at(4))), ok());
    assert_eq!(result(&mut book, scan("s4", "04B1", at(6))), ok());
}

#[test]
fn unordered_route_takes_checkpoints_in_any_order() {
    let mut book = book();
    assert_eq!(result(&mut book, scan("s1", "04C1", at(1))), ok());
    assert_eq!(result(&mut book, scan("s2", "04A1", at(3))), ok());
    assert_eq!(result(&mut book, scan("s3", "04B1", at(5))), ok());
    assert_eq!(loop_tour(&book).status, TourStatus::Completed);
}

#[test]
fn scan_before_the_tour_starts_is_early_and_after_the_deadline_is_late() {
    let mut book = book();
    let early = result(&mut book, scan("s1", "04A1", at(-5)));
    assert_eq!(
        early,
        ScanResult::OutsideWindow {
            side: WindowSide::Early
        }
    );
    // Nobody started: the loop's deadline is +15 +20 +10 = +45.
    let late = result(&mut book, scan("s2", "04A1", at(46)));
    assert_eq!(
        late,
        ScanResult::OutsideWindow {
            side: WindowSide::Late
        }
    );
}

#[test]
fn checkpoint_after_its_due_time_but_before_the_deadline_counts_as_late() {
    let mut book = book();
    assert_eq!(result(&mut book, scan("s1", "04B1", at(2))), ok());
    // a is due at +2 +0 +10 = +12.
    assert_eq!(result(&mut book, scan("s2", "04A1", at(12))), ok());
    assert_eq!(
        result(&mut book, scan("s3", "04C1", at(13))),
        ScanResult::Ok { late: false }
    );
    let mut book = self::book();
    let _ = book.scan(scan("s1", "04B1", at(2)), at(2));
    assert_eq!(
        result(&mut book, scan("s2", "04A1", at(13))),
        ScanResult::Ok { late: true }
    );
}

#[test]
fn same_tag_by_the_same_guard_within_sixty_seconds_is_a_duplicate() {
    let mut book = book();
    let first = at(1);
    assert_eq!(result(&mut book, scan("s1", "04A1", first)), ok());
    let again = first + Duration::seconds(60);
    assert_eq!(
        result(&mut book, scan("s2", "04A1", again)),
        ScanResult::Duplicate
    );
    // The window runs from the previous scan of the tag, so wait past the duplicate too.
    let later = again + Duration::seconds(61);
    assert_eq!(
        result(&mut book, scan("s3", "04A1", later)),
        ScanResult::AlreadyDone
    );
}

#[test]
fn unknown_reader_and_foreign_or_revoked_token_are_not_allowed() {
    let mut book = book();
    let mut s = scan("s1", "04A1", at(1));
    s.source = ScanSource::Reader {
        reader: "rogue".into(),
    };
    assert_eq!(result(&mut book, s.clone()), ScanResult::NotAllowed);
    s.id = "s2".into();
    s.source = ScanSource::Reader {
        reader: "gate-reader".into(),
    };
    assert_eq!(result(&mut book, s), ok());
    // g1 using g2's phone token.
    let mut s = scan("s3", "04B1", at(3));
    s.source = ScanSource::Phone {
        token: "phone-2".into(),
    };
    assert_eq!(result(&mut book, s), ScanResult::NotAllowed);
    book.revoke_token("phone-1");
    assert_eq!(
        result(&mut book, scan("s4", "04B1", at(4))),
        ScanResult::NotAllowed
    );
}

#[test]
fn resent_scan_is_flagged_and_not_counted_twice() {
    let mut book = book();
    let s = scan("s1", "04A1", at(1));
    assert_eq!(result(&mut book, s.clone()), ok());
    let mut resent = s;
    resent.received_at = at(9);
    assert_eq!(book.scan(resent, at(9)).record.result, ScanResult::Resent);
    assert_eq!(loop_tour(&book).stops[0].scans.len(), 1);
}

#[test]
fn queued_scan_delivered_late_counts_at_its_original_time() {
    let mut book = book();
    let mut s = scan("s1", "04A1", at(5));
    s.received_at = at(30);
    let out = book.scan(s, at(30));
    assert!(out.record.delivered_late);
    assert_eq!(out.record.at, at(5));
    assert_eq!(out.record.result, ok());
    assert_eq!(loop_tour(&book).started_at, Some(at(5)));
}

#[test]
fn scan_received_promptly_is_not_flagged_late() {
    let mut book = book();
    let mut s = scan("s1", "04A1", at(5));
    s.received_at = at(5) + Duration::seconds(120);
    assert!(!book.scan(s, at(7)).record.delivered_late);
}

#[test]
fn device_clock_ahead_of_the_server_counts_at_receipt() {
    let mut book = book();
    let mut s = scan("s1", "04A1", at(9));
    s.received_at = at(3);
    assert_eq!(book.scan(s, at(3)).record.at, at(3));
}
