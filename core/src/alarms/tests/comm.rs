//! Communication loss: one alarm per device, and the rules of its points frozen meanwhile.

use crate::points::Quality;

use super::*;

fn device(up: bool, at: DateTime<Utc>) -> PointEvent {
    PointEvent::Device {
        device: "tank".into(),
        up,
        reason: (!up).then(|| "timeout".into()),
        at,
    }
}

fn quality(point: &str, to: Quality, at: DateTime<Utc>) -> PointEvent {
    PointEvent::Quality {
        point: point.into(),
        from: Quality::Good,
        to,
        at,
        first_value: false,
    }
}

fn two_points() -> Vec<AlarmRule> {
    let temp = rule(
        "tank.temp",
        "high",
        RuleSpec::High(threshold(60.0, 0.0, 30, 0)),
    );
    vec![high_rule(), temp]
}

#[test]
fn comm_loss_raises_one_device_alarm_not_one_per_point() {
    let mut e = engine(two_points());
    let mut out = e.on_point(&device(false, t(0)), t(0));
    out.extend(e.on_point(&quality("tank.level", Quality::CommLost, t(0)), t(0)));
    out.extend(e.on_point(&quality("tank.temp", Quality::CommLost, t(0)), t(0)));
    let raised: Vec<_> = out
        .iter()
        .filter(|ev| ev.transition == Transition::Raised)
        .collect();
    assert_eq!(raised.len(), 1);
    assert_eq!(
        (raised[0].alarm.as_str(), raised[0].priority),
        ("tank:comm", Priority::High)
    );
    assert_eq!(raised[0].note.as_deref(), Some("timeout"));
    let back = e.on_point(&device(true, t(60)), t(60));
    assert_eq!(lifecycle(&back), vec![Transition::Cleared]);
}

#[test]
fn point_alarms_are_frozen_while_comm_lost() {
    let mut e = engine(two_points());
    feed(&mut e, "tank.level", 90.0, t(0));
    feed(&mut e, "tank.temp", 70.0, t(0));
    e.on_point(&device(false, t(10)), t(10));
    e.on_point(&quality("tank.level", Quality::CommLost, t(10)), t(10));
    e.on_point(&quality("tank.temp", Quality::CommLost, t(10)), t(10));
    let out = e.tick(t(60));
    assert!(
        out.iter().all(|ev| ev.alarm == "tank:comm"),
        "temp on-delay must not complete: {out:?}"
    );
    assert_eq!(
        state(&e, HIGH),
        AlarmState::UnackActive,
        "not cleared by the comm loss"
    );
    assert_eq!(state(&e, "tank.temp:high"), AlarmState::Normal);
}

#[test]
fn on_delay_restarts_after_comm_returns() {
    let mut e = engine(two_points());
    feed(&mut e, "tank.temp", 70.0, t(0));
    e.on_point(&quality("tank.temp", Quality::CommLost, t(10)), t(10));
    assert!(
        feed(&mut e, "tank.temp", 70.0, t(40)).is_empty(),
        "the broken run does not count"
    );
    assert!(
        e.tick(t(41)).is_empty(),
        "the delay needs 30 s of good readings"
    );
    assert_eq!(lifecycle(&e.tick(t(70))), vec![Transition::Raised]);
}

#[test]
fn comm_loss_of_an_unknown_device_still_raises_its_alarm() {
    let mut e = engine(vec![]);
    let ev = PointEvent::Device {
        device: "lift3".into(),
        up: false,
        reason: None,
        at: t(0),
    };
    let out = e.on_point(&ev, t(0));
    assert_eq!(
        out.iter()
            .find(|ev| ev.transition == Transition::Raised)
            .map(|ev| ev.alarm.as_str()),
        Some("lift3:comm")
    );
}
