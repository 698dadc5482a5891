//! The ISA-18.2 lifecycle paths.

use super::*;

#[test]
fn raise_acknowledge_clear_goes_through_acknowledged_active_to_normal() {
    let mut e = engine(vec![high_rule()]);
    feed(&mut e, "tank.level", 90.0, t(0));
    let acked = ack(&mut e, HIGH, t(10)).expect("acknowledgeable");
    assert_eq!(transitions(&acked), vec![Transition::Acknowledged]);
    assert_eq!(acked[0].actor.as_deref(), Some("li.wei"));
    assert_eq!(acked[0].note.as_deref(), Some("checked on site"));
    assert_eq!(state(&e, HIGH), AlarmState::AckActive);
    let cleared = feed(&mut e, "tank.level", 50.0, t(20));
    assert_eq!(transitions(&cleared), vec![Transition::Cleared]);
    assert_eq!(cleared[0].state, AlarmState::Normal);
    let alarm = e.alarm(HIGH).expect("alarm");
    assert_eq!(
        (alarm.acked_at, alarm.acked_by.as_deref()),
        (Some(t(10)), Some("li.wei"))
    );
}

#[test]
fn clear_before_acknowledge_returns_unacknowledged_until_acknowledged() {
    let mut e = engine(vec![high_rule()]);
    feed(&mut e, "tank.level", 90.0, t(0));
    let cleared = feed(&mut e, "tank.level", 50.0, t(5));
    assert_eq!(cleared[0].state, AlarmState::UnackReturned);
    let acked = ack(&mut e, HIGH, t(10)).expect("acknowledgeable");
    assert_eq!(acked[0].state, AlarmState::Normal);
    assert_eq!(e.standing().count(), 0);
}

#[test]
fn acknowledging_a_normal_or_acknowledged_alarm_is_an_error() {
    let mut e = engine(vec![high_rule()]);
    let err = ack(&mut e, HIGH, t(0)).expect_err("nothing to acknowledge");
    assert_eq!(
        err,
        AlarmError::NotAcknowledgeable {
            alarm: HIGH.into(),
            state: AlarmState::Normal
        }
    );
    feed(&mut e, "tank.level", 90.0, t(1));
    ack(&mut e, HIGH, t(2)).expect("first acknowledge");
    assert!(matches!(
        ack(&mut e, HIGH, t(3)),
        Err(AlarmError::NotAcknowledgeable {
            state: AlarmState::AckActive,
            ..
        })
    ));
}

#[test]
fn commands_on_unknown_alarms_are_refused() {
    let mut e = engine(vec![high_rule()]);
    assert_eq!(
        ack(&mut e, "nope", t(0)),
        Err(AlarmError::UnknownAlarm("nope".into()))
    );
}

#[test]
fn reactivation_before_acknowledge_is_one_alarm_with_a_repeat_count() {
    let mut e = engine(vec![high_rule()]);
    feed(&mut e, "tank.level", 90.0, t(0));
    feed(&mut e, "tank.level", 50.0, t(10));
    let again = feed(&mut e, "tank.level", 90.0, t(20));
    assert_eq!(lifecycle(&again), vec![Transition::Repeated { count: 1 }]);
    assert_eq!(again[0].state, AlarmState::UnackActive);
    let alarm = e.alarm(HIGH).expect("alarm");
    assert_eq!((alarm.repeat_count, alarm.raised_at), (1, Some(t(0))));
    assert_eq!(
        e.stats(t(20)).raised_in_window,
        1,
        "a repeat is not a new alarm"
    );
}

#[test]
fn events_carry_the_alarm_identity_and_value() {
    let mut e = engine(vec![high_rule()]);
    let out = feed(&mut e, "tank.level", 91.5, t(0));
    let raised = out
        .iter()
        .find(|ev| ev.transition == Transition::Raised)
        .expect("raised");
    assert_eq!(raised.alarm, HIGH);
    assert_eq!(raised.device, "tank");
    assert_eq!(raised.point.as_deref(), Some("tank.level"));
    assert_eq!(raised.priority, Priority::Medium);
    assert_eq!(raised.message, "tank.level high");
    assert_eq!(raised.value, Some(91.5));
}

#[test]
fn names_are_stable_snake_case() {
    assert_eq!(Priority::Emergency.as_str(), "emergency");
    assert_eq!(AlarmState::UnackReturned.as_str(), "unack_returned");
    assert_eq!(AlarmState::AckActive.as_str(), "ack_active");
}

fn ack_many(
    engine: &mut AlarmEngine,
    ids: &[&str],
    at: DateTime<Utc>,
) -> Result<Vec<AlarmEvent>, AlarmError> {
    let cmd = AlarmCommand::AcknowledgeMany {
        alarms: ids.iter().map(|id| (*id).to_owned()).collect(),
        actor: "li.wei".to_owned(),
        note: Some("pump room checked".to_owned()),
    };
    engine.command(cmd, at)
}

#[test]
fn a_bulk_acknowledge_acknowledges_each_with_the_one_note_or_none() {
    let low = rule(
        "tank.level",
        "low",
        RuleSpec::Low(threshold(20.0, 2.0, 0, 0)),
    );
    let other = rule(
        "sump.level",
        "high",
        RuleSpec::High(threshold(80.0, 2.0, 0, 0)),
    );
    let mut e = engine(vec![high_rule(), low, other]);
    feed(&mut e, "tank.level", 90.0, t(0));
    feed(&mut e, "sump.level", 90.0, t(0));
    // The low alarm is normal: the whole command is refused and nothing changes.
    let refused = ack_many(&mut e, &[HIGH, "tank.level:low"], t(5));
    assert!(matches!(
        refused,
        Err(AlarmError::NotAcknowledgeable {
            state: AlarmState::Normal,
            ..
        })
    ));
    assert_eq!(state(&e, HIGH), AlarmState::UnackActive);
    let acked = ack_many(&mut e, &[HIGH, "sump.level:high", HIGH], t(10)).expect("both");
    assert_eq!(acked.len(), 2, "each alarm once");
    assert!(
        acked
            .iter()
            .all(|a| a.note.as_deref() == Some("pump room checked"))
    );
    assert_eq!(state(&e, "sump.level:high"), AlarmState::AckActive);
    assert_eq!(
        ack_many(&mut e, &[], t(11)),
        Err(AlarmError::NothingToAcknowledge)
    );
}
