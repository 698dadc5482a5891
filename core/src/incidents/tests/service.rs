//! Service requests: classification, deadlines, closure records, decline, chasers.

use super::*;

fn request(kind: RequestKind) -> (ServiceRequest, Vec<RequestEvent>) {
    let new = NewRequest {
        kind,
        channel: Channel::Phone,
        unit: "A-1203".to_owned(),
        owner: Some("陈女士".to_owned()),
        summary: "kitchen tap leaking".to_owned(),
        received_by: "desk".to_owned(),
        assigned_to: None,
        unit_cs_person: None,
    };
    ServiceRequest::new(
        7,
        new,
        &ServiceConfig::default(),
        on(&WorkingCalendar::default()),
        t0(),
    )
}

fn ordinary_repair() -> ServiceRequest {
    request(RequestKind::Repair { emergency: false }).0
}

fn act(
    req: &mut ServiceRequest,
    action: RequestAction,
    at: DateTime<Utc>,
) -> Result<Vec<RequestEvent>, ServiceError> {
    req.apply(
        RequestCommand::new("zhang.tech", action),
        on(&WorkingCalendar::default()),
        at,
    )
}

fn breached(events: &[RequestEvent]) -> Vec<SlaKind> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            RequestEventKind::SlaBreached { sla, .. } => Some(sla),
            _ => None,
        })
        .collect()
}

fn finish_work(req: &mut ServiceRequest) {
    act(
        req,
        RequestAction::Dispatch {
            technician: "zhang.tech".to_owned(),
        },
        t0() + mins(10),
    )
    .unwrap();
    act(req, RequestAction::ArriveOnSite, t0() + mins(90)).unwrap();
    act(
        req,
        RequestAction::Complete {
            report: "washer replaced, site cleaned".to_owned(),
        },
        t0() + mins(120),
    )
    .unwrap();
}

#[test]
fn a_repair_closes_only_with_report_follow_up_and_rating() {
    let mut req = ordinary_repair();
    finish_work(&mut req);
    let err = act(&mut req, RequestAction::Close, t0() + mins(130)).unwrap_err();
    assert_eq!(
        err,
        ServiceError::CannotClose {
            missing: vec!["follow-up", "rating"]
        }
    );
    let follow_up = RequestAction::FollowUp {
        method: FollowUpMethod::Phone,
        outcome: "fixed".to_owned(),
        satisfied: true,
    };
    act(&mut req, follow_up, t0() + Duration::hours(20)).unwrap();
    let err = act(&mut req, RequestAction::Close, t0() + Duration::hours(20)).unwrap_err();
    assert_eq!(
        err,
        ServiceError::CannotClose {
            missing: vec!["rating"]
        }
    );
    act(
        &mut req,
        RequestAction::Rate { score: 5 },
        t0() + Duration::hours(20),
    )
    .unwrap();
    act(&mut req, RequestAction::Close, t0() + Duration::hours(20)).unwrap();
    assert_eq!(req.state, RequestState::Closed);
    assert_eq!(req.completion.as_ref().unwrap().technician, "zhang.tech");
}

#[test]
fn a_repair_cannot_complete_without_the_technicians_report() {
    let mut req = ordinary_repair();
    act(
        &mut req,
        RequestAction::Dispatch {
            technician: "zhang.tech".to_owned(),
        },
        t0(),
    )
    .unwrap();
    let err = act(
        &mut req,
        RequestAction::Complete {
            report: " ".to_owned(),
        },
        t0(),
    )
    .unwrap_err();
    assert_eq!(err, ServiceError::Empty("completion report"));
    assert_eq!(req.state, RequestState::InProgress);
}

#[test]
fn a_rating_outside_one_to_five_is_refused() {
    let mut req = ordinary_repair();
    finish_work(&mut req);
    assert_eq!(
        act(&mut req, RequestAction::Rate { score: 6 }, t0()),
        Err(ServiceError::BadRating(6))
    );
}

#[test]
fn a_declined_request_keeps_the_reason_given_to_the_owner() {
    let mut req = ordinary_repair();
    assert_eq!(
        act(
            &mut req,
            RequestAction::Decline {
                reason: String::new()
            },
            t0()
        ),
        Err(ServiceError::Empty("decline reason"))
    );
    let reason = "owner's own fitting under warranty: contact the developer".to_owned();
    act(
        &mut req,
        RequestAction::Decline {
            reason: reason.clone(),
        },
        t0() + mins(5),
    )
    .unwrap();
    assert_eq!(req.state, RequestState::Declined);
    assert_eq!(req.decline_reason, Some(reason));
    assert!(
        req.tick(t0() + Duration::days(10)).is_empty(),
        "a declined request's clocks stop"
    );
}

