use super::*;
use chrono::TimeZone;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0)
        .single()
        .expect("valid time")
}

fn hub() -> PointsHub {
    let point = |name: &str, stale: Option<i64>| PointSpec {
        id: format!("pump1.{name}").into(),
        device: "pump1".into(),
        unit: "Hz".into(),
        stale_after: stale.map(Duration::seconds),
        history_deadband: 0.5,
        history_heartbeat: Duration::seconds(300),
    };
    PointsHub::new(
        vec![DeviceSpec {
            id: "pump1".into(),
            comm_loss_after: 3,
        }],
        vec![point("freq", None), point("level", Some(60))],
    )
}

fn polled(values: &[(&str, f64)]) -> SourceEvent {
    SourceEvent::Polled {
        device: "pump1".into(),
        values: values
            .iter()
            .map(|(p, v)| (format!("pump1.{p}").into(), *v))
            .collect(),
    }
}

fn failed() -> SourceEvent {
    SourceEvent::PollFailed {
        device: "pump1".into(),
        reason: "timeout".into(),
    }
}

#[test]
fn first_value_turns_point_good_and_is_recorded() {
    let mut hub = hub();
    let out = hub.handle(polled(&[("freq", 50.0)]), t(0));
    let slot = hub.index("pump1.freq").and_then(HubSlot::of);
    assert!(out.contains(&PointEvent::Sample {
        point: "pump1.freq".into(),
        value: 50.0,
        at: t(0),
        record: true,
        slot,
    }));
    let p = hub.point("pump1.freq").expect("point");
    assert_eq!((p.value, p.quality), (Some(50.0), Quality::Good));
}

#[test]
fn history_skips_moves_inside_deadband_until_heartbeat() {
    let mut hub = hub();
    hub.handle(polled(&[("freq", 50.0)]), t(0));
    let recorded = |out: Vec<PointEvent>| {
        out.iter()
            .any(|e| matches!(e, PointEvent::Sample { record: true, .. }))
    };
    assert!(!recorded(hub.handle(polled(&[("freq", 50.2)]), t(1))));
    assert!(recorded(hub.handle(polled(&[("freq", 51.0)]), t(2))));
    assert!(!recorded(hub.handle(polled(&[("freq", 51.0)]), t(100))));
    assert!(recorded(hub.handle(polled(&[("freq", 51.0)]), t(302))));
}

#[test]
fn device_turns_comm_lost_after_configured_misses_and_recovers() {
    let mut hub = hub();
    hub.handle(polled(&[("freq", 50.0), ("level", 2.0)]), t(0));
    assert!(hub.handle(failed(), t(1)).is_empty());
    assert!(hub.handle(failed(), t(2)).is_empty());
    let out = hub.handle(failed(), t(3));
    assert!(matches!(&out[0], PointEvent::Device { up: false, .. }));
    assert_eq!(
        hub.point("pump1.freq").map(|p| p.quality),
        Some(Quality::CommLost)
    );
    assert_eq!(hub.point("pump1.freq").and_then(|p| p.value), Some(50.0));
    // Further misses do not repeat the event.
    assert!(hub.handle(failed(), t(4)).is_empty());
    let out = hub.handle(polled(&[("freq", 49.0), ("level", 2.0)]), t(5));
    assert!(matches!(&out[0], PointEvent::Device { up: true, .. }));
    assert_eq!(
        hub.point("pump1.freq").map(|p| p.quality),
        Some(Quality::Good)
    );
}

#[test]
fn pushed_point_turns_stale_when_silent_too_long() {
    let mut hub = hub();
    hub.handle(polled(&[("level", 2.0)]), t(0));
    assert!(hub.tick(t(60)).is_empty());
    let out = hub.tick(t(61));
    assert_eq!(
        out,
        vec![PointEvent::Quality {
            point: "pump1.level".into(),
            from: Quality::Good,
            to: Quality::Stale,
            at: t(61),
            first_value: false,
        }]
    );
}

#[test]
fn unknown_point_is_rejected_not_invented() {
    let mut hub = hub();
    let out = hub.handle(polled(&[("nope", 1.0)]), t(0));
    assert!(matches!(&out[0], PointEvent::Rejected { .. }));
    assert!(hub.point("pump1.nope").is_none());
}

#[test]
fn only_a_points_first_value_since_start_is_marked_first() {
    let mut hub = hub();
    let firsts = |out: Vec<PointEvent>| -> Vec<bool> {
        out.iter()
            .filter_map(|e| match e {
                PointEvent::Quality { first_value, .. } => Some(*first_value),
                _ => None,
            })
            .collect()
    };
    assert_eq!(firsts(hub.handle(polled(&[("level", 2.0)]), t(0))), [true]);
    assert_eq!(firsts(hub.tick(t(61))), [false]);
    // Back from stale is a recovery the journal keeps.
    assert_eq!(
        firsts(hub.handle(polled(&[("level", 2.0)]), t(62))),
        [false]
    );
}

#[test]
fn recovery_of_a_point_never_read_is_not_marked_first() {
    let mut hub = hub();
    for s in 0..3 {
        hub.handle(failed(), t(s));
    }
    assert_eq!(
        hub.point("pump1.level").map(|p| p.quality),
        Some(Quality::CommLost)
    );
    let out = hub.handle(polled(&[("level", 2.0)]), t(5));
    assert!(
        out.iter().any(|e| matches!(
            e,
            PointEvent::Quality {
                to: Quality::Good,
                first_value: false,
                ..
            }
        )),
        "{out:?}"
    );
}

/// A sample's slot is where the hub holds its point, one per point: the store keeps its
/// integer keys in an array by slot, so two points sharing one would merge histories.
#[test]
fn every_point_samples_with_its_own_slot() {
    let mut hub = hub();
    let ids: Vec<PointId> = hub.points().map(|p| p.id.clone()).collect();
    let values: Vec<(PointId, f64)> = ids.iter().map(|id| (id.clone(), 1.0)).collect();
    let out = hub.handle(
        SourceEvent::Polled {
            device: "pump1".into(),
            values,
        },
        t(0),
    );
    let slots: Vec<(PointId, usize)> = out
        .iter()
        .filter_map(|e| match e {
            PointEvent::Sample { point, slot, .. } => Some((point.clone(), (*slot)?.index())),
            _ => None,
        })
        .collect();
    assert_eq!(slots.len(), ids.len());
    for (point, index) in slots {
        assert_eq!(ids[index], point);
    }
}
