//! The active alarm list survives a restart exactly.

use super::*;

fn rules() -> Vec<AlarmRule> {
    vec![
        high_rule(),
        rule(
            "tank.temp",
            "high",
            RuleSpec::High(threshold(60.0, 0.0, 0, 0)),
        ),
    ]
}

const TEMP: &str = "tank.temp:high";

/// An engine with an acknowledged alarm, a shelved one and a comm-loss alarm.
fn before_restart() -> AlarmEngine {
    let mut e = engine(rules());
    feed(&mut e, "tank.level", 90.0, t(0));
    ack(&mut e, HIGH, t(10)).expect("acknowledgeable");
    feed(&mut e, "tank.temp", 70.0, t(20));
    let shelve = AlarmCommand::Shelve {
        alarm: TEMP.into(),
        actor: "li.wei".into(),
        reason: "known fault".into(),
        until: t(mins(30)),
    };
    e.command(shelve, t(30)).expect("valid shelve");
    let down = PointEvent::Device {
        device: "boiler".into(),
        up: false,
        reason: None,
        at: t(40),
    };
    e.on_point(&down, t(40));
    e
}

#[test]
fn restore_puts_back_states_acknowledgements_and_shelves_exactly() {
    let old = before_restart();
    let saved: Vec<Alarm> = old.alarms().cloned().collect();
    let mut new = engine(rules());
    new.restore(saved.clone());
    let restored: Vec<Alarm> = new.alarms().cloned().collect();
    assert_eq!(restored, saved);
    assert_eq!(
        new.alarm("boiler:comm").map(|a| a.state),
        Some(AlarmState::UnackActive)
    );
}

#[test]
fn restored_alarms_carry_on_where_they_were() {
    let mut new = engine(rules());
    new.restore(before_restart().alarms().cloned().collect());
    let cleared = feed(&mut new, "tank.level", 50.0, t(mins(1)));
    assert_eq!(lifecycle(&cleared), vec![Transition::Cleared]);
    assert_eq!(
        cleared[0].state,
        AlarmState::Normal,
        "it was acknowledged before the restart"
    );
    let expired = new.tick(t(mins(30)));
    let temp: Vec<_> = expired
        .iter()
        .filter(|ev| ev.alarm == TEMP)
        .cloned()
        .collect();
    assert_eq!(
        lifecycle(&temp),
        vec![Transition::Unshelved { expired: true }, Transition::Raised]
    );
}

#[test]
fn restore_drops_alarms_of_rules_that_no_longer_exist() {
    let mut new = engine(vec![high_rule()]);
    new.restore(before_restart().alarms().cloned().collect());
    assert!(new.alarm(TEMP).is_none());
    assert_eq!(state(&new, HIGH), AlarmState::AckActive);
}

#[test]
fn restored_suppression_windows_keep_covering_and_still_expire() {
    let mut old = engine(rules());
    let cmd = AlarmCommand::Suppress {
        scope: SuppressScope::Device("tank".into()),
        reason: "maintenance mode".into(),
        actor: "zhang.min".into(),
        until: Some(t(mins(60))),
    };
    old.command(cmd, t(0)).expect("valid suppression");
    feed(&mut old, "tank.level", 90.0, t(10));
    let mut new = engine(rules());
    new.restore_suppressions(old.suppressions().to_vec());
    new.restore(old.alarms().cloned().collect());
    assert_eq!(
        new.alarm(HIGH)
            .and_then(|a| a.suppressed.clone())
            .as_deref(),
        Some("maintenance mode")
    );
    let ended = new.tick(t(mins(60)));
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
