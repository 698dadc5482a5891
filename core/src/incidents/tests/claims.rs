//! The claim workflow's guards (rules.md §13.6–7) and attachment limits.

use super::*;

fn water_incident(book: &mut IncidentBook) -> IncidentId {
    open(book, builtin::WATER_INGRESS)
}

#[test]
fn the_scene_cannot_be_cleared_without_a_scene_photo_even_with_consent() {
    let mut book = book();
    let id = water_incident(&mut book);
    apply(&mut book, id, IncidentAction::RecordInsurerConsent, t0());
    assert_eq!(
        book.apply(id, cmd(IncidentAction::ClearScene), t0()),
        Err(IncidentError::NoScenePhoto)
    );
}

#[test]
fn the_scene_cannot_be_cleared_without_the_insurers_consent() {
    let mut book = book();
    let id = water_incident(&mut book);
    apply(&mut book, id, file(AttachmentKind::ScenePhoto, "p1"), t0());
    assert_eq!(
        book.apply(id, cmd(IncidentAction::ClearScene), t0()),
        Err(IncidentError::NoConsentOrOverride)
    );
    assert!(book.get(id).unwrap().claim.scene_cleared.is_none());
}

#[test]
fn the_scene_is_cleared_with_a_photo_and_consent() {
    let mut book = book();
    let id = water_incident(&mut book);
    apply(&mut book, id, file(AttachmentKind::ScenePhoto, "p1"), t0());
    apply(
        &mut book,
        id,
        IncidentAction::RecordInsurerConsent,
        t0() + mins(30),
    );
    let events = apply(&mut book, id, IncidentAction::ClearScene, t0() + mins(40));
    assert_eq!(events[0].kind, IncidentEventKind::SceneCleared);
}

#[test]
fn the_emergency_repair_override_needs_a_before_repair_photo() {
    let mut book = book();
    let id = water_incident(&mut book);
    apply(&mut book, id, file(AttachmentKind::ScenePhoto, "p1"), t0());
    let declare = || cmd(IncidentAction::DeclareEmergencyRepair);
    assert_eq!(
        book.apply(id, declare(), t0()),
        Err(IncidentError::NoBeforeRepairPhoto)
    );
    apply(
        &mut book,
        id,
        file(AttachmentKind::BeforeRepairPhoto, "p2"),
        t0() + mins(1),
    );
    book.apply(id, declare(), t0() + mins(2)).unwrap();
    apply(&mut book, id, IncidentAction::StartRepair, t0() + mins(3));
    apply(&mut book, id, IncidentAction::ClearScene, t0() + mins(60));
    assert!(book.get(id).unwrap().claim.scene_cleared.is_some());
}

#[test]
fn repair_waits_for_the_loss_estimate_and_the_estimate_comes_first() {
    let mut book = book();
    let id = water_incident(&mut book);
    assert_eq!(
        book.apply(id, cmd(IncidentAction::StartRepair), t0()),
        Err(IncidentError::NoLossEstimate)
    );
    let estimate = |fen| cmd(IncidentAction::EstimateLoss { amount_fen: fen });
    assert_eq!(
        book.apply(id, estimate(-1), t0()),
        Err(IncidentError::NegativeAmount(-1))
    );
    book.apply(id, estimate(1_250_000), t0()).unwrap();
    apply(&mut book, id, IncidentAction::StartRepair, t0() + mins(10));
    assert_eq!(
        book.apply(id, estimate(9), t0() + mins(20)),
        Err(IncidentError::RepairAlreadyStarted)
    );
    assert_eq!(
        book.get(id)
            .unwrap()
            .claim
            .loss_estimate
            .as_ref()
            .map(|(_, fen)| *fen),
        Some(1_250_000)
    );
}

#[test]
fn filing_the_claim_notice_meets_its_clock_and_ticks_the_checklist() {
    let mut book = book();
    let id = water_incident(&mut book);
    apply(
        &mut book,
        id,
        IncidentAction::FileClaimItem {
            item: ClaimItem::ClaimNotice,
        },
        t0() + Duration::days(2),
    );
    let incident = book.get(id).unwrap();
    assert!(
        incident
            .clock(SlaKind::ClaimNotice)
            .unwrap()
            .met_at
            .is_some()
    );
    assert_eq!(
        incident.claim.checklist()[0],
        (ClaimItem::ClaimNotice, true)
    );
    assert!(!incident.claim.is_complete());
    for item in ClaimItem::ALL {
        apply(
            &mut book,
            id,
            IncidentAction::FileClaimItem { item },
            t0() + Duration::days(2),
        );
    }
    assert!(book.get(id).unwrap().claim.is_complete());
}

