use super::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::sync::atomic::{AtomicU32, Ordering};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 2, 0, 0)
        .single()
        .expect("valid")
}

fn day(d: i64) -> DateTime<Utc> {
    t0() + Duration::days(d)
}

fn book() -> VacantBook {
    let mut book =
        VacantBook::new(InspectionConfig::default(), VacantState::default()).expect("valid");
    book.set_vacant(vec![VacantUnit {
        unit: "T1-1203".into(),
        vacant_since: t0(),
    }]);
    book.keys_mut()
        .add_set("K-1203", "T1-1203 entry", Some("T1-1203"));
    book
}

/// An inspection with every item passed, under an id of its own (a resend is refused).
fn all_pass(water: f64, power: f64) -> Inspection {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    Inspection {
        id: format!("i{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        unit: "T1-1203".into(),
        inspector: "cs-li".into(),
        key_set: Some("K-1203".into()),
        items: ChecklistItem::ALL
            .into_iter()
            .map(ItemResult::pass)
            .collect(),
        meters: MeterReadings {
            water: Some(water),
            power: Some(power),
        },
    }
}

fn with_failed(mut inspection: Inspection, item: ChecklistItem) -> Inspection {
    for r in &mut inspection.items {
        if r.item == item {
            *r = ItemResult::fail(item, "found on the round");
        }
    }
    inspection
}

fn categories(outcome: &InspectionOutcome) -> Vec<IncidentCategory> {
    outcome
        .actions
        .iter()
        .map(|InspectionAction::OpenIncident { category, .. }| *category)
        .collect()
}

#[test]
fn vacant_unit_is_due_seven_days_after_vacancy_and_not_before() {
    let book = book();
    assert!(book.due(day(7) - Duration::seconds(1)).is_empty());
    let due = book.due(day(7));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].state, DueState::Due);
}

#[test]
fn inspection_is_overdue_only_after_eight_days() {
    let book = book();
    assert_eq!(book.due(day(8))[0].state, DueState::Due);
    assert_eq!(
        book.due(day(8) + Duration::seconds(1))[0].state,
        DueState::Overdue
    );
}

#[test]
fn inspection_resets_the_due_date() {
    let mut book = book();
    book.submit(all_pass(10.0, 200.0), day(7))
        .expect("accepted");
    assert!(book.due(day(13)).is_empty());
    assert_eq!(book.due_dates("T1-1203"), Some((day(14), day(15))));
}

#[test]
fn overdue_notice_goes_out_once_per_due_date() {
    let mut book = book();
    assert!(book.tick(day(8)).is_empty());
    let events = book.tick(day(9));
    assert!(matches!(
        events.as_slice(),
        [InspectionEvent::InspectionOverdue { .. }]
    ));
    assert!(book.tick(day(10)).is_empty());
}

#[test]
fn interval_is_configurable() {
    let config = InspectionConfig {
        interval_days: 14,
        overdue_after_days: 16,
        ..InspectionConfig::default()
    };
    let mut book = VacantBook::new(config, VacantState::default()).expect("valid");
    book.set_vacant(vec![VacantUnit {
        unit: "u".into(),
        vacant_since: t0(),
    }]);
    assert!(book.due(day(13)).is_empty());
    assert_eq!(book.due(day(17))[0].state, DueState::Overdue);
    let bad = InspectionConfig {
        interval_days: 9,
        ..InspectionConfig::default()
    };
    assert!(VacantBook::new(bad, VacantState::default()).is_err());
}

#[test]
fn unit_no_longer_vacant_leaves_the_schedule() {
    let mut book = book();
    book.set_vacant(Vec::new());
    assert!(book.due(day(30)).is_empty());
}

#[test]
fn passing_inspection_opens_no_incident() {
    let mut book = book();
    let outcome = book
        .submit(all_pass(10.0, 200.0), day(7))
        .expect("accepted");
    assert!(outcome.actions.is_empty());
    assert!(
        outcome
            .events
            .iter()
            .any(|e| matches!(e, InspectionEvent::InspectionRecorded { passed: true, .. }))
    );
}

