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
    };
    ServiceRequest::new(
        7,
        new,
        &ServiceConfig::default(),
        &WorkingCalendar::default(),
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
        &WorkingCalendar::default(),
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
