//! The service-request and hand-over commands against real books at a manual clock's
//! `now`: the decisions that moved here from the HTTP handlers and the deadline task.

use chrono::Duration;
use sitewatch_core::clock::Clock;
use sitewatch_core::incidents::{
    Channel, HandoverAction, IncidentSource, Kpi, NewRequest, RequestAction, RequestCommand,
    RequestEventKind, RequestKind, ServiceError,
};
use sitewatch_core::patrol::PatrolConfig;

use super::commands::{self, Answer, CommandError, EngineCommand, HandoverCmd, LinkTo, RequestCmd};
use super::tests::{books, clock};
use super::{Books, Output};

fn new_request(kind: RequestKind) -> NewRequest {
    NewRequest {
        kind,
        channel: Channel::Phone,
        unit: "1-0301".into(),
        owner: None,
        summary: "卫生间漏水".into(),
        received_by: "desk-chen".into(),
        assigned_to: None,
        unit_cs_person: None,
    }
}

fn run(b: &mut Books, cmd: EngineCommand) -> Result<(Answer, Vec<Output>), CommandError> {
    commands::handle(b, cmd, clock().now())
}

fn take_in(b: &mut Books, kind: RequestKind) -> i64 {
    let cmd = RequestCmd::TakeIn {
        new: new_request(kind),
        incident: None,
    };
    match run(b, EngineCommand::Request(cmd)) {
        Ok((Answer::Request(a), _)) => a.request.id,
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_intake_goes_out_as_request_outputs_and_names_only_an_incident_that_exists() {
    let mut b = books(PatrolConfig::default());
    let cmd = RequestCmd::TakeIn {
        new: new_request(RequestKind::Repair { emergency: false }),
        incident: Some(7),
    };
    let refused = run(&mut b, EngineCommand::Request(cmd));
    assert!(matches!(refused, Err(CommandError::UnknownIncident(7))));
    let cmd = RequestCmd::TakeIn {
        new: new_request(RequestKind::Repair { emergency: false }),
        incident: None,
    };
    let (_, out) = run(&mut b, EngineCommand::Request(cmd)).expect("taken in");
    let received = out.iter().any(|o| {
        matches!(o, Output::Request(ev, RequestKind::Repair { .. })
            if matches!(ev.kind, RequestEventKind::Received { .. }))
    });
    assert!(received, "{out:?}");
}

#[test]
fn a_link_opens_an_incident_sourced_from_the_request_at_its_unit_once() {
    let mut b = books(PatrolConfig::default());
    let id = take_in(&mut b, RequestKind::Complaint { important: false });
    let open = LinkTo::Open {
        category: "complaint".into(),
        title: "楼上噪音".into(),
    };
    let link = |to| {
        EngineCommand::Request(RequestCmd::Link {
            id,
            actor: "desk-chen".into(),
            to,
        })
    };
    let (answer, out) = run(&mut b, link(open)).expect("linked");
    let Answer::Request(a) = answer else {
        panic!("{answer:?}")
    };
    let incident = b
        .incidents
        .get(a.request.incident.expect("linked"))
        .expect("opened");
    assert_eq!(incident.location, "1-0301");
    assert_eq!(incident.source, IncidentSource::ServiceRequest(id));
    assert!(out.iter().any(|o| matches!(o, Output::Incident(_))));
    let opened = incident.id;
    let again = run(&mut b, link(LinkTo::Incident(opened)));
    assert!(
        matches!(
            again,
            Err(CommandError::Request(ServiceError::AlreadyLinked { .. }))
        ),
        "{again:?}"
    );
}

#[test]
fn a_hand_over_lists_open_repairs_but_not_suggestions() {
    let mut b = books(PatrolConfig::default());
    let repair = take_in(&mut b, RequestKind::Repair { emergency: false });
    take_in(&mut b, RequestKind::Suggestion);
    let start = HandoverCmd::Start {
        outgoing: "night-wang".into(),
        note: Some("B2 水泵房需再巡一次".into()),
    };
    let (answer, out) = run(&mut b, EngineCommand::Handover(start)).expect("started");
    let Answer::Handover(h) = answer else {
        panic!("{answer:?}")
    };
    let refs: Vec<&str> = (h.handover.entries.iter())
        .map(|e| e.item.reference.as_str())
        .collect();
    assert_eq!(refs, vec![format!("request:{repair}")]);
    assert_eq!(out.len(), 2, "started and noted: {out:?}");
    let ack = HandoverCmd::Step {
        id: h.id,
        actor: "night-wang".into(),
        action: HandoverAction::Complete,
    };
    assert!(run(&mut b, EngineCommand::Handover(ack)).is_err());
}

#[test]
fn the_engine_tick_chases_an_overdue_repair_once() {
    let mut b = books(PatrolConfig::default());
    let id = take_in(&mut b, RequestKind::Repair { emergency: false });
    let later = clock().now() + Duration::minutes(45);
    let chased = b.requests.run_due(later);
    let out = commands::request_outputs(&b, &chased);
    let chasers = (out.iter())
        .filter(|o| {
            matches!(o, Output::Request(ev, _)
                if ev.request == id && matches!(ev.kind, RequestEventKind::ChaserIssued { .. }))
        })
        .count();
    assert_eq!(chasers, 1);
    assert!(b.requests.run_due(later + Duration::minutes(5)).is_empty());
}

fn responses(kpis: &[Kpi]) -> (usize, usize) {
    let k = kpis.iter().find(|k| k.name == "responses_in_time");
    k.map(|k| (k.count, k.of)).expect("responses_in_time")
}

#[test]
fn the_month_kpis_are_counted_again_once_a_minute_of_business_time_has_passed() {
    let mut b = books(PatrolConfig::default());
    let now = clock().now();
    let first = b
        .kpis
        .run_due(&b.requests, now)
        .expect("the first tick counts");
    assert_eq!(responses(&first), (0, 0));
    let id = take_in(&mut b, RequestKind::Repair { emergency: false });
    let step = RequestCommand::new("desk-chen", RequestAction::Acknowledge);
    run(
        &mut b,
        EngineCommand::Request(RequestCmd::Step { id, step }),
    )
    .expect("acknowledged");
    let within = now + Duration::seconds(59);
    assert!(
        b.kpis.run_due(&b.requests, within).is_none(),
        "not within the minute"
    );
    let later = b.kpis.run_due(&b.requests, now + Duration::seconds(60));
    assert_eq!(responses(&later.expect("a minute on")), (1, 1));
}
