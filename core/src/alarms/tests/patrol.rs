//! A missed patrol checkpoint reaches the alarm engine as what it is: the route's
//! `checkpoint_missed` rule, fed by the patrol book, with no point or device behind it.

use super::*;

const NIGHT: &str = "patrol.night_missed:missed";

fn patrol_engine() -> AlarmEngine {
    engine(vec![
        AlarmRule::checkpoint_missed("night", "Night round"),
        high_rule(),
    ])
}

#[test]
fn a_miss_raises_the_routes_alarm_high_under_the_patrol_source() {
    let mut e = patrol_engine();
    let raised = e.on_checkpoint("night", true, t(0));
    assert_eq!(lifecycle(&raised), vec![Transition::Raised]);
    let alarm = e.alarm(NIGHT).expect("the route's alarm");
    assert_eq!(
        (
            alarm.priority,
            alarm.device.as_str(),
            alarm.point.as_deref()
        ),
        (Priority::High, PATROL_SOURCE, None)
    );
    assert!(alarm.message.contains("Night round"), "{}", alarm.message);
    assert!(
        e.alarm("patrol:comm").is_none(),
        "no device, no comm-loss alarm"
    );
    assert!(
        e.on_checkpoint("night", true, t(10)).is_empty(),
        "a second miss of the same tour is the same alarm"
    );
}

#[test]
fn a_new_tour_clears_it_and_other_routes_are_not_touched() {
    let mut e = patrol_engine();
    e.on_checkpoint("night", true, t(0));
    assert!(
        e.on_checkpoint("day", true, t(5)).is_empty(),
        "no rule for it"
    );
    let cleared = e.on_checkpoint("night", false, t(60));
    assert_eq!(lifecycle(&cleared), vec![Transition::Cleared]);
    assert_eq!(state(&e, NIGHT), AlarmState::UnackReturned);
}

#[test]
fn a_raised_patrol_alarm_survives_a_restart_exactly() {
    let mut old = patrol_engine();
    old.on_checkpoint("night", true, t(0));
    let saved: Vec<Alarm> = old.standing().cloned().collect();
    let mut new = patrol_engine();
    new.restore(saved.clone());
    let restored: Vec<Alarm> = new.standing().cloned().collect();
    assert_eq!(restored, saved);
    assert!(
        new.on_checkpoint("night", true, t(10)).is_empty(),
        "still raised after the restart: no second raise"
    );
}

#[test]
fn a_profile_cannot_declare_a_checkpoint_rule() {
    let kind = ("kind", super::de::Val::S("checkpoint_missed"));
    let spec = super::de::from_table::<RuleSpec>(vec![kind]);
    assert!(spec.is_err(), "built from the patrol config only");
}

#[test]
fn a_level_with_nobody_on_call_raises_its_alarm_and_clears_when_covered() {
    use crate::alarms::{AlarmConfig, AlarmEngine, AlarmRule, Transition};
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-07T02:14:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let rule = AlarmRule::nobody_on_call("shift_lead");
    let mut engine = AlarmEngine::new(vec![rule], AlarmConfig::default()).expect("engine");
    let raised = engine.on_coverage("shift_lead", true, t0);
    assert_eq!(raised[0].alarm, "oncall.shift_lead_uncovered:nobody");
    assert_eq!(raised[0].transition, Transition::Raised, "{raised:?}");
    assert!(
        engine.on_coverage("manager", true, t0).is_empty(),
        "no rule for that level"
    );
    let cleared = engine.on_coverage("shift_lead", false, t0 + chrono::Duration::minutes(1));
    assert!(
        cleared.iter().any(|e| e.transition == Transition::Cleared),
        "{cleared:?}"
    );
}

#[test]
fn a_filling_central_forward_buffer_raises_a_high_alarm_once_and_clears_when_drained() {
    use crate::alarms::{AlarmConfig, AlarmEngine, AlarmRule, Priority, Transition};
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-07T02:14:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let rule = AlarmRule::forward_buffer();
    let mut engine = AlarmEngine::new(vec![rule], AlarmConfig::default()).expect("engine");
    let raised = engine.on_forward_buffer(true, t0);
    assert_eq!(raised[0].alarm, "central.forward_buffer:filling");
    assert_eq!(raised[0].transition, Transition::Raised, "{raised:?}");
    assert_eq!(raised[0].priority, Priority::High);
    assert!(
        engine.on_forward_buffer(true, t0).is_empty(),
        "still filling: no second raise"
    );
    let cleared = engine.on_forward_buffer(false, t0 + chrono::Duration::minutes(1));
    assert!(
        cleared.iter().any(|e| e.transition == Transition::Cleared),
        "{cleared:?}"
    );
}
