//! Meter rules: counter faults, night flow, vacant-unit consumption, stale values.

use chrono::NaiveTime;

use super::*;

fn counter_rule(usual: Option<f64>) -> AlarmRule {
    let spec = CounterSpec {
        jump_factor: 10.0,
        usual_per_hour: usual,
        priority: None,
    };
    rule("meter7.water", "counter", RuleSpec::Counter(spec))
}

const COUNTER: &str = "meter7.water:counter";

#[test]
fn counter_going_backwards_is_a_meter_fault() {
    let mut e = engine(vec![counter_rule(None)]);
    feed(&mut e, "meter7.water", 100.0, t(0));
    let out = feed(&mut e, "meter7.water", 99.0, t(60));
    assert_eq!(lifecycle(&out), vec![Transition::Raised]);
    assert_eq!(out[0].priority, Priority::Low);
    assert_eq!(
        lifecycle(&feed(&mut e, "meter7.water", 99.5, t(120))),
        vec![Transition::Cleared]
    );
    assert_eq!(
        state(&e, COUNTER),
        AlarmState::UnackReturned,
        "still waits for a person"
    );
}

#[test]
fn counter_jump_over_ten_times_its_learned_hourly_use_is_a_fault() {
    let mut e = engine(vec![counter_rule(None)]);
    // Four litres every quarter of an hour: 16 an hour, learned over the first hour.
    for k in 0..=4 {
        assert!(
            feed(
                &mut e,
                "meter7.water",
                100.0 + 4.0 * k as f64,
                t(mins(15 * k))
            )
            .is_empty()
        );
    }
    let out = feed(&mut e, "meter7.water", 116.0 + 170.0, t(mins(75)));
    assert_eq!(lifecycle(&out), vec![Transition::Raised], "170 > 10 × 16");
}

#[test]
fn counter_rise_under_ten_times_its_hourly_use_is_normal() {
    let mut e = engine(vec![counter_rule(None)]);
    for k in 0..=4 {
        feed(
            &mut e,
            "meter7.water",
            100.0 + 4.0 * k as f64,
            t(mins(15 * k)),
        );
    }
    assert!(
        feed(&mut e, "meter7.water", 116.0 + 150.0, t(mins(75))).is_empty(),
        "150 < 10 × 16"
    );
}

#[test]
fn counter_learns_an_hour_before_judging_jumps() {
    let mut e = engine(vec![counter_rule(None)]);
    feed(&mut e, "meter7.water", 0.0, t(0));
    feed(&mut e, "meter7.water", 1.0, t(mins(15)));
    assert!(feed(&mut e, "meter7.water", 1000.0, t(mins(30))).is_empty());
}

#[test]
fn counter_jump_uses_the_configured_hourly_use_from_the_start() {
    let mut e = engine(vec![counter_rule(Some(1.0))]);
    feed(&mut e, "meter7.water", 0.0, t(0));
    assert!(feed(&mut e, "meter7.water", 9.0, t(60)).is_empty());
    assert_eq!(
        lifecycle(&feed(&mut e, "meter7.water", 20.0, t(120))),
        vec![Transition::Raised]
    );
}

fn night_rule(from_counter: bool) -> AlarmRule {
    let spec = NightFlowSpec {
        limit: 0.5,
        from: NaiveTime::from_hms_opt(1, 0, 0).expect("valid"),
        to: NaiveTime::from_hms_opt(5, 0, 0).expect("valid"),
        from_counter,
        on_delay: Duration::zero(),
        priority: None,
    };
    rule("meter7.flow", "night_flow", RuleSpec::NightFlow(spec))
}

/// Hours after the base time (20:00 Shanghai): 5.5 h is 01:30 Shanghai, 17:30 UTC.
fn h(hours: f64) -> DateTime<Utc> {
    t((hours * 3600.0) as i64)
}

#[test]
fn night_flow_alarms_only_inside_the_window_in_site_time() {
    let mut e = engine(vec![night_rule(false)]);
    assert!(
        feed(&mut e, "meter7.flow", 2.0, h(0.0)).is_empty(),
        "20:00 local is daytime use"
    );
    // 01:30 UTC would be inside a UTC window, but it is 09:30 in Shanghai.
    assert!(feed(&mut e, "meter7.flow", 2.0, h(13.5)).is_empty());
    let out = feed(&mut e, "meter7.flow", 2.0, h(5.5));
    assert_eq!(lifecycle(&out), vec![Transition::Raised]);
    assert_eq!(out[0].priority, Priority::Medium);
}

#[test]
fn night_flow_clears_when_the_window_closes() {
    let mut e = engine(vec![night_rule(false)]);
    feed(&mut e, "meter7.flow", 2.0, h(5.5));
    assert!(
        e.tick(h(8.9))
            .iter()
            .all(|ev| ev.transition != Transition::Cleared)
    );
    let out = e.tick(h(9.0));
    assert!(
        lifecycle(&out).contains(&Transition::Cleared),
        "05:00 local ends the window"
    );
}

