use super::tests::{at, book, book_with, config, loop_tour, scan, scan_by, start};
use super::*;
use chrono::{Duration, NaiveDate};

fn finding(kind: FindingType, minutes: i64) -> Finding {
    Finding {
        id: format!("f-{minutes}"),
        kind,
        text: "seen on the round".into(),
        photo: Some("photo-1".into()),
        guard: "g1".into(),
        checkpoint: Some("a".into()),
        tour: None,
        at: at(minutes),
    }
}

fn action_of(book: &mut PatrolBook, kind: FindingType) -> FindingAction {
    // Each its own id: a second finding of one id is a resend, not acted on.
    let id = book.findings().len() as i64;
    match book.finding(finding(kind, id)) {
        Some(PatrolEvent::FindingRecorded { action, .. }) => action,
        other => panic!("unexpected event {other:?}"),
    }
}

#[test]
fn a_resent_finding_is_kept_once_and_acted_on_once() {
    let mut book = book();
    let fault = || finding(FindingType::EquipmentFault, 1);
    assert!(matches!(
        book.finding(fault()),
        Some(PatrolEvent::FindingRecorded { .. })
    ));
    assert_eq!(
        book.finding(fault()),
        None,
        "a resend opens no second work order"
    );
    assert_eq!(book.findings().len(), 1);
    let (_, action) = book.kept_finding("f-1").expect("kept");
    let category = IncidentCategory::Fault;
    assert_eq!(action, FindingAction::OpenIncident { category });
}

#[test]
fn suspicious_person_notifies_security_at_once() {
    assert_eq!(
        action_of(&mut book(), FindingType::SuspiciousPerson),
        FindingAction::NotifySecurity
    );
}

#[test]
fn violations_and_renovation_breaches_open_violation_incidents() {
    let mut book = book();
    let violation = FindingAction::OpenIncident {
        category: IncidentCategory::Violation,
    };
    for kind in [
        FindingType::IllegalStructure,
        FindingType::ThrownObject,
        FindingType::CommonAreaOccupation,
        FindingType::RenovationBreach,
    ] {
        assert_eq!(action_of(&mut book, kind), violation, "{kind:?}");
    }
}

#[test]
fn equipment_fault_opens_a_fault_work_order_and_reminders_are_logged() {
    let mut book = book();
    assert_eq!(
        action_of(&mut book, FindingType::EquipmentFault),
        FindingAction::OpenIncident {
            category: IncidentCategory::Fault
        }
    );
    for kind in [
        FindingType::UnlockedDoor,
        FindingType::Vehicle,
        FindingType::CleaningGreening,
    ] {
        assert_eq!(
            action_of(&mut book, kind),
            FindingAction::LogOnly,
            "{kind:?}"
        );
    }
}

#[test]
fn site_can_override_a_finding_action() {
    let mut cfg = config();
    cfg.finding_actions
        .insert(FindingType::UnlockedDoor, FindingAction::NotifySecurity);
    let mut book = book_with(cfg);
    assert_eq!(
        action_of(&mut book, FindingType::UnlockedDoor),
        FindingAction::NotifySecurity
    );
}

/// A day with the loop done on time by g1 and g2 and the line never walked.
fn walked_day() -> PatrolBook {
    let mut book = book();
    let _ = book.scan(scan("s1", "04A1", at(1)), at(1));
    let _ = book.scan(scan_by("s2", "g2", "04B1", at(11)), at(11));
    let _ = book.scan(scan("s3", "04C1", at(21)), at(21));
    book.finding(finding(FindingType::Vehicle, 5));
    let _ = book.tick(at(60));
    book
}

#[test]
fn daily_report_counts_tours_misses_and_the_on_time_ratio() {
    let book = walked_day();
    let report = book.daily_report(NaiveDate::from_ymd_opt(2024, 5, 1).expect("valid"));
    assert_eq!(
        (
            report.planned,
            report.completed,
            report.on_time,
            report.incomplete
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(report.on_time_ratio, Some(0.5));
    let missed: Vec<&str> = report
        .missed
        .iter()
        .map(|m| m.checkpoint.as_str())
        .collect();
    assert_eq!(missed, ["x", "c"]);
    assert!(report.late.is_empty());
    assert_eq!(report.findings.len(), 1);
}

#[test]
fn daily_report_splits_figures_by_route_and_guard() {
    let report = walked_day().daily_report(NaiveDate::from_ymd_opt(2024, 5, 1).expect("valid"));
    let line = &report.per_route["line"];
    assert_eq!(
        (line.planned, line.incomplete, line.missed_checkpoints),
        (1, 1, 2)
    );
    assert_eq!(report.per_route["loop"].on_time, 1);
    let g1 = &report.per_guard["g1"];
    assert_eq!(
        (g1.tours, g1.scans, g1.late_scans, g1.findings),
        (1, 2, 0, 1)
    );
    assert_eq!(report.per_guard["g2"].scans, 1);
}

#[test]
fn late_checkpoint_shows_in_the_report_and_spoils_on_time() {
    let mut book = book();
    let _ = book.scan(scan("s1", "04B1", at(2)), at(2));
    let _ = book.scan(scan("s2", "04A1", at(13)), at(13));
    let _ = book.scan(scan("s3", "04C1", at(14)), at(14));
    let report = book.daily_report(NaiveDate::from_ymd_opt(2024, 5, 1).expect("valid"));
    assert_eq!(report.late.len(), 1);
    assert_eq!(report.per_guard["g1"].late_scans, 1);
    assert!(!loop_tour(&book).on_time());
}

#[test]
fn report_of_a_day_without_closed_tours_has_no_ratio() {
    let report = book().daily_report(NaiveDate::from_ymd_opt(2024, 5, 1).expect("valid"));
    assert_eq!(report.on_time_ratio, None);
}

#[test]
fn config_problems_are_all_listed() {
    let mut cfg = config();
    cfg.time_zone = "Mars/Olympus".into();
    cfg.checkpoints[1].tag_uid = "04a1".into();
    cfg.routes[0].checkpoints[0].checkpoint = "nowhere".into();
    cfg.routes[1].schedules = vec![ScheduleConfig::cron("every tuesday")];
    let Err(PatrolError::Config { problems }) = PatrolBook::new(cfg) else {
        panic!("config accepted");
    };
    assert_eq!(problems.len(), 4, "{problems:?}");
}

#[test]
fn restored_book_carries_on_the_tour_in_progress() {
    let mut book = book();
    let _ = book.scan(scan("s1", "04A1", at(1)), at(1));
    let mut restored = PatrolBook::restore(config(), book.snapshot()).expect("valid");
    let out = restored.scan(scan("s2", "04B1", at(11)), at(11));
    assert_eq!(out.progress.map(|p| p.done), Some(2));
    // The resend check survives too.
    let again = restored.scan(scan("s1", "04A1", at(1)), at(12));
    assert_eq!(again.record.result, ScanResult::Resent);
    assert!(
        restored
            .tick(start() + Duration::hours(1))
            .iter()
            .any(|e| matches!(e, PatrolEvent::CheckpointMissed { .. }))
    );
}
