//! Shelving, suppression by design and out of service.

use super::*;

fn shelve(
    e: &mut AlarmEngine,
    until: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Vec<AlarmEvent>, AlarmError> {
    let cmd = AlarmCommand::Shelve {
        alarm: HIGH.into(),
        actor: "li.wei".into(),
        reason: "sensor being recalibrated".into(),
        until,
    };
    e.command(cmd, at)
}

fn suppress(
    e: &mut AlarmEngine,
    scope: SuppressScope,
    until: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Vec<AlarmEvent> {
    let cmd = AlarmCommand::Suppress {
        scope,
        reason: "fire-system test".into(),
        actor: "zhang.min".into(),
        until,
    };
    e.command(cmd, at).expect("valid suppression")
}

#[test]
fn shelved_alarm_leaves_the_console_and_its_expiry_raises_it_again() {
    let mut e = engine(vec![high_rule()]);
    feed(&mut e, "tank.level", 90.0, t(0));
    let out = shelve(&mut e, t(mins(30)), t(10)).expect("valid shelve");
    assert_eq!(
        transitions(&out),
        vec![Transition::Shelved { until: t(mins(30)) }]
    );
    assert_eq!(out[0].note.as_deref(), Some("sensor being recalibrated"));
    let shelf = e
        .alarm(HIGH)
        .and_then(|a| a.shelved.clone())
        .expect("shelved");
    assert_eq!(shelf.by, "li.wei");
    assert!(
        e.tick(t(mins(29))).is_empty(),
        "no escalation or raise while shelved"
    );
    let expired = e.tick(t(mins(30)));
    assert_eq!(
        lifecycle(&expired),
        vec![Transition::Unshelved { expired: true }, Transition::Raised]
    );
    assert_eq!(expired[0].actor, None);
    assert_eq!(state(&e, HIGH), AlarmState::UnackActive);
}

#[test]
fn shelved_alarm_whose_condition_went_away_stays_normal_when_unshelved() {
    let mut e = engine(vec![high_rule()]);
    feed(&mut e, "tank.level", 90.0, t(0));
    shelve(&mut e, t(mins(30)), t(10)).expect("valid shelve");
    assert!(feed(&mut e, "tank.level", 95.0, t(20)).is_empty());
    assert!(
        feed(&mut e, "tank.level", 50.0, t(30)).is_empty(),
        "clears silently while shelved"
    );
    let cmd = AlarmCommand::Unshelve {
        alarm: HIGH.into(),
        actor: "li.wei".into(),
    };
    let out = e.command(cmd, t(40)).expect("shelved");
    assert_eq!(
        transitions(&out),
        vec![Transition::Unshelved { expired: false }]
    );
    assert_eq!(state(&e, HIGH), AlarmState::Normal);
}

#[test]
fn shelving_into_the_past_or_without_a_reason_is_refused() {
    let mut e = engine(vec![high_rule()]);
    assert!(matches!(
        shelve(&mut e, t(0), t(0)),
        Err(AlarmError::EndsInPast(_))
    ));
    let cmd = AlarmCommand::Shelve {
        alarm: HIGH.into(),
        actor: "li.wei".into(),
        reason: " ".into(),
        until: t(60),
    };
    assert_eq!(
        e.command(cmd, t(0)),
        Err(AlarmError::MissingReason("shelve"))
    );
    let cmd = AlarmCommand::Unshelve {
        alarm: HIGH.into(),
        actor: "li.wei".into(),
    };
    assert_eq!(
        e.command(cmd, t(0)),
        Err(AlarmError::NotShelved(HIGH.into()))
    );
}

#[test]
fn device_suppression_blocks_raises_and_raises_when_the_window_ends_with_the_condition_present() {
    let mut e = engine(vec![high_rule()]);
    let out = suppress(
        &mut e,
        SuppressScope::Device("tank".into()),
        Some(t(mins(60))),
        t(0),
    );
    assert!(transitions(&out).contains(&Transition::Suppressed));
    assert!(
        feed(&mut e, "tank.level", 90.0, t(10)).is_empty(),
        "no raise while suppressed"
    );
    assert_eq!(state(&e, HIGH), AlarmState::Normal);
    assert!(
        e.alarm(HIGH)
            .is_some_and(|a| a.active && a.suppressed.is_some())
    );
    let ended = e.tick(t(mins(60)));
    let mine: Vec<_> = ended
        .iter()
        .filter(|ev| ev.alarm == HIGH)
        .cloned()
        .collect();
    assert_eq!(
        lifecycle(&mine),
        vec![Transition::Unsuppressed, Transition::Raised]
    );
}

#[test]
fn site_window_covers_comm_loss_and_lifting_it_leaves_cleared_alarms_normal() {
    let mut e = engine(vec![high_rule()]);
    suppress(&mut e, SuppressScope::Site, None, t(0));
    let down = PointEvent::Device {
        device: "tank".into(),
        up: false,
        reason: None,
        at: t(5),
    };
    assert!(e.on_point(&down, t(5)).is_empty());
    feed(&mut e, "tank.level", 90.0, t(6));
    feed(&mut e, "tank.level", 50.0, t(7));
    let cmd = AlarmCommand::Unsuppress {
        scope: SuppressScope::Site,
        actor: "zhang.min".into(),
    };
    let out = e.command(cmd, t(10)).expect("suppressed");
    let raised: Vec<&str> = out
        .iter()
        .filter(|ev| ev.transition == Transition::Raised)
        .map(|ev| ev.alarm.as_str())
        .collect();
    assert_eq!(
        raised,
        vec!["tank:comm"],
        "comm still lost, level back to normal"
    );
    assert_eq!(state(&e, HIGH), AlarmState::Normal);
    let again = AlarmCommand::Unsuppress {
        scope: SuppressScope::Site,
        actor: "zhang.min".into(),
    };
    assert!(matches!(
        e.command(again, t(11)),
        Err(AlarmError::NotSuppressed(_))
    ));
}

#[test]
fn unit_suppression_covers_the_units_rules_only() {
    let mut power = rule("meter7.kw", "low", RuleSpec::Low(threshold(0.1, 0.0, 0, 0)));
    power.unit = Some("B-1203".into());
    let mut e = engine(vec![power, high_rule()]);
    suppress(&mut e, SuppressScope::Unit("B-1203".into()), None, t(0));
    assert!(
        feed(&mut e, "meter7.kw", 0.0, t(1)).is_empty(),
        "power cut on purpose"
    );
    assert_eq!(
        lifecycle(&feed(&mut e, "tank.level", 90.0, t(2))),
        vec![Transition::Raised]
    );
}

#[test]
fn out_of_service_alarm_is_silent_until_returned_to_service() {
    let mut e = engine(vec![high_rule()]);
    let oos = AlarmCommand::SetOutOfService {
        alarm: HIGH.into(),
        actor: "li.wei".into(),
        reason: "probe removed".into(),
    };
    assert_eq!(
        transitions(&e.command(oos.clone(), t(0)).expect("in service")),
        vec![Transition::OutOfService]
    );
    assert_eq!(
        e.command(oos, t(1)),
        Err(AlarmError::AlreadyOutOfService(HIGH.into()))
    );
    assert!(feed(&mut e, "tank.level", 90.0, t(2)).is_empty());
    let back = AlarmCommand::ReturnToService {
        alarm: HIGH.into(),
        actor: "li.wei".into(),
    };
    let out = e.command(back.clone(), t(3)).expect("out of service");
    assert_eq!(
        lifecycle(&out),
        vec![Transition::ReturnedToService, Transition::Raised]
    );
    assert_eq!(
        e.command(back, t(4)),
        Err(AlarmError::NotOutOfService(HIGH.into()))
    );
}

#[test]
fn masking_an_active_alarm_stops_its_escalation() {
    let mut e = engine(vec![high_rule()]);
    feed(&mut e, "tank.level", 90.0, t(0));
    suppress(
        &mut e,
        SuppressScope::Point("tank.level".into()),
        None,
        t(10),
    );
    assert!(e.tick(t(mins(20))).is_empty());
    assert_eq!(e.alarm(HIGH).map(|a| a.escalation_level), Some(0));
}
