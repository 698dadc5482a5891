//! Limits, deadband, on-delay and off-delay.

use super::*;

#[test]
fn high_alarm_raises_above_limit_and_clears_only_past_the_deadband() {
    let mut e = engine(vec![high_rule()]);
    assert!(
        feed(&mut e, "tank.level", 80.0, t(0)).is_empty(),
        "at the limit is not above it"
    );
    assert_eq!(
        lifecycle(&feed(&mut e, "tank.level", 80.5, t(1))),
        vec![Transition::Raised]
    );
    assert!(
        feed(&mut e, "tank.level", 79.0, t(2)).is_empty(),
        "inside the deadband"
    );
    assert_eq!(state(&e, HIGH), AlarmState::UnackActive);
    assert_eq!(
        lifecycle(&feed(&mut e, "tank.level", 77.9, t(3))),
        vec![Transition::Cleared]
    );
    assert_eq!(state(&e, HIGH), AlarmState::UnackReturned);
}

#[test]
fn low_alarm_raises_below_limit_and_clears_past_the_deadband() {
    let low = rule(
        "tank.level",
        "low_low",
        RuleSpec::LowLow(threshold(10.0, 1.0, 0, 0)),
    );
    let mut e = engine(vec![low]);
    let raised = feed(&mut e, "tank.level", 9.0, t(0));
    assert_eq!(lifecycle(&raised), vec![Transition::Raised]);
    assert_eq!(
        raised[0].priority,
        Priority::High,
        "low_low defaults to high"
    );
    assert!(feed(&mut e, "tank.level", 10.5, t(1)).is_empty());
    assert_eq!(
        lifecycle(&feed(&mut e, "tank.level", 11.5, t(2))),
        vec![Transition::Cleared]
    );
}

#[test]
fn on_delay_raises_only_after_the_limit_stays_crossed() {
    let mut e = engine(vec![rule(
        "tank.level",
        "high",
        RuleSpec::High(threshold(80.0, 0.0, 10, 0)),
    )]);
    assert!(feed(&mut e, "tank.level", 85.0, t(0)).is_empty());
    assert!(e.tick(t(9)).is_empty(), "still inside the on-delay");
    let out = e.tick(t(10));
    assert_eq!(lifecycle(&out), vec![Transition::Raised]);
    assert_eq!(out[0].at, t(10));
    assert_eq!(out[0].value, Some(85.0));
}

#[test]
fn a_dip_back_under_the_limit_restarts_the_on_delay() {
    let mut e = engine(vec![rule(
        "tank.level",
        "high",
        RuleSpec::High(threshold(80.0, 0.0, 10, 0)),
    )]);
    feed(&mut e, "tank.level", 85.0, t(0));
    feed(&mut e, "tank.level", 75.0, t(5));
    feed(&mut e, "tank.level", 85.0, t(6));
    assert!(e.tick(t(12)).is_empty(), "only 6 s above since the dip");
    assert_eq!(lifecycle(&e.tick(t(16))), vec![Transition::Raised]);
}

#[test]
fn off_delay_clears_only_after_the_value_stays_back() {
    let mut e = engine(vec![rule(
        "tank.level",
        "high",
        RuleSpec::High(threshold(80.0, 0.0, 0, 30)),
    )]);
    feed(&mut e, "tank.level", 85.0, t(0));
    assert!(feed(&mut e, "tank.level", 70.0, t(10)).is_empty());
    assert!(e.tick(t(39)).is_empty());
    assert_eq!(lifecycle(&e.tick(t(40))), vec![Transition::Cleared]);
}

#[test]
fn samples_of_unwatched_points_cause_nothing() {
    let mut e = engine(vec![high_rule()]);
    assert!(feed(&mut e, "tank.temperature", 500.0, t(0)).is_empty());
}

fn discrete(bit: Option<u8>, normal: Option<f64>, alarm_value: Option<f64>) -> RuleSpec {
    RuleSpec::Discrete(DiscreteSpec {
        alarm_value,
        normal,
        bit,
        on_delay: Duration::zero(),
        off_delay: Duration::zero(),
        priority: None,
    })
}

#[test]
fn discrete_bit_alarm_raises_when_the_bit_leaves_its_normal_state() {
    // A normally-closed contact on bit 2: the alarm is the bit dropping to 0.
    let mut e = engine(vec![rule(
        "panel.status",
        "door",
        discrete(Some(2), Some(1.0), None),
    )]);
    assert!(feed(&mut e, "panel.status", 0b0100 as f64, t(0)).is_empty());
    assert!(
        feed(&mut e, "panel.status", 0b0111 as f64, t(1)).is_empty(),
        "other bits do not matter"
    );
    assert_eq!(
        lifecycle(&feed(&mut e, "panel.status", 0b0011 as f64, t(2))),
        vec![Transition::Raised]
    );
    assert_eq!(
        lifecycle(&feed(&mut e, "panel.status", 0b0100 as f64, t(3))),
        vec![Transition::Cleared]
    );
}

#[test]
fn discrete_set_bit_is_an_alarm_by_default() {
    let mut e = engine(vec![rule(
        "pump1.status",
        "fault",
        discrete(Some(0), None, None),
    )]);
    assert!(feed(&mut e, "pump1.status", 2.0, t(0)).is_empty());
    assert_eq!(
        lifecycle(&feed(&mut e, "pump1.status", 3.0, t(1))),
        vec![Transition::Raised]
    );
}

#[test]
fn fire_zone_in_its_alarm_state_raises_an_emergency() {
    let RuleSpec::Discrete(mut spec) = discrete(None, None, Some(2.0)) else {
        unreachable!("built as discrete")
    };
    spec.priority = Some(Priority::Emergency);
    let mut e = engine(vec![rule(
        "fire.zone1",
        "discrete",
        RuleSpec::Discrete(spec),
    )]);
    assert!(
        feed(&mut e, "fire.zone1", 1.0, t(0)).is_empty(),
        "1 is a fault, not fire"
    );
    let out = feed(&mut e, "fire.zone1", 2.0, t(1));
    assert_eq!(lifecycle(&out), vec![Transition::Raised]);
    assert_eq!(out[0].priority, Priority::Emergency);
}
