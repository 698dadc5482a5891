//! Flood, chattering and the statistics for `/metrics`.

use super::*;

fn many(n: usize) -> Vec<AlarmRule> {
    (0..n)
        .map(|k| {
            rule(
                &format!("plant.v{k}"),
                "high",
                RuleSpec::High(threshold(1.0, 0.0, 0, 0)),
            )
        })
        .collect()
}

#[test]
fn more_than_ten_new_alarms_in_ten_minutes_is_a_flood_and_its_time_is_counted() {
    let mut e = engine(many(11));
    for k in 0..10 {
        feed(&mut e, &format!("plant.v{k}"), 5.0, t(10 * k));
    }
    assert!(!e.stats(t(100)).in_flood, "ten is not more than ten");
    feed(&mut e, "plant.v10", 5.0, t(120));
    let during = e.stats(t(300));
    assert!(during.in_flood);
    assert_eq!(
        (during.raised_in_window, during.flood_seconds_total),
        (11, 180.0)
    );
    // The oldest raise leaves the window at 10 min: the flood ends there.
    e.tick(t(700));
    let after = e.stats(t(700));
    assert!(!after.in_flood);
    assert_eq!(
        (
            after.raised_in_window,
            after.flood_seconds_total,
            after.raised_total
        ),
        (1, 480.0, 11)
    );
}

#[test]
fn chattering_alarm_is_flagged_and_its_repeats_collapse_into_one_alarm() {
    let mut e = engine(vec![high_rule()]);
    let mut out = Vec::new();
    for k in 0..8 {
        out.extend(feed(&mut e, "tank.level", 90.0, t(2 * k)));
        out.extend(feed(&mut e, "tank.level", 50.0, t(2 * k + 1)));
    }
    let kinds = lifecycle(&out);
    assert_eq!(
        kinds.iter().filter(|k| **k == Transition::Raised).count(),
        1
    );
    let flagged = kinds
        .iter()
        .position(|k| *k == Transition::Chattering { count: 6 })
        .expect("flagged");
    assert_eq!(
        kinds.len(),
        flagged + 1,
        "nothing published after the flag: {kinds:?}"
    );
    let alarm = e.alarm(HIGH).expect("alarm");
    assert_eq!((alarm.repeat_count, alarm.chattering), (7, true));
    assert_eq!(e.stats(t(20)).chattering, 1);
    assert_eq!(e.stats(t(20)).raised_in_window, 1);
}

#[test]
fn chattering_ends_after_a_quiet_window_and_reports_where_it_settled() {
    let mut e = engine(vec![high_rule()]);
    for k in 0..8 {
        feed(&mut e, "tank.level", 90.0, t(2 * k));
        feed(&mut e, "tank.level", 50.0, t(2 * k + 1));
    }
    assert!(
        lifecycle(&e.tick(t(73))).is_empty(),
        "the last flip at 14 s is inside the window"
    );
    let out = e.tick(t(74));
    assert_eq!(lifecycle(&out), vec![Transition::ChatteringEnded]);
    assert_eq!(out[0].state, AlarmState::UnackReturned);
    assert!(!e.alarm(HIGH).is_some_and(|a| a.chattering));
}

#[test]
fn stats_count_standing_alarms_by_priority_and_state_and_stale_ones() {
    let mut e = engine(many(2));
    feed(&mut e, "plant.v0", 5.0, t(0));
    feed(&mut e, "plant.v1", 5.0, t(mins(60)));
    ack(&mut e, "plant.v1:high", t(mins(61))).expect("acknowledgeable");
    let stats = e.stats(t(86_400 + 1));
    assert_eq!(
        stats.counts.len(),
        12,
        "every priority and standing state, zeros included"
    );
    let count = |p, s| {
        stats
            .counts
            .iter()
            .find(|c| c.priority == p && c.state == s)
            .map(|c| c.count)
    };
    assert_eq!(count(Priority::Medium, AlarmState::UnackActive), Some(1));
    assert_eq!(count(Priority::Medium, AlarmState::AckActive), Some(1));
    assert_eq!(count(Priority::High, AlarmState::UnackActive), Some(0));
    assert_eq!(
        stats.stale, 1,
        "only the first has stood for more than 24 h"
    );
}
