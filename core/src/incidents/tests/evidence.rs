//! An insured accident keeps its evidence steps (rules.md §13.3–7): it resolves only with
//! the incident report and insurer call on file, closes only with the claim notice too,
//! unless a manager waives them with a reason; a closed accident's open clocks still breach.

use super::*;

fn state(book: &IncidentBook, id: IncidentId) -> IncidentState {
    book.get(id).unwrap().state
}

fn refused(book: &mut IncidentBook, id: IncidentId, action: IncidentAction) -> IncidentError {
    let before = book.get(id).unwrap().clone();
    let err = book.apply(id, cmd(action), t0() + mins(40)).unwrap_err();
    assert_eq!(
        book.get(id).unwrap(),
        &before,
        "a refused step changes nothing"
    );
    err
}

fn waive(reason: &str) -> IncidentAction {
    IncidentAction::WaiveEvidence {
        reason: reason.to_owned(),
    }
}

#[test]
fn an_accident_resolves_only_after_its_report_and_insurer_call() {
    let mut book = book();
    let id = open(&mut book, builtin::WATER_INGRESS);
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(2));
    assert_eq!(
        refused(&mut book, id, IncidentAction::Resolve),
        IncidentError::EvidenceOpen {
            action: "resolve",
            open: vec![SlaKind::IncidentReport, SlaKind::InsurerNotified],
        }
    );
    apply(
        &mut book,
        id,
        IncidentAction::FileIncidentReport,
        t0() + mins(30),
    );
    apply(&mut book, id, insurer_call(), t0() + mins(35));
    apply(&mut book, id, IncidentAction::Resolve, t0() + mins(40));
    assert_eq!(state(&book, id), IncidentState::Resolved);
}

#[test]
fn a_cleared_scene_does_not_stand_in_for_the_claim_notice_at_close() {
    let mut book = book();
    let id = open(&mut book, builtin::WATER_INGRESS);
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(2));
    apply(
        &mut book,
        id,
        file(AttachmentKind::ScenePhoto, "p1"),
        t0() + mins(3),
    );
    apply(
        &mut book,
        id,
        IncidentAction::RecordInsurerConsent,
        t0() + mins(4),
    );
    apply(&mut book, id, IncidentAction::ClearScene, t0() + mins(5));
    apply(
        &mut book,
        id,
        IncidentAction::FileIncidentReport,
        t0() + mins(30),
    );
    apply(&mut book, id, insurer_call(), t0() + mins(35));
    apply(&mut book, id, IncidentAction::Resolve, t0() + mins(36));
    apply(&mut book, id, IncidentAction::FollowUp, t0() + mins(37));
    assert_eq!(
        refused(&mut book, id, IncidentAction::Close),
        IncidentError::EvidenceOpen {
            action: "close",
            open: vec![SlaKind::ClaimNotice],
        }
    );
    let notice = IncidentAction::FileClaimItem {
        item: ClaimItem::ClaimNotice,
    };
    apply(&mut book, id, notice, t0() + mins(38));
    apply(&mut book, id, IncidentAction::Close, t0() + mins(39));
    assert_eq!(state(&book, id), IncidentState::Closed);
}

#[test]
fn a_theft_closes_only_after_the_police_report() {
    let mut book = book();
    let id = open(&mut book, builtin::THEFT_ROBBERY);
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(2));
    apply(
        &mut book,
        id,
        IncidentAction::FileIncidentReport,
        t0() + mins(3),
    );
    apply(&mut book, id, insurer_call(), t0() + mins(4));
    let notice = IncidentAction::FileClaimItem {
        item: ClaimItem::ClaimNotice,
    };
    apply(&mut book, id, notice, t0() + mins(5));
    apply(&mut book, id, IncidentAction::Resolve, t0() + mins(6));
    apply(&mut book, id, IncidentAction::FollowUp, t0() + mins(7));
    assert_eq!(
        refused(&mut book, id, IncidentAction::Close),
        IncidentError::EvidenceOpen {
            action: "close",
            open: vec![SlaKind::PoliceReport],
        }
    );
}

#[test]
fn a_waiver_needs_a_reason_and_only_an_accident_takes_one() {
    let mut book = book();
    let id = open(&mut book, builtin::WATER_INGRESS);
    assert_eq!(
        refused(&mut book, id, waive("  ")),
        IncidentError::MissingReason
    );
    let repair = open(&mut book, builtin::REPAIR);
    assert!(matches!(
        refused(&mut book, repair, waive("no need")),
        IncidentError::InvalidTransition { .. }
    ));
}