#[test]
fn work_already_under_way_cannot_be_declined() {
    let mut req = ordinary_repair();
    act(
        &mut req,
        RequestAction::Dispatch {
            technician: "zhang.tech".to_owned(),
        },
        t0(),
    )
    .unwrap();
    let err = act(
        &mut req,
        RequestAction::Decline {
            reason: "busy".to_owned(),
        },
        t0(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        ServiceError::InvalidTransition {
            from: RequestState::InProgress,
            action: "decline"
        }
    );
}

#[test]
fn an_overdue_request_gets_one_chaser_that_takes_the_reason_for_delay() {
    let mut req = ordinary_repair();
    assert!(req.tick(t0() + mins(30)).is_empty());
    assert!(!req.is_overdue(t0() + mins(30)));
    let events = req.tick(t0() + mins(31));
    assert_eq!(breached(&events), vec![SlaKind::Acknowledged]);
    assert!(req.is_overdue(t0() + mins(31)));
    assert!(
        req.tick(t0() + mins(40)).is_empty(),
        "one chaser per breach"
    );
    assert_eq!(req.chasers.len(), 1);
    let reason = RequestAction::ExplainDelay {
        reason: "desk short-staffed at shift change".to_owned(),
    };
    act(&mut req, reason.clone(), t0() + mins(45)).unwrap();
    assert_eq!(
        req.chasers[0].reason_for_delay.as_deref(),
        Some("desk short-staffed at shift change")
    );
    assert_eq!(req.chasers[0].explained_by.as_deref(), Some("zhang.tech"));
    assert_eq!(
        act(&mut req, reason, t0() + mins(46)),
        Err(ServiceError::NoOpenChaser)
    );
}

#[test]
fn an_emergency_repair_must_be_on_site_in_fifteen_minutes() {
    let (mut req, _) = request(RequestKind::Repair { emergency: true });
    assert!(breached(&req.tick(t0() + mins(15))).is_empty());
    assert_eq!(
        breached(&req.tick(t0() + mins(15) + Duration::seconds(1))),
        vec![SlaKind::OnSite]
    );
}

#[test]
fn an_agreed_visit_time_replaces_the_on_site_deadline() {
    let mut req = ordinary_repair();
    act(&mut req, RequestAction::Acknowledge, t0() + mins(5)).unwrap();
    act(
        &mut req,
        RequestAction::AgreeVisit {
            at: t0() + Duration::hours(48),
        },
        t0() + mins(5),
    )
    .unwrap();
    assert!(!breached(&req.tick(t0() + Duration::hours(25))).contains(&SlaKind::OnSite));
    assert!(breached(&req.tick(t0() + Duration::hours(49))).contains(&SlaKind::OnSite));
}

#[test]
fn the_follow_up_clock_starts_at_completion() {
    let mut req = ordinary_repair();
    assert!(req.clock(SlaKind::FollowUp).is_none());
    finish_work(&mut req);
    // Completed Thursday 12:00 Shanghai: follow-up due Friday 12:00.
    assert_eq!(
        req.clock(SlaKind::FollowUp).unwrap().due_at,
        t0() + mins(120) + Duration::days(1)
    );
}

#[test]
fn an_important_complaint_goes_to_the_manager_at_once() {
    let (req, events) = request(RequestKind::Complaint { important: true });
    assert_eq!(req.manager_flagged_at, Some(t0()));
    assert!(
        events
            .iter()
            .any(|e| e.kind == RequestEventKind::ManagerFlagged)
    );
    let (ordinary, _) = request(RequestKind::Complaint { important: false });
    assert_eq!(ordinary.manager_flagged_at, None);
}

#[test]
fn a_complaint_can_be_flagged_important_later_but_a_repair_cannot() {
    let (mut complaint, _) = request(RequestKind::Complaint { important: false });
    act(
        &mut complaint,
        RequestAction::FlagImportant,
        t0() + mins(20),
    )
    .unwrap();
    assert_eq!(complaint.manager_flagged_at, Some(t0() + mins(20)));
    let mut repair = ordinary_repair();
    assert_eq!(
        act(&mut repair, RequestAction::FlagImportant, t0()),
        Err(ServiceError::NotAComplaint("flagging important"))
    );
}

#[test]
fn a_complaint_reply_with_a_plan_meets_the_acknowledgement_and_reply_clocks() {
    let (mut req, _) = request(RequestKind::Complaint { important: false });
    act(
        &mut req,
        RequestAction::Reply {
            text: "plumber tomorrow 9:00".to_owned(),
        },
        t0() + mins(20),
    )
    .unwrap();
    assert!(breached(&req.tick(t0() + Duration::hours(25))).is_empty());
    let resolved_due = req.clock(SlaKind::Resolved).unwrap().due_at;
    // Thursday 10:00 + 3 working days = Tuesday 10:00.
    assert_eq!(resolved_due, t0() + Duration::days(5));
}

#[test]
fn a_suggestion_is_answered_within_two_working_days_and_closes_once_answered() {
    let (mut req, _) = request(RequestKind::Suggestion);
    // Thursday 10:00 + 2 working days = Monday 10:00.
    assert_eq!(
        req.clock(SlaKind::Replied).unwrap().due_at,
        t0() + Duration::days(4)
    );
    let err = act(&mut req, RequestAction::Close, t0()).unwrap_err();
    assert_eq!(
        err,
        ServiceError::CannotClose {
            missing: vec!["reply"]
        }
    );
    act(
        &mut req,
        RequestAction::Reply {
            text: "thank you, benches ordered".to_owned(),
        },
        t0() + mins(60),
    )
    .unwrap();
    act(&mut req, RequestAction::Close, t0() + mins(61)).unwrap();
    assert_eq!(req.state, RequestState::Closed);
}

#[test]
fn a_closed_request_takes_no_more_changes() {
    let (mut req, _) = request(RequestKind::Suggestion);
    act(
        &mut req,
        RequestAction::Reply {
            text: "noted".to_owned(),
        },
        t0(),
    )
    .unwrap();
    act(&mut req, RequestAction::Close, t0()).unwrap();
    let err = act(&mut req, RequestAction::Acknowledge, t0()).unwrap_err();
    assert_eq!(
        err,
        ServiceError::NotOpen {
            id: 7,
            state: RequestState::Closed
        }
    );
}

/// A complaint taken in at `at` through a book whose desk keeps the default hours.
fn complaint_in_book(at: DateTime<Utc>) -> (RequestBook, RequestId) {
    let mut book = RequestBook::new(ServiceConfig::default(), chrono_tz::Asia::Shanghai);
    let new = NewRequest {
        kind: RequestKind::Complaint { important: false },
        channel: Channel::Hotline,
        unit: "A-1203".to_owned(),
        owner: None,
        summary: "noise from the plant room".to_owned(),
        received_by: "night.manager".to_owned(),
        assigned_to: None,
        unit_cs_person: None,
    };
    let (id, _) = book
        .take_in(new, None, &WorkingCalendar::default(), at)
        .unwrap();
    (book, id)
}

#[test]
fn complaint_acknowledgement_pauses_while_the_desk_is_closed_and_says_when_it_resumes() {
    // rules.md §14 Complaints: 30 min in desk hours; §1.4: unstaffed 22:00–08:30.
    // t0 is 10:00 in Shanghai; 21:50 is eleven hours fifty later.
    let taken = t0() + Duration::hours(11) + mins(50);
    let (mut book, id) = complaint_in_book(taken);
    let opens = t0() + Duration::hours(22) + mins(30); // 08:30 the next day
    let clock = book.get(id).unwrap().clock(SlaKind::Acknowledged).unwrap();
    assert_eq!(clock.due_at, opens + mins(20));
    // Round the clock it would breach at 22:20; at 23:00 it is paused, not late.
    let night = taken + mins(70);
    assert!(book.run_due(night).is_empty());
    let view = book.get(id).unwrap().running_clocks(night);
    let ack = view
        .iter()
        .find(|v| v.sla == SlaKind::Acknowledged)
        .unwrap();
    assert_eq!(ack.resumes_at, Some(opens));
    // Counting again after 08:30: still on time at 08:50, breached just after.
    let counting = book.get(id).unwrap().running_clocks(opens + mins(5));
    assert_eq!(counting[0].resumes_at, None);
    assert!(book.run_due(opens + mins(20)).is_empty());
    let late = book.run_due(opens + mins(21) + Duration::seconds(1));
    assert_eq!(breached(&late), vec![SlaKind::Acknowledged]);
}

/// Issue 22 item 14, seed 003:751: a request from a unit goes to the unit's own
/// customer-service person unless the desk names someone; a person's open work is one list.
#[test]
fn a_request_goes_to_the_units_own_person_and_their_open_work_is_one_list() {
    let mut book = RequestBook::new(ServiceConfig::default(), chrono_tz::Asia::Shanghai);
    let cal = WorkingCalendar::default();
    let new = |unit: &str, named: Option<&str>| NewRequest {
        kind: RequestKind::Repair { emergency: false },
        channel: Channel::Phone,
        unit: unit.to_owned(),
        owner: None,
        summary: "door lock broken".to_owned(),
        received_by: "desk".to_owned(),
        assigned_to: named.map(str::to_owned),
        unit_cs_person: Some("zhou".to_owned()),
    };
    let (own, events) = book.take_in(new("A-1", None), None, &cal, t0()).unwrap();
    assert!(events.iter().any(|e| e.kind
        == RequestEventKind::Assigned {
            to: "zhou".to_owned()
        }));
    let (named, _) = book
        .take_in(new("A-1", Some("li")), None, &cal, t0())
        .unwrap();
    assert_eq!(book.get(named).unwrap().assigned_to.as_deref(), Some("li"));
    let (second, _) = book.take_in(new("A-2", None), None, &cal, t0()).unwrap();
    let work = |book: &RequestBook| -> Vec<RequestId> {
        book.open_work_of("zhou").map(|r| r.id).collect()
    };
    assert_eq!(work(&book), [own, second]);
    let decline = RequestAction::Decline {
        reason: "owner repairs it".to_owned(),
    };
    book.apply(second, RequestCommand::new("zhou", decline), &cal, t0())
        .unwrap();
    assert_eq!(work(&book), [own], "closed work leaves the list");
    let give = RequestAction::Assign {
        to: "li".to_owned(),
    };
    book.apply(own, RequestCommand::new("zhou", give), &cal, t0())
        .unwrap();
    assert!(work(&book).is_empty());
}

/// Issue 22 item 13, seed 001:741: work outside the desk's scope goes to a named department
/// as a work order with a deadline; the result is written on it; a delay is told to the
/// owner with its reason; a missed deadline is flagged once.
#[test]
fn work_passed_to_a_department_carries_its_deadline_result_and_the_owners_delay_notice() {
    let mut req = ordinary_repair();
    let pass = |due| RequestAction::PassOn {
        department: "engineering".to_owned(),
        task: "replace the riser valve".to_owned(),
        due_at: due,
    };
    assert_eq!(
        act(&mut req, pass(t0() - mins(1)), t0()),
        Err(ServiceError::DueInPast)
    );
    let due = t0() + Duration::days(2);
    act(&mut req, pass(due), t0() + mins(5)).unwrap();
    assert_eq!(req.state, RequestState::InProgress);
    assert!(req.clock(SlaKind::Acknowledged).unwrap().met_at.is_some());
    assert!(matches!(
        act(&mut req, pass(due), t0() + mins(6)),
        Err(ServiceError::WorkOrderOpen(7, _))
    ));
    let warn = RequestAction::WarnOwnerOfDelay {
        reason: "the valve is on order, arriving Monday".to_owned(),
    };
    let told = act(&mut req, warn, t0() + Duration::days(1)).unwrap();
    assert!(told.iter().any(|e| matches!(
        &e.kind,
        RequestEventKind::OwnerToldOfDelay { department, reason }
            if department == "engineering" && reason.contains("Monday")
    )));
    let overdue = |events: &[RequestEvent]| {
        (events.iter())
            .filter(|e| matches!(e.kind, RequestEventKind::WorkOrderOverdue { .. }))
            .count()
    };
    assert_eq!(
        overdue(&req.tick(due)),
        0,
        "not late at the deadline itself"
    );
    assert_eq!(overdue(&req.tick(due + mins(1))), 1);
    assert!(req.is_overdue(due + mins(1)));
    assert_eq!(overdue(&req.tick(due + mins(2))), 0, "flagged once");
    let result = RequestAction::WorkOrderResult {
        text: "valve replaced, riser tested".to_owned(),
    };
    act(&mut req, result, due + Duration::days(1)).unwrap();
    let order = &req.work_orders[0];
    assert_eq!(
        order.result.as_ref().map(|r| r.text.as_str()),
        Some("valve replaced, riser tested")
    );
    assert!(order.breached && req.open_work_order().is_none());
    assert_eq!(
        act(
            &mut req,
            RequestAction::WorkOrderResult {
                text: "again".to_owned()
            },
            due + Duration::days(1)
        ),
        Err(ServiceError::NoWorkOrder(7))
    );
}
