//! Shift hand-over with open items.

use super::*;

fn handover_with_two_incidents() -> (IncidentBook, Handover) {
    let mut book = book();
    open(&mut book, builtin::WATER_INGRESS);
    let closed = open(&mut book, builtin::GAS);
    apply(
        &mut book,
        closed,
        IncidentAction::Cancel {
            reason: "no gas found".to_owned(),
        },
        t0(),
    );
    open(&mut book, builtin::REPAIR);
    let items = book.handover_items(t0() + mins(10));
    let handover = Handover::start("night.desk", items, t0() + mins(10));
    (book, handover)
}

#[test]
fn a_hand_over_lists_every_open_incident_and_marks_the_overdue_ones() {
    let (_, handover) = handover_with_two_incidents();
    let refs: Vec<_> = handover
        .entries
        .iter()
        .map(|e| (e.item.reference.as_str(), e.item.overdue))
        .collect();
    // The water ingress missed its 3-minute on-site clock; the repair is within 30 minutes.
    assert_eq!(refs, vec![("incident:1", true), ("incident:3", false)]);
}

#[test]
fn a_hand_over_completes_only_when_the_incoming_shift_acknowledged_every_item() {
    let (_, mut handover) = handover_with_two_incidents();
    handover
        .add_item_note("incident:1", "pump running, check B2 at 07:00")
        .unwrap();
    handover
        .acknowledge("incident:1", "day.desk", t0() + mins(20))
        .unwrap();
    let err = handover.complete("day.desk", t0() + mins(21)).unwrap_err();
    assert_eq!(
        err,
        HandoverError::Unacknowledged(vec!["incident:3".to_owned()])
    );
    handover
        .acknowledge("incident:3", "day.desk", t0() + mins(22))
        .unwrap();
    handover.complete("day.desk", t0() + mins(23)).unwrap();
    assert_eq!(
        handover.completed,
        Some(("day.desk".to_owned(), t0() + mins(23)))
    );
    assert_eq!(
        handover.add_note("late note"),
        Err(HandoverError::AlreadyComplete)
    );
}

#[test]
fn acknowledging_an_item_not_on_the_list_is_refused() {
    let (_, mut handover) = handover_with_two_incidents();
    let err = handover
        .acknowledge("incident:2", "day.desk", t0())
        .unwrap_err();
    assert_eq!(err, HandoverError::UnknownItem("incident:2".to_owned()));
}

#[test]
fn the_outgoing_person_cannot_acknowledge_or_take_over_their_own_hand_over() {
    let (_, mut handover) = handover_with_two_incidents();
    let err = handover
        .acknowledge("incident:1", "night.desk", t0() + mins(20))
        .unwrap_err();
    assert_eq!(err, HandoverError::SamePerson("night.desk".to_owned()));
    assert!(handover.entries.iter().all(|e| e.acknowledged.is_none()));
    let err = handover
        .complete("night.desk", t0() + mins(21))
        .unwrap_err();
    assert_eq!(err, HandoverError::SamePerson("night.desk".to_owned()));
}

#[test]
fn a_repair_waiting_past_its_follow_up_deadline_is_handed_over_as_overdue() {
    let new = NewRequest {
        kind: RequestKind::Repair { emergency: false },
        channel: Channel::Phone,
        unit: "A-1203".to_owned(),
        owner: None,
        summary: "tap leaking".to_owned(),
        received_by: "desk".to_owned(),
        assigned_to: None,
        unit_cs_person: None,
    };
    let cal = WorkingCalendar::default();
    let mut r = ServiceRequest::new(4, new, &ServiceConfig::default(), on(&cal), t0()).0;
    let steps = [
        RequestAction::Acknowledge,
        RequestAction::Dispatch {
            technician: "zhang".to_owned(),
        },
        RequestAction::ArriveOnSite,
        RequestAction::Complete {
            report: "washer replaced".to_owned(),
        },
    ];
    for (n, action) in steps.into_iter().enumerate() {
        let at = t0() + mins(10 * (n as i64 + 1));
        r.apply(RequestCommand::new("desk", action), on(&cal), at)
            .unwrap();
    }
    // Completed Thursday 10:40 with every other deadline met; the follow-up call is due
    // one working day later (§14), so only it can make the item overdue.
    let before = r.handover_item(t0() + Duration::hours(24)).unwrap();
    assert_eq!(
        (before.reference.as_str(), before.overdue),
        ("request:4", false)
    );
    let after = r.handover_item(t0() + Duration::hours(25)).unwrap();
    assert!(after.overdue, "{after:?}");
}