#[test]
fn failed_leak_item_opens_a_water_ingress_incident() {
    let mut book = book();
    let inspection = with_failed(all_pass(10.0, 200.0), ChecklistItem::NoLeakDampMould);
    let outcome = book.submit(inspection, day(7)).expect("accepted");
    assert_eq!(categories(&outcome), [IncidentCategory::WaterIngress]);
    let InspectionAction::OpenIncident {
        unit, items, notes, ..
    } = &outcome.actions[0];
    assert_eq!(unit, "T1-1203");
    assert_eq!(items, &[ChecklistItem::NoLeakDampMould]);
    assert_eq!(notes, &["found on the round".to_owned()]);
}

#[test]
fn sign_of_entry_opens_a_theft_incident_and_routine_failures_one_fault() {
    let mut book = book();
    let inspection = with_failed(all_pass(10.0, 200.0), ChecklistItem::NoDamageOrEntry);
    let inspection = with_failed(inspection, ChecklistItem::WaterMainOff);
    let inspection = with_failed(inspection, ChecklistItem::FloorDrainsSealed);
    let outcome = book.submit(inspection, day(7)).expect("accepted");
    assert_eq!(
        categories(&outcome),
        [IncidentCategory::TheftRobbery, IncidentCategory::Fault]
    );
}

#[test]
fn item_category_can_be_overridden_by_the_site() {
    let mut config = InspectionConfig::default();
    config
        .item_categories
        .insert(ChecklistItem::NoPests, IncidentCategory::PublicProperty);
    let mut book = VacantBook::new(config, VacantState::default()).expect("valid");
    book.set_vacant(vec![VacantUnit {
        unit: "T1-1203".into(),
        vacant_since: t0(),
    }]);
    let mut inspection = with_failed(all_pass(1.0, 1.0), ChecklistItem::NoPests);
    inspection.key_set = None;
    let outcome = book.submit(inspection, day(7)).expect("accepted");
    assert_eq!(categories(&outcome), [IncidentCategory::PublicProperty]);
}

#[test]
fn meter_that_moved_since_the_last_inspection_fails_even_when_ticked() {
    let mut book = book();
    book.submit(all_pass(10.0, 200.0), day(7))
        .expect("accepted");
    let outcome = book
        .submit(all_pass(10.4, 200.0), day(14))
        .expect("accepted");
    assert_eq!(categories(&outcome), [IncidentCategory::Fault]);
    assert!(outcome.events.iter().any(|e| matches!(
        e,
        InspectionEvent::MeterMoved { meter, from, to, .. } if meter == "water" && *from == 10.0 && *to == 10.4
    )));
}

#[test]
fn unchanged_meters_pass_and_first_reading_sets_the_base() {
    let mut book = book();
    let first = book
        .submit(all_pass(10.0, 200.0), day(7))
        .expect("accepted");
    assert!(first.actions.is_empty());
    let second = book
        .submit(all_pass(10.0, 200.0), day(14))
        .expect("accepted");
    assert!(second.actions.is_empty());
}

#[test]
fn meter_not_read_fails_its_item() {
    let mut book = book();
    let mut inspection = all_pass(10.0, 200.0);
    inspection.meters.power = None;
    let outcome = book.submit(inspection, day(7)).expect("accepted");
    // A meter not read is a routine fault, a work order (issue 22 item 2).
    assert_eq!(categories(&outcome), [IncidentCategory::Fault]);
}

#[test]
fn meter_movement_within_tolerance_passes() {
    assert_eq!(
        check_meter(Some(10.0), Some(10.05), 0.1),
        MeterCheck::Unchanged
    );
    assert_eq!(
        check_meter(Some(10.0), Some(9.0), 0.1),
        MeterCheck::Moved {
            from: 10.0,
            to: 9.0
        }
    );
}

#[test]
fn incomplete_checklist_or_unknown_unit_or_key_set_is_refused() {
    let mut book = book();
    let mut inspection = all_pass(1.0, 1.0);
    inspection.items.retain(|r| r.item != ChecklistItem::GasOff);
    assert_eq!(
        book.submit(inspection, day(7)),
        Err(InspectionError::Incomplete(vec![ChecklistItem::GasOff]))
    );
    let mut other = all_pass(1.0, 1.0);
    other.unit = "T9-0101".into();
    assert!(matches!(
        book.submit(other, day(7)),
        Err(InspectionError::NotVacant(_))
    ));
    let mut keyless = all_pass(1.0, 1.0);
    keyless.key_set = Some("K-none".into());
    assert!(matches!(
        book.submit(keyless, day(7)),
        Err(InspectionError::UnknownKeySet(_))
    ));
}

