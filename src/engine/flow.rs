//! How one book's decisions feed another: point events reach the alarm engine, alarm
//! transitions reach the incident policy, a missed patrol checkpoint reaches the alarm
//! engine as what it is (its route's `checkpoint_missed` rule), and findings open incidents
//! by their action.

use chrono::{DateTime, Utc};
use sitewatch_core::alarms::{AlarmEvent, Transition};
use sitewatch_core::incidents::{AlarmSignal, IncidentSource, NewIncident};
use sitewatch_core::patrol::{FindingAction, IncidentCategory, PatrolEvent};
use sitewatch_core::points::{PointEvent, SourceEvent};

use super::{Books, Output};

/// Points through the hub, then on to the alarms and incidents.
pub(super) fn source(books: &mut Books, ev: SourceEvent, now: DateTime<Utc>) -> Vec<Output> {
    let events = books.hub.handle(ev, now);
    points(books, events, now)
}

/// Point events on to the alarm engine.
pub(super) fn points(
    books: &mut Books,
    events: Vec<PointEvent>,
    now: DateTime<Utc>,
) -> Vec<Output> {
    let mut out = Vec::new();
    for ev in events {
        let alarm_events = books.alarms.on_point(&ev, now);
        out.push(Output::Point(ev));
        out.extend(alarms(books, alarm_events, now));
    }
    out
}

/// The estate's meters: a new register's rules, then the reads of vacant units' meters
/// since the last tick, each a sample for its vacant-consumption rule (issue 24).
pub(super) fn estate(books: &mut Books, now: DateTime<Utc>) -> Vec<Output> {
    books.estate.sync(&mut books.alarms);
    let mut out = Vec::new();
    for (point, value) in books.estate.new_reads() {
        out.extend(meter_sample(books, point, value, now));
    }
    out
}

/// A register meter's counter for its rule: not a point of the hub, so no point event.
pub(super) fn meter_sample(
    books: &mut Books,
    point: sitewatch_core::points::PointId,
    value: f64,
    now: DateTime<Utc>,
) -> Vec<Output> {
    let ev = PointEvent::Sample {
        point,
        value,
        at: now,
        record: false,
        slot: None,
    };
    let events = books.alarms.on_point(&ev, now);
    alarms(books, events, now)
}

/// Alarm events on to the incident policy.
pub(super) fn alarms(
    books: &mut Books,
    events: Vec<AlarmEvent>,
    now: DateTime<Utc>,
) -> Vec<Output> {
    let mut out = Vec::new();
    for ev in events {
        if matches!(
            ev.transition,
            Transition::Raised | Transition::Repeated { .. } | Transition::Acknowledged
        ) {
            let signal = signal(books, &ev);
            out.extend(
                books
                    .incidents
                    .on_alarm(signal, now)
                    .into_iter()
                    .map(Output::incident),
            );
        }
        out.push(Output::Alarm(Box::new(ev)));
    }
    out
}

fn signal(books: &Books, ev: &AlarmEvent) -> AlarmSignal {
    let alarm = books.alarms.alarm(&ev.alarm);
    AlarmSignal {
        alarm_id: ev.alarm.clone(),
        priority: ev.priority,
        category_hint: books
            .alarm_categories
            .get(&ev.alarm)
            .cloned()
            .unwrap_or_default(),
        raised_at: alarm.and_then(|a| a.raised_at).unwrap_or(ev.at),
        acknowledged: alarm.is_some_and(|a| a.acked_at.is_some()),
        message: ev.message.clone(),
        location: ev.device.clone(),
    }
}

/// Patrol events: a miss raises its route's alarm, a new tour clears it, findings open
/// incidents by their action.
pub(super) fn patrol(
    books: &mut Books,
    events: Vec<PatrolEvent>,
    now: DateTime<Utc>,
) -> Vec<Output> {
    let mut out = Vec::new();
    for ev in events {
        let missed = match &ev {
            PatrolEvent::CheckpointMissed { route, .. } => Some((route.clone(), true)),
            PatrolEvent::TourStarted { route, .. } => Some((route.clone(), false)),
            _ => None,
        };
        let incident = finding_incident(&ev);
        out.push(Output::patrol(ev));
        if let Some((route, missed)) = missed {
            let events = books.alarms.on_checkpoint(&route, missed, now);
            out.extend(alarms(books, events, now));
        }
        if let Some(new) = incident {
            out.extend(open(books, new, now));
        }
    }
    out
}

fn finding_incident(ev: &PatrolEvent) -> Option<NewIncident> {
    let PatrolEvent::FindingRecorded { finding, action } = ev else {
        return None;
    };
    let FindingAction::OpenIncident { category } = action else {
        return None;
    };
    Some(NewIncident {
        category: category_id(*category).into(),
        title: finding.text.clone(),
        location: finding.checkpoint.clone().unwrap_or_default(),
        reported_by: finding.guard.clone(),
        occurred_at: Some(finding.at),
        source: IncidentSource::PatrolFinding(finding.id.clone()),
    })
}

/// Opens an incident; a refusal (unknown category) is logged, never fatal.
pub(super) fn open(books: &mut Books, new: NewIncident, now: DateTime<Utc>) -> Vec<Output> {
    match books.incidents.open(new, now) {
        Ok((_, events)) => events.into_iter().map(Output::incident).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "incident not opened");
            Vec::new()
        }
    }
}

/// The incident catalogue's id for a patrol or inspection category.
pub fn category_id(c: IncidentCategory) -> &'static str {
    match c {
        IncidentCategory::WaterIngress => "water_ingress",
        IncidentCategory::Fire => "fire",
        IncidentCategory::EquipmentDamage => "equipment_damage",
        IncidentCategory::CustomerProperty => "customer_property",
        IncidentCategory::TheftRobbery => "theft_robbery",
        IncidentCategory::VehicleDamage => "vehicle_damage",
        IncidentCategory::PublicProperty => "third_party",
        IncidentCategory::Violation => "patrol_finding",
        IncidentCategory::Fault => "fault",
    }
}

/// The registers' periodic work (rules.md §13.23, §13.13): the `keys` alarm while a key set
/// is out past its return and grace; each read pump pair's run points, a change of the pump
/// running alone being a switch-over (a point that is not good says nothing).
pub(super) fn registers(b: &mut Books, now: DateTime<Utc>) -> Vec<Output> {
    let keys_late = b.vacant.keys_alarm(now);
    let events = (b.alarms).on_compliance(sitewatch_core::alarms::KEY_RETURN, keys_late, now);
    let mut out = alarms(b, events, now);
    let hub = &b.hub;
    let running = |p: &str| {
        let state = hub.point(p)?;
        (state.quality == sitewatch_core::points::Quality::Good).then_some(state.value? != 0.0)
    };
    let switched = b.maintenance.observe(running, now);
    out.extend(
        switched
            .into_iter()
            .map(|ev| Output::Maintenance(Box::new(ev))),
    );
    out
}
