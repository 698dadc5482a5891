//! The request and hand-over books: numbering, the deadline chase at most once a minute of
//! business time, linking once, the follow-up rule shared by requests and incidents, and
//! hand-over steps.

use super::*;

fn new_request(kind: RequestKind) -> NewRequest {
    NewRequest {
        kind,
        channel: Channel::Hotline,
        unit: "1-0301".to_owned(),
        owner: None,
        summary: "kitchen tap leaking".to_owned(),
        received_by: "desk".to_owned(),
        assigned_to: None,
        unit_cs_person: None,
    }
}

const REPAIR: RequestKind = RequestKind::Repair { emergency: false };

fn take_in(book: &mut RequestBook, kind: RequestKind, at: DateTime<Utc>) -> RequestId {
    let cal = WorkingCalendar::default();
    book.take_in(new_request(kind), None, &cal, at).unwrap().0
}

fn step(book: &mut RequestBook, id: RequestId, action: RequestAction, at: DateTime<Utc>) {
    let cal = WorkingCalendar::default();
    book.apply(id, RequestCommand::new("desk", action), &cal, at)
        .unwrap();
}

fn chasers(events: &[RequestEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.kind, RequestEventKind::ChaserIssued { .. }))
        .count()
}

#[test]
fn requests_are_numbered_on_after_the_highest_restored() {
    let mut book = RequestBook::new(ServiceConfig::default(), chrono_tz::Asia::Shanghai);
    let first = take_in(&mut book, REPAIR, t0());
    let kept = book.get(first).unwrap().clone();
    let mut restarted = RequestBook::new(ServiceConfig::default(), chrono_tz::Asia::Shanghai);
    restarted.restore(vec![ServiceRequest { id: 41, ..kept }]);
    assert_eq!(take_in(&mut restarted, REPAIR, t0()), 42);
}

#[test]
fn the_chase_runs_at_most_once_a_minute_of_business_time_and_chases_once() {
    let mut book = RequestBook::new(ServiceConfig::default(), chrono_tz::Asia::Shanghai);
    let id = take_in(&mut book, REPAIR, t0());
    let secs = Duration::seconds;
    // The owner must be contacted within 30 minutes (rules.md §14 Repairs).
    assert!(book.run_due(t0() + mins(29) + secs(30)).is_empty());
    let early = book.run_due(t0() + mins(30) + secs(10));
    assert!(
        early.is_empty(),
        "checked less than a minute ago: {early:?}"
    );
    let events = book.run_due(t0() + mins(30) + secs(30));
    assert_eq!(chasers(&events), 1, "{events:?}");
    assert_eq!(book.get(id).unwrap().chasers.len(), 1);
    assert!(
        book.run_due(t0() + mins(45)).is_empty(),
        "a breach chases once"
    );
    let figures = book.figures(t0() + mins(45));
    assert_eq!(figures.overdue.get("repair"), Some(&1));
    assert_eq!(figures.overdue.get("complaint"), Some(&0));
}

#[test]
fn a_request_links_to_one_incident_and_a_suggestion_to_none() {
    let mut book = RequestBook::new(ServiceConfig::default(), chrono_tz::Asia::Shanghai);
    let id = take_in(&mut book, REPAIR, t0());
    let events = book.link(id, 7, "desk", t0()).unwrap();
    assert!(matches!(
        events[0].kind,
        RequestEventKind::IncidentLinked { incident: 7 }
    ));
    assert_eq!(
        book.link(id, 8, "desk", t0()),
        Err(ServiceError::AlreadyLinked { id, incident: 7 })
    );
    assert_eq!(book.of_incident(7).len(), 1);
    let cal = WorkingCalendar::default();
    let suggestion = new_request(RequestKind::Suggestion);
    assert_eq!(
        book.take_in(suggestion, Some(7), &cal, t0())
            .map(|(id, _)| id),
        Err(ServiceError::NotLinkable)
    );
    assert_eq!(
        book.link(99, 7, "desk", t0()),
        Err(ServiceError::NotFound(99))
    );
}

#[test]
fn follow_ups_fall_due_one_working_day_after_the_work_for_requests_and_incidents_alike() {
    let mut requests = RequestBook::new(ServiceConfig::default(), chrono_tz::Asia::Shanghai);
    let id = take_in(&mut requests, REPAIR, t0());
    step(
        &mut requests,
        id,
        RequestAction::Acknowledge,
        t0() + mins(5),
    );
    let report = "washer replaced".to_owned();
    step(
        &mut requests,
        id,
        RequestAction::Complete { report },
        t0() + mins(60),
    );
    let suggestion = take_in(&mut requests, RequestKind::Suggestion, t0());
    step(&mut requests, suggestion, RequestAction::Acknowledge, t0());
    let report = String::new();
    step(
        &mut requests,
        suggestion,
        RequestAction::Complete { report },
        t0(),
    );
    let mut incidents = book();
    let fault = open(&mut incidents, "fault");
    for action in [
        IncidentAction::Dispatch { to: None },
        IncidentAction::ArriveOnSite,
        IncidentAction::Resolve,
    ] {
        apply(&mut incidents, fault, action, t0());
    }

    // Resolved Thursday 10:00 and completed 11:00: due Friday 10:00 and 11:00.
    let friday = t0() + Duration::hours(24) + mins(30);
    let due = follow_ups_due(&incidents, &requests, friday);
    let refs: Vec<(&str, bool)> = due
        .iter()
        .map(|d| (d.reference.as_str(), d.overdue))
        .collect();
    let fault_ref = format!("incident:{fault}");
    assert_eq!(refs, vec![(fault_ref.as_str(), true), ("request:1", false)]);
    assert_eq!(due[1].due_at, t0() + Duration::hours(25));

    step(
        &mut requests,
        id,
        RequestAction::FollowUp {
            method: FollowUpMethod::Phone,
            outcome: "fine".to_owned(),
            satisfied: true,
        },
        friday,
    );
    assert_eq!(follow_ups_due(&incidents, &requests, friday).len(), 1);
    assert_eq!(requests.figures(friday).followed_up, 1);
}

#[test]
fn a_hand_over_takes_steps_from_the_incoming_shift_and_refuses_blank_notes() {
    let mut book = HandoverBook::default();
    let item = HandoverItem {
        reference: "request:1".to_owned(),
        summary: "tap".to_owned(),
        overdue: false,
    };
    let (id, events) = book.start("night-wang", Some(" ".to_owned()), vec![item], t0());
    assert_eq!(events.len(), 1, "a blank overall note is left out");
    let ack = HandoverAction::Acknowledge {
        reference: "request:1".to_owned(),
    };
    assert_eq!(
        book.apply(id, "night-wang", ack.clone(), t0()),
        Err(HandoverError::SamePerson("night-wang".to_owned()))
    );
    let blank = HandoverAction::Note {
        text: "".to_owned(),
    };
    assert_eq!(
        book.apply(id, "night-wang", blank, t0()),
        Err(HandoverError::EmptyNote)
    );
    book.apply(id, "day-zhao", ack, t0()).unwrap();
    book.apply(id, "day-zhao", HandoverAction::Complete, t0())
        .unwrap();
    assert!(book.get(id).unwrap().completed.is_some());
    assert_eq!(
        book.apply(2, "day-zhao", HandoverAction::Complete, t0()),
        Err(HandoverError::NotFound(2))
    );
    let mut restored = HandoverBook::restore(vec![(id, book.get(id).unwrap().clone())]);
    let (next, _) = restored.start("day-zhao", None, Vec::new(), t0());
    assert_eq!(next, id + 1);
}
