//! Rule specs and the alarm config as a profile or site file writes them.

use chrono::{Duration, NaiveTime};

use super::de::{Val, from_table};
use super::*;
use crate::alarms::serde_util::parse_duration;

#[test]
fn threshold_rule_reads_from_a_profile_table_with_duration_strings() {
    let spec: RuleSpec = from_table(vec![
        ("kind", Val::S("high")),
        ("limit", Val::F(80.0)),
        ("deadband", Val::F(2.0)),
        ("on_delay", Val::S("10s")),
        ("priority", Val::S("high")),
    ])
    .expect("valid spec");
    assert_eq!(
        spec,
        RuleSpec::High(ThresholdSpec {
            limit: 80.0,
            deadband: 2.0,
            on_delay: Duration::seconds(10),
            off_delay: Duration::zero(),
            priority: Some(Priority::High),
        })
    );
    assert_eq!(spec.priority(), Priority::High);
}

#[test]
fn unknown_field_in_a_rule_is_refused() {
    let err = from_table::<RuleSpec>(vec![
        ("kind", Val::S("low")),
        ("limit", Val::F(1.0)),
        ("dead_band", Val::F(2.0)),
    ])
    .expect_err("typo must be caught");
    assert!(err.to_string().contains("dead_band"), "{err}");
}

#[test]
fn unknown_kind_is_refused() {
    let err = from_table::<RuleSpec>(vec![("kind", Val::S("very_high")), ("limit", Val::F(1.0))]);
    assert!(err.is_err());
}

#[test]
fn night_flow_defaults_to_one_to_five_in_the_morning() {
    let spec: RuleSpec = from_table(vec![("kind", Val::S("night_flow")), ("limit", Val::F(0.2))])
        .expect("valid spec");
    let RuleSpec::NightFlow(s) = spec else {
        panic!("expected night flow, got {spec:?}");
    };
    let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
    assert_eq!((s.from, s.to), (hm(1, 0), hm(5, 0)));
    let custom: RuleSpec = from_table(vec![
        ("kind", Val::S("night_flow")),
        ("limit", Val::F(0.2)),
        ("from", Val::S("23:30")),
    ])
    .expect("valid spec");
    assert!(matches!(custom, RuleSpec::NightFlow(s) if s.from == hm(23, 30)));
}

#[test]
fn kinds_carry_their_default_priorities_and_rules_can_override_them() {
    let parse = |pairs| {
        from_table::<RuleSpec>(pairs)
            .expect("valid spec")
            .priority()
    };
    let pump = parse(vec![
        ("kind", Val::S("pump_fault")),
        ("fault", Val::S("p1.fault")),
    ]);
    assert_eq!(pump, Priority::High);
    let switch = parse(vec![
        ("kind", Val::S("pump_switchover")),
        ("partner", Val::S("p2.run")),
    ]);
    assert_eq!(switch, Priority::Low);
    let fire = parse(vec![
        ("kind", Val::S("discrete")),
        ("priority", Val::S("emergency")),
    ]);
    assert_eq!(fire, Priority::Emergency);
    assert_eq!(parse(vec![("kind", Val::S("discrete"))]), Priority::Medium);
}

#[test]
fn switchover_and_counter_defaults_follow_section_14() {
    let switch: RuleSpec = from_table(vec![
        ("kind", Val::S("pump_switchover")),
        ("partner", Val::S("p2.run")),
    ])
    .expect("valid spec");
    assert!(matches!(switch, RuleSpec::PumpSwitchover(s) if s.max_interval == Duration::days(7)));
    let counter: RuleSpec = from_table(vec![("kind", Val::S("counter"))]).expect("valid spec");
    assert!(matches!(counter, RuleSpec::Counter(s) if s.jump_factor == 10.0));
}

#[test]
fn durations_accept_units_and_combinations_and_refuse_garbage() {
    assert_eq!(parse_duration("10s"), Ok(Duration::seconds(10)));
    assert_eq!(parse_duration("5m"), Ok(Duration::minutes(5)));
    assert_eq!(parse_duration("7d"), Ok(Duration::days(7)));
    assert_eq!(parse_duration("1h30m"), Ok(Duration::minutes(90)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::milliseconds(250)));
    for bad in ["", "10", "m5", "5 minutes", "5y"] {
        assert!(parse_duration(bad).is_err(), "`{bad}` should be refused");
    }
}

#[test]
fn default_config_follows_section_14() {
    let config = AlarmConfig::default();
    let delays = |p| -> Vec<(i64, String)> {
        config
            .escalation
            .chain(p)
            .iter()
            .map(|s| (s.after.num_minutes(), s.role.clone()))
            .collect()
    };
    let roles = ["duty_engineer", "shift_lead", "manager"].map(String::from);
    assert_eq!(
        delays(Priority::High),
        vec![
            (0, roles[0].clone()),
            (5, roles[1].clone()),
            (15, roles[2].clone())
        ]
    );
    assert_eq!(
        delays(Priority::Emergency),
        vec![
            (0, roles[0].clone()),
            (1, roles[1].clone()),
            (3, roles[2].clone())
        ]
    );
    assert_eq!(
        (config.flood_limit, config.flood_window),
        (10, Duration::minutes(10))
    );
    assert_eq!(config.time_zone, chrono_tz::Asia::Shanghai);
    assert_eq!(config.comm_loss_priority, Priority::High);
}

#[test]
fn config_reads_overrides_and_keeps_defaults_for_the_rest() {
    let config: AlarmConfig = from_table(vec![
        ("time_zone", Val::S("Asia/Hong_Kong")),
        ("flood_limit", Val::I(20)),
        (
            "escalation",
            Val::Table(vec![(
                "low",
                Val::Seq(vec![Val::Table(vec![
                    ("after", Val::S("1h")),
                    ("role", Val::S("duty_engineer")),
                ])]),
            )]),
        ),
    ])
    .expect("valid config");
    assert_eq!(config.time_zone, chrono_tz::Asia::Hong_Kong);
    assert_eq!(config.flood_limit, 20);
    assert_eq!(config.chatter_limit, 5);
    assert_eq!(config.escalation.chain(Priority::Low).len(), 1);
    assert_eq!(
        config.escalation.chain(Priority::Low)[0].after,
        Duration::hours(1)
    );
    assert_eq!(config.escalation.chain(Priority::High).len(), 3);
    let bad = from_table::<AlarmConfig>(vec![("time_zone", Val::S("Mars/Olympus"))]);
    assert!(bad.is_err());
}

#[test]
fn engine_refuses_duplicate_and_invalid_rules() {
    let dup = AlarmEngine::new(vec![high_rule(), high_rule()], AlarmConfig::default());
    assert_eq!(dup.err(), Some(AlarmError::DuplicateRule(HIGH.into())));
    let both = DiscreteSpec {
        alarm_value: Some(1.0),
        normal: Some(0.0),
        bit: None,
        on_delay: Duration::zero(),
        off_delay: Duration::zero(),
        priority: None,
    };
    let bad = AlarmEngine::new(
        vec![rule("fire.zone1", "discrete", RuleSpec::Discrete(both))],
        AlarmConfig::default(),
    );
    assert!(matches!(bad, Err(AlarmError::InvalidRule { .. })));
}