#[test]
fn night_flow_from_a_counter_uses_its_hourly_rise() {
    let mut e = engine(vec![night_rule(true)]);
    feed(&mut e, "meter7.flow", 100.0, h(5.0));
    assert!(
        feed(&mut e, "meter7.flow", 100.1, h(5.5)).is_empty(),
        "0.2 per hour"
    );
    assert_eq!(
        lifecycle(&feed(&mut e, "meter7.flow", 101.1, h(6.0))),
        vec![Transition::Raised]
    );
}

fn vacant_rule() -> AlarmRule {
    let spec = VacantSpec {
        unit: "B-1203".into(),
        tolerance: 0.0,
        priority: None,
    };
    rule("meter7.water", "vacant", RuleSpec::VacantConsumption(spec))
}

fn vacant(e: &mut AlarmEngine, vacant: bool, at: DateTime<Utc>) -> Vec<AlarmEvent> {
    let cmd = AlarmCommand::SetUnitVacant {
        unit: "B-1203".into(),
        vacant,
    };
    e.command(cmd, at).expect("always accepted")
}

#[test]
fn consumption_alarms_only_while_the_unit_is_vacant() {
    let mut e = engine(vec![vacant_rule()]);
    feed(&mut e, "meter7.water", 100.0, t(0));
    assert!(
        feed(&mut e, "meter7.water", 105.0, t(60)).is_empty(),
        "occupied"
    );
    assert!(vacant(&mut e, true, t(120)).is_empty());
    assert!(feed(&mut e, "meter7.water", 105.0, t(180)).is_empty());
    assert_eq!(
        lifecycle(&feed(&mut e, "meter7.water", 105.2, t(240))),
        vec![Transition::Raised]
    );
    assert_eq!(
        lifecycle(&vacant(&mut e, false, t(300))),
        vec![Transition::Cleared]
    );
    assert!(feed(&mut e, "meter7.water", 110.0, t(360)).is_empty());
}

#[test]
fn a_unit_marked_vacant_before_any_reading_takes_its_first_reading_as_the_baseline() {
    let mut e = engine(vec![vacant_rule()]);
    vacant(&mut e, true, t(0));
    assert!(feed(&mut e, "meter7.water", 100.0, t(60)).is_empty());
    assert_eq!(
        lifecycle(&feed(&mut e, "meter7.water", 101.0, t(120))),
        vec![Transition::Raised]
    );
}

#[test]
fn stale_value_alarms_when_unchanged_too_long_and_clears_when_it_moves() {
    let spec = StaleSpec {
        max_unchanged: Duration::hours(1),
        tolerance: 0.1,
        priority: None,
    };
    let mut e = engine(vec![rule("ahu1.temp", "stale", RuleSpec::Stale(spec))]);
    feed(&mut e, "ahu1.temp", 21.0, t(0));
    feed(&mut e, "ahu1.temp", 21.05, t(mins(30)));
    assert!(e.tick(t(mins(60))).is_empty());
    assert_eq!(lifecycle(&e.tick(t(mins(61)))), vec![Transition::Raised]);
    assert_eq!(
        lifecycle(&feed(&mut e, "ahu1.temp", 22.0, t(mins(62)))),
        vec![Transition::Cleared]
    );
}

#[test]
fn a_rule_added_while_running_drives_its_own_alarm_and_leaves_the_comm_alarms_theirs() {
    // A plant rule gives its device a comm-loss alarm, which sits after the rules'.
    let mut e = engine(vec![high_rule()]);
    let down = PointEvent::Device {
        device: "tank".into(),
        up: false,
        reason: None,
        at: t(0),
    };
    e.on_point(&down, t(0));
    assert_eq!(state(&e, "tank:comm"), AlarmState::UnackActive);
    assert_eq!(e.add_rule_quietly(vacant_rule()), Ok(true));
    assert_eq!(e.add_rule_quietly(vacant_rule()), Ok(false), "once");
    assert!(
        e.alarm("meter7:comm").is_none(),
        "no comm-loss alarm of its own"
    );
    assert_eq!(state(&e, "tank:comm"), AlarmState::UnackActive);
    vacant(&mut e, true, t(60));
    feed(&mut e, "meter7.water", 100.0, t(120));
    let out = feed(&mut e, "meter7.water", 100.5, t(180));
    assert_eq!(lifecycle(&out), vec![Transition::Raised]);
    assert_eq!(out[0].alarm, "meter7.water:vacant");
    assert_eq!(state(&e, "tank:comm"), AlarmState::UnackActive);
    assert_eq!(state(&e, HIGH), AlarmState::Normal);
}