#[test]
fn a_resent_inspection_is_refused_and_one_recorded_before_a_restart_too() {
    let mut book = book();
    let inspection = all_pass(1.0, 1.0);
    book.submit(inspection.clone(), day(7)).expect("recorded");
    let again = book.submit(inspection.clone(), day(7));
    assert_eq!(
        again,
        Err(InspectionError::AlreadyRecorded(inspection.id.clone()))
    );
    let mut restarted = self::book();
    restarted.remember([inspection.id.clone()]);
    let again = restarted.submit(inspection.clone(), day(8));
    assert_eq!(again, Err(InspectionError::AlreadyRecorded(inspection.id)));
}

#[test]
fn key_set_cannot_be_signed_out_twice() {
    let mut keys = KeyRegister::new();
    keys.add_set("K-1", "unit 1", Some("1"));
    keys.sign_out("K-1", "cs-li", "inspection i1", None, day(0))
        .expect("in the cabinet");
    let again = keys.sign_out(
        "K-1",
        "cs-wang",
        "repair",
        None,
        day(0) + Duration::hours(1),
    );
    assert_eq!(
        again,
        Err(KeyError::AlreadyOut {
            set: "K-1".into(),
            holder: "cs-li".into(),
            since: day(0)
        })
    );
}

#[test]
fn signed_in_key_can_go_out_again_and_the_loan_records_who_and_when() {
    let mut keys = KeyRegister::new();
    keys.add_set("K-1", "unit 1", None);
    keys.sign_out("K-1", "cs-li", "inspection", None, day(0))
        .expect("in");
    let loan = keys
        .sign_in("K-1", "cs-zhao", day(0) + Duration::hours(2))
        .expect("out");
    assert_eq!(loan.holder, "cs-li");
    assert_eq!(loan.returned_by.as_deref(), Some("cs-zhao"));
    assert_eq!(loan.in_at, Some(day(0) + Duration::hours(2)));
    assert!(
        keys.sign_out("K-1", "cs-wang", "repair", None, day(1))
            .is_ok()
    );
    assert_eq!(
        keys.sign_in("K-9", "x", day(1)),
        Err(KeyError::UnknownSet("K-9".into()))
    );
}

#[test]
fn key_in_the_cabinet_cannot_be_signed_in() {
    let mut keys = KeyRegister::new();
    keys.add_set("K-1", "unit 1", None);
    assert_eq!(
        keys.sign_in("K-1", "x", day(0)),
        Err(KeyError::NotOut("K-1".into()))
    );
}

#[test]
fn keys_out_longer_than_the_limit_are_listed() {
    let mut book = book();
    book.keys_mut()
        .sign_out("K-1203", "cs-li", "inspection", None, day(0))
        .expect("in");
    assert!(book.keys_overdue(day(0) + Duration::hours(8)).is_empty());
    let late = book.keys_overdue(day(0) + Duration::hours(8) + Duration::seconds(1));
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].holder, "cs-li");
}

#[test]
fn state_survives_a_restart() {
    let mut book = book();
    book.submit(all_pass(10.0, 200.0), day(7))
        .expect("accepted");
    let restored = VacantBook::new(InspectionConfig::default(), book.snapshot()).expect("valid");
    assert_eq!(restored.due_dates("T1-1203"), Some((day(14), day(15))));
    assert!(restored.keys().get("K-1203").is_some());
}

/// Issue 22 item 2, rules.md §13.1: only a leak or damp and a sign of entry open accidents;
/// gas left on, keys missing and every other failed item are routine faults.
#[test]
fn only_leaks_and_entry_are_accidents_every_other_failed_item_is_a_fault() {
    for item in ChecklistItem::ALL {
        let want = match item {
            ChecklistItem::NoLeakDampMould => IncidentCategory::WaterIngress,
            ChecklistItem::NoDamageOrEntry => IncidentCategory::TheftRobbery,
            _ => IncidentCategory::Fault,
        };
        assert_eq!(item.default_category(), want, "{item:?}");
    }
}

fn plant_room() -> KeySetEntry {
    KeySetEntry {
        id: "K-PR1".into(),
        kind: KeyKind::PlantRoom,
        label: "B1 pump room".into(),
        location: "cabinet A, hook 3".into(),
        keeper: "cs-officer".into(),
        unit: None,
    }
}

