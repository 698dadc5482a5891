//! Valid and invalid transitions, the timeline, cancellation, households and the book.

use super::*;

fn states(
    book: &IncidentBook,
    id: IncidentId,
) -> Vec<(IncidentState, IncidentState, String, String)> {
    book.get(id)
        .unwrap()
        .timeline
        .iter()
        .filter_map(|e| match e.kind {
            IncidentEventKind::StateChanged { from, to } => {
                Some((from, to, e.actor.clone(), e.note.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn an_incident_walks_the_whole_life_and_each_step_names_actor_and_note() {
    use IncidentState::*;
    let mut book = book();
    // A repair: an accident would also need its evidence first (see `evidence.rs`).
    let id = open(&mut book, builtin::REPAIR);
    let steps = [
        IncidentAction::Dispatch { to: None },
        IncidentAction::ArriveOnSite,
        IncidentAction::Resolve,
        IncidentAction::FollowUp,
        IncidentAction::Close,
    ];
    for (i, action) in steps.into_iter().enumerate() {
        book.apply(
            id,
            cmd(action).with_note(&format!("step {i}")),
            t0() + mins(i as i64),
        )
        .unwrap();
    }
    let expected = [
        (Reported, Dispatched),
        (Dispatched, OnSite),
        (OnSite, Resolved),
        (Resolved, FollowedUp),
        (FollowedUp, Closed),
    ];
    let got = states(&book, id);
    assert_eq!(got.len(), expected.len());
    for (i, ((from, to, actor, note), (want_from, want_to))) in got.iter().zip(expected).enumerate()
    {
        assert_eq!((*from, *to), (want_from, want_to));
        assert_eq!(
            (actor.as_str(), note.clone()),
            ("li.wei", format!("step {i}"))
        );
    }
    assert!(book.open_incidents().is_empty());
}

#[test]
fn someone_already_there_may_arrive_on_site_without_a_dispatch() {
    let mut book = book();
    let id = open(&mut book, builtin::FIRE);
    apply(&mut book, id, IncidentAction::ArriveOnSite, t0() + mins(1));
    assert_eq!(book.get(id).unwrap().state, IncidentState::OnSite);
}

#[test]
fn out_of_order_steps_are_refused_and_change_nothing() {
    let mut book = book();
    let id = open(&mut book, builtin::WATER_INGRESS);
    let before = book.get(id).unwrap().clone();
    for (action, name) in [
        (IncidentAction::Resolve, "resolve"),
        (IncidentAction::FollowUp, "follow up"),
        (IncidentAction::Close, "close"),
        (IncidentAction::MakeSafe, "make safe"),
    ] {
        let err = book.apply(id, cmd(action), t0()).unwrap_err();
        assert_eq!(
            err,
            IncidentError::InvalidTransition {
                from: IncidentState::Reported,
                action: name
            }
        );
    }
    assert_eq!(book.get(id).unwrap(), &before);
    let arrived = apply(&mut book, id, IncidentAction::ArriveOnSite, t0());
    let err = book
        .apply(id, cmd(IncidentAction::Dispatch { to: None }), t0())
        .unwrap_err();
    assert_eq!(
        err,
        IncidentError::InvalidTransition {
            from: IncidentState::OnSite,
            action: "dispatch"
        }
    );
    assert_eq!(
        book.get(id).unwrap().timeline.len(),
        before.timeline.len() + arrived.len()
    );
}

#[test]
fn closing_needs_the_follow_up_first() {
    let mut book = book();
    let id = open(&mut book, builtin::REPAIR);
    apply(&mut book, id, IncidentAction::Dispatch { to: None }, t0());
    apply(&mut book, id, IncidentAction::Resolve, t0() + mins(30));
    let err = book
        .apply(id, cmd(IncidentAction::Close), t0() + mins(31))
        .unwrap_err();
    assert_eq!(
        err,
        IncidentError::InvalidTransition {
            from: IncidentState::Resolved,
            action: "close"
        }
    );
}

#[test]
fn cancelling_needs_a_reason_and_keeps_it() {
    let mut book = book();
    let id = open(&mut book, builtin::GAS);
    let reason = IncidentAction::Cancel {
        reason: "  ".to_owned(),
    };
    assert_eq!(
        book.apply(id, cmd(reason), t0()),
        Err(IncidentError::MissingReason)
    );
    let reason = IncidentAction::Cancel {
        reason: "false alarm: cooking smell".to_owned(),
    };
    apply(&mut book, id, reason, t0() + mins(2));
    let incident = book.get(id).unwrap();
    assert_eq!(incident.state, IncidentState::Cancelled);
    assert_eq!(
        incident.cancel_reason.as_deref(),
        Some("false alarm: cooking smell")
    );
    assert_eq!(states(&book, id)[0].3, "false alarm: cooking smell");
}

#[test]
fn a_resolved_incident_can_still_be_cancelled() {
    let mut book = book();
    let id = open(&mut book, builtin::REPAIR);
    apply(&mut book, id, IncidentAction::Dispatch { to: None }, t0());
    apply(&mut book, id, IncidentAction::Resolve, t0());
    apply(
        &mut book,
        id,
        IncidentAction::Cancel {
            reason: "duplicate of #7".to_owned(),
        },
        t0(),
    );
    assert_eq!(book.get(id).unwrap().state, IncidentState::Cancelled);
}

#[test]
fn a_cancelled_incident_takes_no_changes_and_its_clocks_stop() {
    let mut book = book();
    let id = open(&mut book, builtin::FIRE);
    apply(
        &mut book,
        id,
        IncidentAction::Cancel {
            reason: "test of the panel".to_owned(),
        },
        t0(),
    );
    let err = book
        .apply(id, cmd(IncidentAction::AddNote), t0())
        .unwrap_err();
    assert_eq!(
        err,
        IncidentError::NotOpen {
            id,
            state: IncidentState::Cancelled
        }
    );
    assert!(book.tick(t0() + Duration::days(5)).is_empty());
}

#[test]
fn an_unknown_category_or_incident_is_refused() {
    let mut book = book();
    assert_eq!(
        book.open(new_incident("meteor"), t0()),
        Err(IncidentError::UnknownCategory("meteor".to_owned()))
    );
    assert_eq!(
        book.apply(42, cmd(IncidentAction::AddNote), t0()),
        Err(IncidentError::NotFound(42))
    );
}

#[test]
fn a_site_can_add_its_own_category() {
    let mut config = IncidentsConfig::default();
    config.catalogue.extra.push(CategorySpec {
        key: "typhoon".to_owned(),
        name: "台风".to_owned(),
        department: Department::Engineering,
        accident: false,
        clocks: vec![SlaRule {
            sla: SlaKind::OnSite,
            anchor: SlaAnchor::Reported,
            within: Span::Minutes(10),
            desk_hours: false,
        }],
    });
    let mut book = IncidentBook::new(config).unwrap();
    let id = open(&mut book, "typhoon");
    assert_eq!(
        book.get(id).unwrap().clock(SlaKind::OnSite).unwrap().due_at,
        t0() + mins(10)
    );
}

#[test]
fn affected_households_keep_contact_time_damage_and_compensation() {
    let mut book = book();
    let id = open(&mut book, builtin::WATER_INGRESS);
    let link = |unit: &str| IncidentAction::LinkHousehold {
        unit: unit.to_owned(),
        owner: Some("王先生".to_owned()),
    };
    apply(&mut book, id, link("B2-01"), t0());
    assert_eq!(
        book.apply(id, cmd(link("B2-01")), t0()),
        Err(IncidentError::HouseholdAlreadyLinked("B2-01".to_owned()))
    );
    let unit = "B2-01".to_owned();
    apply(
        &mut book,
        id,
        IncidentAction::ContactHousehold { unit: unit.clone() },
        t0() + mins(5),
    );
    apply(
        &mut book,
        id,
        IncidentAction::ContactHousehold { unit: unit.clone() },
        t0() + mins(50),
    );
    apply(
        &mut book,
        id,
        IncidentAction::ListDamage {
            unit: unit.clone(),
            item: "sofa".to_owned(),
        },
        t0() + mins(60),
    );
    let outcome = "offset 800 yuan against fees".to_owned();
    apply(
        &mut book,
        id,
        IncidentAction::RecordCompensation {
            unit: unit.clone(),
            outcome: outcome.clone(),
        },
        t0(),
    );
    let household = book.get(id).unwrap().household("B2-01").unwrap();
    assert_eq!(household.contacted_at, Some(t0() + mins(5)));
    assert_eq!(household.damaged_items, vec!["sofa".to_owned()]);
    assert_eq!(household.compensation, Some(outcome));
    let missing = IncidentAction::ContactHousehold {
        unit: "C1-09".to_owned(),
    };
    assert_eq!(
        book.apply(id, cmd(missing), t0()),
        Err(IncidentError::UnknownHousehold("C1-09".to_owned()))
    );
}

#[test]
fn restoring_moves_the_id_counter_past_the_restored_incidents() {
    let mut old = book();
    for _ in 0..3 {
        open(&mut old, builtin::REPAIR);
    }
    let saved: Vec<Incident> = old.open_incidents().into_iter().cloned().collect();
    let mut book = book();
    book.restore(saved);
    assert_eq!(open(&mut book, builtin::FIRE), 4);
    assert_eq!(book.open_incidents().len(), 4);
}

#[test]
fn figures_count_open_incidents_by_category_and_state_and_breaches_by_clock() {
    let mut book = book();
    let fire = open(&mut book, builtin::FIRE);
    open(&mut book, builtin::FIRE);
    apply(&mut book, fire, IncidentAction::Dispatch { to: None }, t0());
    book.tick(t0() + mins(4));
    let figures = book.figures();
    assert_eq!(
        figures
            .open
            .get(&(builtin::FIRE.to_owned(), IncidentState::Reported)),
        Some(&1)
    );
    assert_eq!(
        figures
            .open
            .get(&(builtin::FIRE.to_owned(), IncidentState::Dispatched)),
        Some(&1)
    );
    assert_eq!(figures.breaches.get(&SlaKind::OnSite), Some(&2));
}

#[test]
fn a_config_whose_alarm_hint_names_a_missing_category_is_refused() {
    let mut config = IncidentsConfig::default();
    config
        .alarm_policy
        .category_hints
        .insert("quake".to_owned(), "earthquake".to_owned());
    config.calendar.time_zone = "Nowhere/Land".to_owned();
    let err = IncidentBook::new(config).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
}

#[test]
fn an_incident_clock_in_desk_hours_is_refused() {
    let mut config = IncidentsConfig::default();
    config.catalogue.extra.push(CategorySpec {
        key: "lift".to_owned(),
        name: "电梯".to_owned(),
        department: Department::Engineering,
        accident: false,
        clocks: vec![SlaRule {
            sla: SlaKind::OnSite,
            anchor: SlaAnchor::Reported,
            within: Span::Minutes(30),
            desk_hours: true,
        }],
    });
    let problems = IncidentBook::new(config).unwrap_err().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("cannot count desk hours")),
        "{problems:?}"
    );
}
