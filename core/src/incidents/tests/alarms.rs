//! Alarm → incident policy (rules.md §14) and one open incident per alarm.

use super::*;

fn signal(id: &str, priority: AlarmPriority, hint: &str) -> AlarmSignal {
    AlarmSignal {
        alarm_id: id.to_owned(),
        priority,
        category_hint: hint.to_owned(),
        raised_at: t0(),
        acknowledged: false,
        message: "B2 leak sensor wet".to_owned(),
        location: "B2 pump room".to_owned(),
    }
}

fn opened(events: &[IncidentEvent]) -> Vec<(IncidentId, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            IncidentEventKind::Opened { category, .. } => Some((e.incident, category.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn an_emergency_alarm_opens_an_incident_at_once_with_the_hinted_category() {
    let mut book = book();
    let events = book.on_alarm(signal("fp-1", AlarmPriority::Emergency, "fire_panel"), t0());
    assert_eq!(opened(&events), vec![(1, builtin::FIRE.to_owned())]);
    let incident = book.get(1).unwrap();
    assert_eq!(incident.source, IncidentSource::Alarm("fp-1".to_owned()));
    assert_eq!(incident.alarm_ids().collect::<Vec<_>>(), vec!["fp-1"]);
}

#[test]
fn a_high_alarm_opens_an_incident_only_after_five_minutes_unacknowledged() {
    let mut book = book();
    assert!(
        book.on_alarm(signal("leak-3", AlarmPriority::High, "leak_detector"), t0())
            .is_empty()
    );
    assert!(opened(&book.tick(t0() + mins(5) - Duration::seconds(1))).is_empty());
    let events = book.tick(t0() + mins(5));
    assert_eq!(
        opened(&events),
        vec![(1, builtin::WATER_INGRESS.to_owned())]
    );
    assert!(opened(&book.tick(t0() + mins(6))).is_empty());
}

#[test]
fn an_acknowledged_high_alarm_never_opens_an_incident() {
    let mut book = book();
    book.on_alarm(signal("leak-3", AlarmPriority::High, "leak"), t0());
    let acked = AlarmSignal {
        acknowledged: true,
        ..signal("leak-3", AlarmPriority::High, "leak")
    };
    book.on_alarm(acked, t0() + mins(2));
    assert!(opened(&book.tick(t0() + mins(60))).is_empty());
    assert!(book.open_incidents().is_empty());
}

#[test]
fn medium_and_low_alarms_never_open_an_incident() {
    let mut book = book();
    book.on_alarm(signal("m-1", AlarmPriority::Medium, "pump"), t0());
    book.on_alarm(signal("l-1", AlarmPriority::Low, "pump"), t0());
    assert!(opened(&book.tick(t0() + Duration::days(1))).is_empty());
}

#[test]
fn an_alarm_tripping_again_attaches_to_its_open_incident() {
    let mut book = book();
    book.on_alarm(signal("fp-1", AlarmPriority::Emergency, "fire"), t0());
    // The same trip fed again is not a new trip.
    assert!(
        book.on_alarm(
            signal("fp-1", AlarmPriority::Emergency, "fire"),
            t0() + mins(1)
        )
        .is_empty()
    );
    let again = AlarmSignal {
        raised_at: t0() + mins(10),
        ..signal("fp-1", AlarmPriority::Emergency, "fire")
    };
    let events = book.on_alarm(again, t0() + mins(10));
    assert!(opened(&events).is_empty());
    assert_eq!(events.len(), 1);
    assert_eq!(book.get(1).unwrap().alarm_trips.len(), 2);
    assert_eq!(book.open_incidents().len(), 1);
}

#[test]
fn an_alarm_tripping_after_its_incident_closed_opens_a_new_one() {
    let mut book = book();
    book.on_alarm(signal("fp-1", AlarmPriority::Emergency, "fire"), t0());
    apply(
        &mut book,
        1,
        IncidentAction::Cancel {
            reason: "detector fault".to_owned(),
        },
        t0() + mins(2),
    );
    let again = AlarmSignal {
        raised_at: t0() + mins(10),
        ..signal("fp-1", AlarmPriority::Emergency, "fire")
    };
    assert_eq!(
        opened(&book.on_alarm(again, t0() + mins(10))),
        vec![(2, builtin::FIRE.to_owned())]
    );
}

#[test]
fn an_alarm_with_an_unknown_hint_opens_under_the_fallback_category() {
    let mut book = book();
    let events = book.on_alarm(
        signal("x-1", AlarmPriority::Emergency, "chiller_trip"),
        t0(),
    );
    assert_eq!(opened(&events), vec![(1, builtin::OTHER.to_owned())]);
}

#[test]
fn priorities_parse_from_the_alarm_engines_names() {
    assert_eq!(
        "Emergency".parse::<AlarmPriority>(),
        Ok(AlarmPriority::Emergency)
    );
    assert_eq!(" high ".parse::<AlarmPriority>(), Ok(AlarmPriority::High));
    assert!("urgent".parse::<AlarmPriority>().is_err());
}
