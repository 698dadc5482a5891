//! Tests of the incident book, driven with explicit `now` values.

// House rule: unwrap is allowed in tests, where a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod alarms;
mod books;
mod claims;
mod clocks;
mod evidence;
mod handover;
mod kpi;
mod service;
mod workflow;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;

/// Thursday 2024-05-09 10:00 in Shanghai.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 9, 2, 0, 0).unwrap()
}

/// The default desk (08:30–22:00 in Shanghai) for requests' clocks.
static DESK: std::sync::LazyLock<Desk> = std::sync::LazyLock::new(Desk::default);

/// The request clocks on `calendar` and the default desk.
fn on(calendar: &WorkingCalendar) -> Clocks<'_> {
    Clocks {
        calendar,
        desk: &DESK,
    }
}

fn mins(m: i64) -> Duration {
    Duration::minutes(m)
}

fn book() -> IncidentBook {
    IncidentBook::new(IncidentsConfig::default()).unwrap()
}

fn new_incident(category: &str) -> NewIncident {
    NewIncident {
        category: category.to_owned(),
        title: "basement B2 flooding".to_owned(),
        location: "B2".to_owned(),
        reported_by: "desk".to_owned(),
        occurred_at: None,
        source: IncidentSource::Manual,
    }
}

fn open(book: &mut IncidentBook, category: &str) -> IncidentId {
    book.open(new_incident(category), t0()).unwrap().0
}

fn cmd(action: IncidentAction) -> IncidentCommand {
    IncidentCommand::new("li.wei", action)
}

fn apply(
    book: &mut IncidentBook,
    id: IncidentId,
    action: IncidentAction,
    at: DateTime<Utc>,
) -> Vec<IncidentEvent> {
    book.apply(id, cmd(action), at).unwrap()
}

fn breaches(events: &[IncidentEvent]) -> Vec<SlaKind> {
    events
        .iter()
        .filter_map(|e| match e.kind {
            IncidentEventKind::SlaBreached { sla, .. } => Some(sla),
            _ => None,
        })
        .collect()
}

fn file(kind: AttachmentKind, id: &str) -> IncidentAction {
    IncidentAction::Attach(NewAttachment {
        id: id.to_owned(),
        kind,
        content_type: "image/jpeg".to_owned(),
        size_bytes: 2_000_000,
        caption: format!("{id}.jpg"),
    })
}

/// A complete insurer call made at `at`, under control an hour after `t0` (rules.md §2.5
/// step 6, §13.4).
fn call_at(at: DateTime<Utc>) -> InsurerCall {
    InsurerCall {
        called_at: Some(at),
        under_control_at: Some(t0() + mins(60).min(at - t0())),
        insurer: "PICC Shenzhen".to_owned(),
        spoken_to: "Ms Zhou".to_owned(),
        reference: "RPT-2024-0509-17".to_owned(),
        insured_object: "B2 plant room".to_owned(),
        policy_number: "PA-2024-0098".to_owned(),
        cause: "burst riser".to_owned(),
        place: "B2".to_owned(),
        loss_outline: "two pumps wet".to_owned(),
    }
}

/// The insurer call as an action, at `t0`.
fn insurer_call() -> IncidentAction {
    IncidentAction::NotifyInsurer(call_at(t0()))
}