#[test]
fn notifying_the_insurer_keeps_the_call_and_meets_the_clock() {
    let mut book = book();
    let id = water_incident(&mut book);
    let call = InsurerCall {
        policy_number: "PICC-2024-0099".to_owned(),
        ..call_at(t0() + Duration::hours(3))
    };
    apply(
        &mut book,
        id,
        IncidentAction::NotifyInsurer(call),
        t0() + Duration::hours(3),
    );
    apply(
        &mut book,
        id,
        IncidentAction::FileIncidentReport,
        t0() + Duration::hours(4),
    );
    let incident = book.get(id).unwrap();
    assert_eq!(
        incident
            .claim
            .insurer_call
            .as_ref()
            .unwrap()
            .1
            .policy_number,
        "PICC-2024-0099"
    );
    assert!(
        !breaches(&book.tick(t0() + Duration::hours(13)))
            .iter()
            .any(|s| matches!(s, SlaKind::InsurerNotified | SlaKind::IncidentReport))
    );
}

#[test]
fn the_police_report_meets_the_theft_clock() {
    let mut book = book();
    let id = open(&mut book, builtin::THEFT_ROBBERY);
    apply(
        &mut book,
        id,
        file(AttachmentKind::PoliceCertificate, "cert-1"),
        t0() + Duration::hours(5),
    );
    apply(
        &mut book,
        id,
        IncidentAction::ReportToPolice,
        t0() + Duration::hours(5),
    );
    assert!(!breaches(&book.tick(t0() + Duration::hours(25))).contains(&SlaKind::PoliceReport));
}

#[test]
fn an_attachment_over_the_size_limit_or_of_a_strange_type_is_refused() {
    let mut book = book();
    let id = water_incident(&mut book);
    let mut big = NewAttachment {
        id: "v1".to_owned(),
        kind: AttachmentKind::ScenePhoto,
        content_type: "image/jpeg".to_owned(),
        size_bytes: 21 * 1024 * 1024,
        caption: String::new(),
    };
    let refused = book.apply(id, cmd(IncidentAction::Attach(big.clone())), t0());
    assert!(matches!(refused, Err(IncidentError::AttachmentRefused(_))));
    big.size_bytes = 10;
    big.content_type = "application/x-msdownload".to_owned();
    let refused = book.apply(id, cmd(IncidentAction::Attach(big)), t0());
    assert!(matches!(refused, Err(IncidentError::AttachmentRefused(_))));
    assert!(book.get(id).unwrap().attachments.is_empty());
}

/// rules.md §13.4: the call names when, whom, the reference and the place; a blank field is
/// refused by name and changes nothing.
#[test]
fn an_insurer_call_with_a_blank_field_is_refused_by_name() {
    let mut book = book();
    let id = water_incident(&mut book);
    let blank = InsurerCall {
        reference: " ".to_owned(),
        ..call_at(t0() + mins(90))
    };
    assert_eq!(
        book.apply(
            id,
            cmd(IncidentAction::NotifyInsurer(blank)),
            t0() + mins(90)
        ),
        Err(IncidentError::BadCall {
            field: "reference",
            reason: "must not be empty"
        })
    );
    let backwards = InsurerCall {
        under_control_at: Some(t0() + mins(100)),
        ..call_at(t0() + mins(90))
    };
    assert!(matches!(
        book.apply(
            id,
            cmd(IncidentAction::NotifyInsurer(backwards)),
            t0() + mins(90)
        ),
        Err(IncidentError::BadCall {
            field: "under_control_at",
            ..
        })
    ));
    assert!(book.get(id).unwrap().claim.insurer_call.is_none());
}

/// rules.md §13.4, seed 004:135/171: with the insurer clock anchored at "handled", the
/// under-control time the call records starts the 12 h clock, so a call 13 h after
/// control is late even though the incident is still open.
#[test]
fn the_under_control_time_starts_the_insurer_clock_when_anchored_at_handled() {
    let config = IncidentsConfig {
        insurer_anchor: SlaAnchor::Resolved,
        ..IncidentsConfig::default()
    };
    let mut book = IncidentBook::new(config).unwrap();
    let id = water_incident(&mut book);
    let at = t0() + Duration::hours(14);
    let events = apply(
        &mut book,
        id,
        IncidentAction::NotifyInsurer(call_at(at)),
        at,
    );
    let clock = book
        .get(id)
        .unwrap()
        .clock(SlaKind::InsurerNotified)
        .unwrap()
        .clone();
    assert_eq!(clock.started_at, t0() + mins(60));
    assert_eq!(clock.due_at, t0() + Duration::hours(13));
    assert!(clock.breached);
    assert!(events.iter().any(|e| matches!(
        e.kind,
        IncidentEventKind::SlaMet {
            sla: SlaKind::InsurerNotified,
            late: true
        }
    )));
    let call = &book.get(id).unwrap().claim.insurer_call.as_ref().unwrap().1;
    assert_eq!(
        (call.under_control_at, call.spoken_to.as_str()),
        (Some(t0() + mins(60)), "Ms Zhou")
    );
}

/// A new call missing its time is refused by name (an old stored one still loads:
/// `tests/it/rules.rs`).
#[test]
fn an_insurer_call_without_its_time_is_refused_by_name() {
    let mut book = book();
    let id = water_incident(&mut book);
    let missing = InsurerCall {
        called_at: None,
        ..call_at(t0())
    };
    assert_eq!(
        book.apply(id, cmd(IncidentAction::NotifyInsurer(missing)), t0()),
        Err(IncidentError::BadCall {
            field: "called_at",
            reason: "is required"
        })
    );
}
