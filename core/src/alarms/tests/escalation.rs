//! Escalation along the chain per priority, stopped by acknowledgement.

use super::*;

fn escalations(events: &[AlarmEvent]) -> Vec<(u32, String)> {
    events
        .iter()
        .filter_map(|ev| match &ev.transition {
            Transition::Escalated { level, role } => Some((*level, role.clone())),
            _ => None,
        })
        .collect()
}

fn priority_rule(priority: Priority) -> AlarmRule {
    let mut spec = threshold(80.0, 0.0, 0, 0);
    spec.priority = Some(priority);
    rule("tank.level", "high", RuleSpec::High(spec))
}

#[test]
fn unacknowledged_alarm_escalates_after_deadline() {
    let mut e = engine(vec![priority_rule(Priority::High)]);
    let raised = feed(&mut e, "tank.level", 90.0, t(0));
    assert_eq!(escalations(&raised), vec![(1, "duty_engineer".into())]);
    assert!(escalations(&e.tick(t(mins(5) - 1))).is_empty());
    assert_eq!(
        escalations(&e.tick(t(mins(5)))),
        vec![(2, "shift_lead".into())]
    );
    assert!(escalations(&e.tick(t(mins(10)))).is_empty());
    assert_eq!(
        escalations(&e.tick(t(mins(15)))),
        vec![(3, "manager".into())]
    );
    assert!(
        escalations(&e.tick(t(mins(60)))).is_empty(),
        "the chain ends at the manager"
    );
}

#[test]
fn emergency_alarm_escalates_after_one_and_three_minutes() {
    let mut e = engine(vec![priority_rule(Priority::Emergency)]);
    feed(&mut e, "tank.level", 90.0, t(0));
    assert_eq!(escalations(&e.tick(t(60))), vec![(2, "shift_lead".into())]);
    assert_eq!(escalations(&e.tick(t(180))), vec![(3, "manager".into())]);
}

#[test]
fn a_late_tick_takes_every_overdue_step_at_once() {
    let mut e = engine(vec![priority_rule(Priority::Emergency)]);
    feed(&mut e, "tank.level", 90.0, t(0));
    assert_eq!(escalations(&e.tick(t(600))).len(), 2);
}

#[test]
fn acknowledgement_stops_escalation() {
    let mut e = engine(vec![priority_rule(Priority::High)]);
    feed(&mut e, "tank.level", 90.0, t(0));
    ack(&mut e, HIGH, t(60)).expect("acknowledgeable");
    assert!(escalations(&e.tick(t(mins(30)))).is_empty());
    assert_eq!(e.alarm(HIGH).map(|a| a.escalation_level), Some(1));
}

#[test]
fn a_returned_alarm_is_not_escalated() {
    let mut e = engine(vec![priority_rule(Priority::High)]);
    feed(&mut e, "tank.level", 90.0, t(0));
    feed(&mut e, "tank.level", 50.0, t(60));
    assert!(escalations(&e.tick(t(mins(30)))).is_empty());
}
