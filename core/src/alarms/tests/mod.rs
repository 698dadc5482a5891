//! Tests of the alarm engine, driven by explicit `now` values: one file per concern, with
//! the shared builders here.

mod comm;
mod config;
mod de;
mod escalation;
mod flood;
mod lifecycle;
mod masking;
mod meters;
mod patrol;
mod pumps;
mod restore;
mod thresholds;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::points::PointEvent;

/// Base time: Monday 2026-01-05 12:00:00 UTC (20:00 in Shanghai).
fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0)
        .single()
        .expect("valid time")
        + Duration::seconds(seconds)
}

fn mins(m: i64) -> i64 {
    m * 60
}

/// A rule on `point` (`device.name`), with its id `point:kind`.
fn rule(point: &str, kind: &str, spec: RuleSpec) -> AlarmRule {
    let device = point.split('.').next().unwrap_or(point).to_owned();
    AlarmRule {
        id: format!("{point}:{kind}"),
        point: point.to_owned(),
        device,
        unit: None,
        spec,
        message: format!("{point} {kind}"),
        message_zh: None,
    }
}

fn threshold(limit: f64, deadband: f64, on: i64, off: i64) -> ThresholdSpec {
    ThresholdSpec {
        limit,
        deadband,
        on_delay: Duration::seconds(on),
        off_delay: Duration::seconds(off),
        priority: None,
    }
}

/// The common case: a `high` alarm on `tank.level` at 80 with a deadband of 2.
fn high_rule() -> AlarmRule {
    rule(
        "tank.level",
        "high",
        RuleSpec::High(threshold(80.0, 2.0, 0, 0)),
    )
}

const HIGH: &str = "tank.level:high";

fn engine(rules: Vec<AlarmRule>) -> AlarmEngine {
    AlarmEngine::new(rules, AlarmConfig::default()).expect("valid rules")
}

fn sample(point: &str, value: f64, at: DateTime<Utc>) -> PointEvent {
    PointEvent::Sample {
        point: point.into(),
        value,
        at,
        record: true,
        slot: None,
    }
}

/// Feeds one sample at `at` and returns the events.
fn feed(engine: &mut AlarmEngine, point: &str, value: f64, at: DateTime<Utc>) -> Vec<AlarmEvent> {
    engine.on_point(&sample(point, value, at), at)
}

fn transitions(events: &[AlarmEvent]) -> Vec<Transition> {
    events.iter().map(|e| e.transition.clone()).collect()
}

/// Lifecycle transitions only: escalation steps are tested on their own.
fn lifecycle(events: &[AlarmEvent]) -> Vec<Transition> {
    transitions(events)
        .into_iter()
        .filter(|t| !matches!(t, Transition::Escalated { .. }))
        .collect()
}

fn state(engine: &AlarmEngine, id: &str) -> AlarmState {
    engine.alarm(id).expect("known alarm").state
}

fn ack(
    engine: &mut AlarmEngine,
    id: &str,
    at: DateTime<Utc>,
) -> Result<Vec<AlarmEvent>, AlarmError> {
    let cmd = AlarmCommand::Acknowledge {
        alarm: id.to_owned(),
        actor: "li.wei".to_owned(),
        note: Some("checked on site".to_owned()),
    };
    engine.command(cmd, at)
}
