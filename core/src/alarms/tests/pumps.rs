//! Pump maintenance rules: weekly switch-over and pump faults.

use super::*;

fn switchover_rule() -> AlarmRule {
    let spec = SwitchoverSpec {
        partner: "pump2.run".into(),
        max_interval: Duration::days(7),
        priority: None,
    };
    rule("pump1.run", "switchover", RuleSpec::PumpSwitchover(spec))
}

const SWITCH: &str = "pump1.run:switchover";

fn day(d: i64) -> DateTime<Utc> {
    t(d * 86_400)
}

#[test]
fn pump_pair_not_switched_over_for_seven_days_raises_a_maintenance_alarm() {
    let mut e = engine(vec![switchover_rule()]);
    feed(&mut e, "pump1.run", 1.0, day(0));
    feed(&mut e, "pump2.run", 0.0, day(0));
    assert!(
        e.tick(day(7)).is_empty(),
        "exactly seven days is still on time"
    );
    let out = e.tick(day(7) + Duration::seconds(1));
    assert_eq!(lifecycle(&out), vec![Transition::Raised]);
    assert_eq!(out[0].priority, Priority::Low);
    // Switch-over: pump 2 takes duty.
    feed(&mut e, "pump1.run", 0.0, day(8));
    let out = feed(&mut e, "pump2.run", 1.0, day(8));
    assert_eq!(lifecycle(&out), vec![Transition::Cleared]);
    assert_eq!(state(&e, SWITCH), AlarmState::UnackReturned);
}

#[test]
fn a_regular_switch_over_keeps_the_pair_quiet() {
    let mut e = engine(vec![switchover_rule()]);
    for week in 0..4 {
        let (a, b) = if week % 2 == 0 {
            (1.0, 0.0)
        } else {
            (0.0, 1.0)
        };
        feed(&mut e, "pump2.run", b, day(6 * week));
        feed(&mut e, "pump1.run", a, day(6 * week));
        assert!(e.tick(day(6 * week + 5)).is_empty());
    }
}

fn fault_rule() -> AlarmRule {
    let spec = PumpFaultSpec {
        fault: Some("pump1.fault".into()),
        demand: Some("pump1.demand".into()),
        start_timeout: Duration::seconds(30),
        priority: None,
    };
    rule("pump1.run", "pump_fault", RuleSpec::PumpFault(spec))
}

#[test]
fn pump_running_with_its_fault_bit_set_is_a_high_alarm() {
    let mut e = engine(vec![fault_rule()]);
    feed(&mut e, "pump1.run", 0.0, t(0));
    assert!(
        feed(&mut e, "pump1.fault", 1.0, t(1)).is_empty(),
        "stopped with a fault is not this rule"
    );
    let out = feed(&mut e, "pump1.run", 1.0, t(2));
    assert_eq!(lifecycle(&out), vec![Transition::Raised]);
    assert_eq!(out[0].priority, Priority::High);
}

#[test]
fn pump_not_starting_on_demand_alarms_after_the_start_timeout() {
    let mut e = engine(vec![fault_rule()]);
    feed(&mut e, "pump1.run", 0.0, t(0));
    feed(&mut e, "pump1.demand", 1.0, t(10));
    assert!(e.tick(t(39)).is_empty());
    assert_eq!(lifecycle(&e.tick(t(40))), vec![Transition::Raised]);
    assert_eq!(
        lifecycle(&feed(&mut e, "pump1.run", 1.0, t(50))),
        vec![Transition::Cleared]
    );
}

#[test]
fn pump_starting_within_the_timeout_is_fine() {
    let mut e = engine(vec![fault_rule()]);
    feed(&mut e, "pump1.run", 0.0, t(0));
    feed(&mut e, "pump1.demand", 1.0, t(10));
    feed(&mut e, "pump1.run", 1.0, t(20));
    assert!(e.tick(t(100)).is_empty());
}