#[test]
fn a_key_out_past_its_expected_return_is_overdue_and_alarms_only_after_the_grace() {
    use crate::clock::{Clock, ManualClock};
    // rules.md §13.23: loans are registered with their return; the desk sees a late one.
    let clock = ManualClock::new(t0());
    let mut book = book();
    book.keys_mut().put(plant_room());
    let back = clock.now() + Duration::hours(3);
    book.keys_mut()
        .sign_out("K-PR1", "eng-zhao", "pump service", Some(back), clock.now())
        .expect("on the board");
    clock.advance(Duration::hours(3));
    assert!(book.keys_overdue(clock.now()).is_empty(), "due back now");
    clock.advance(Duration::seconds(1));
    let late = book.keys_overdue(clock.now());
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].holder, "eng-zhao");
    assert!(!book.keys_alarm(clock.now()), "the desk chases it first");
    clock.advance(Duration::hours(2));
    assert!(book.keys_alarm(clock.now()), "two hours past its return");
    book.keys_mut()
        .sign_in("K-PR1", "eng-zhao", clock.now())
        .expect("out");
    assert!(book.keys_overdue(clock.now()).is_empty());
    assert!(!book.keys_alarm(clock.now()));
    assert_eq!(
        book.keys_mut()
            .sign_out("K-PR1", "x", "y", Some(clock.now()), clock.now()),
        Err(KeyError::ReturnInPast("K-PR1".into()))
    );
}

#[test]
fn an_inventory_lists_and_keeps_what_is_missing_until_a_count_finds_it() {
    use crate::clock::{Clock, ManualClock};
    // rules.md §13.23 (seed 003:555): the cabinet is inventoried and gaps are recorded.
    let clock = ManualClock::new(t0());
    let mut keys = KeyRegister::new();
    keys.put(plant_room());
    keys.add_set("K-1203", "T1-1203 entry", Some("T1-1203"));
    keys.put(KeySetEntry {
        id: "K-ROOF".into(),
        kind: KeyKind::RoofDoor,
        label: "T1 roof door".into(),
        location: "cabinet A, hook 9".into(),
        keeper: "security".into(),
        unit: None,
    });
    keys.sign_out("K-1203", "cs-li", "inspection", None, clock.now())
        .expect("in");
    let board: std::collections::BTreeSet<String> = ["K-PR1".to_owned()].into();
    let inv = keys
        .inventory(&board, "cs-wang", clock.now())
        .expect("known");
    assert_eq!(inv.counted, ["K-PR1"]);
    assert_eq!(inv.out, ["K-1203"]);
    assert_eq!(inv.missing, ["K-ROOF"]);
    assert_eq!(keys.get("K-ROOF").and_then(|s| s.missing_since), Some(t0()));
    assert_eq!(keys.last_inventory(), Some(&inv));
    assert_eq!(
        keys.sign_out("K-ROOF", "x", "y", None, clock.now()),
        Err(KeyError::Missing("K-ROOF".into())),
        "a missing set cannot be handed out"
    );
    clock.advance(Duration::days(1));
    let again = keys
        .inventory(&board, "cs-wang", clock.now())
        .expect("known");
    assert_eq!(again.missing, ["K-ROOF"]);
    assert_eq!(
        keys.get("K-ROOF").and_then(|s| s.missing_since),
        Some(t0()),
        "missing since the first count that missed it"
    );
    let board: std::collections::BTreeSet<String> =
        ["K-PR1".to_owned(), "K-ROOF".to_owned()].into();
    let found = keys
        .inventory(&board, "cs-wang", clock.now())
        .expect("known");
    assert_eq!(
        (found.found, found.missing.len()),
        (vec!["K-ROOF".to_owned()], 0)
    );
    assert_eq!(keys.get("K-ROOF").and_then(|s| s.missing_since), None);
    let unknown: std::collections::BTreeSet<String> = ["K-NONE".to_owned()].into();
    assert_eq!(
        keys.inventory(&unknown, "cs-wang", clock.now()),
        Err(KeyError::UnknownSet("K-NONE".into()))
    );
    assert_eq!(
        keys.get("K-1203").map(|s| s.kind),
        Some(KeyKind::VacantUnit)
    );
}