#[test]
fn a_manager_closes_with_evidence_open_the_reason_is_kept_and_the_clocks_still_breach() {
    let mut book = book();
    let id = open(&mut book, builtin::WATER_INGRESS);
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(2));
    let reason = "loss below the policy excess; insurer told not to open a case";
    apply(&mut book, id, waive(reason), t0() + mins(20));
    for (i, step) in [
        IncidentAction::Resolve,
        IncidentAction::FollowUp,
        IncidentAction::Close,
    ]
    .into_iter()
    .enumerate()
    {
        apply(&mut book, id, step, t0() + mins(21 + i as i64));
    }
    let incident = book.get(id).unwrap();
    assert_eq!(incident.state, IncidentState::Closed);
    assert_eq!(incident.evidence_waiver.as_ref().unwrap().1, reason);
    let waived = incident
        .timeline
        .iter()
        .find_map(|e| match &e.kind {
            IncidentEventKind::EvidenceWaived { reason, open } => Some((reason, open, &e.note)),
            _ => None,
        })
        .unwrap();
    let open = [
        SlaKind::IncidentReport,
        SlaKind::InsurerNotified,
        SlaKind::ClaimNotice,
    ];
    assert_eq!(
        (waived.0.as_str(), waived.1.as_slice()),
        (reason, &open[..])
    );
    assert_eq!(waived.2, reason, "the reason shows on the timeline");

    // Closed, yet the 12 h report and insurer call and the 3-day claim notice still count.
    let board: Vec<SlaKind> = book.board(t0() + mins(30)).iter().map(|c| c.sla).collect();
    assert_eq!(board, open);
    let at_12h = book.tick(t0() + Duration::hours(12) + mins(1));
    assert_eq!(
        breaches(&at_12h),
        [SlaKind::IncidentReport, SlaKind::InsurerNotified]
    );
    // The report, late, can still go on file after the close and meets its clock late.
    let late = apply(
        &mut book,
        id,
        IncidentAction::FileIncidentReport,
        t0() + Duration::hours(13),
    );
    assert!(late.iter().any(|e| matches!(
        e.kind,
        IncidentEventKind::SlaMet {
            sla: SlaKind::IncidentReport,
            late: true
        }
    )));
    let at_3d = book.tick(t0() + Duration::days(3) + mins(1));
    assert_eq!(breaches(&at_3d), [SlaKind::ClaimNotice]);
    assert!(
        book.tick(t0() + Duration::days(4)).is_empty(),
        "each breach once"
    );
    assert!(matches!(
        book.apply(
            id,
            cmd(IncidentAction::Dispatch { to: None }),
            t0() + Duration::days(4)
        ),
        Err(IncidentError::NotOpen { .. })
    ));
}

/// Issue 22 item 2: a routine fault is a work order with the §14 repair deadlines, not an
/// accident; an engineer raises it to one, and it then takes the accident's department,
/// clocks and evidence guard, keeping the on-site step already met.
#[test]
fn a_fault_is_a_work_order_until_an_engineer_raises_it_to_an_accident() {
    let mut book = book();
    let id = open(&mut book, builtin::FAULT);
    let fault = book.get(id).unwrap();
    assert!(!fault.accident);
    assert_eq!(fault.department, Department::Engineering);
    assert_eq!(
        fault.clock(SlaKind::OnSite).unwrap().due_at,
        t0() + Duration::hours(24),
        "the ordinary-repair on-site deadline, not the accident's 3 minutes"
    );
    assert!(fault.clock(SlaKind::InsurerNotified).is_none());
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(30));

    let to = |category: &str| IncidentAction::RaiseToAccident {
        category: category.to_owned(),
    };
    assert_eq!(
        refused(&mut book, id, to(builtin::REPAIR)),
        IncidentError::NotAnAccident(builtin::REPAIR.to_owned())
    );
    let events = apply(
        &mut book,
        id,
        to(builtin::WATER_INGRESS),
        t0() + Duration::hours(2),
    );
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        IncidentEventKind::RaisedToAccident { from, to } if from == "fault" && to == "water_ingress"
    )));
    let raised = book.get(id).unwrap();
    assert!(raised.accident);
    assert_eq!(raised.category, builtin::WATER_INGRESS);
    assert_eq!(raised.department, Department::CustomerService);
    assert!(raised.clock(SlaKind::OnSite).unwrap().met_at.is_some());
    assert_eq!(
        raised.clock(SlaKind::IncidentReport).unwrap().due_at,
        t0() + Duration::hours(12),
        "the report counts from occurrence"
    );
    assert!(matches!(
        refused(&mut book, id, IncidentAction::Resolve),
        IncidentError::EvidenceOpen { .. }
    ));
    assert!(matches!(
        refused(&mut book, id, to(builtin::FIRE)),
        IncidentError::InvalidTransition { .. }
    ));
}
