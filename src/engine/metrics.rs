//! What the engine's books show in `/metrics`: point values and quality, devices up,
//! rejected input, patrol, inspections, incidents and alarms. Registered once in the
//! daemon's registry; the engine follows every decision with [`EngineMetrics::output`]
//! and sets the book gauges once a tick with [`EngineMetrics::books`].

use chrono::{DateTime, Utc};
use prometheus::{Counter, GaugeVec, IntCounterVec, IntGauge, IntGaugeVec};
use sitewatch_core::alarms::AlarmStats;
use sitewatch_core::compliance::ComplianceState;
use sitewatch_core::incidents::{
    IncidentEvent, IncidentEventKind, Kpi, RequestEventKind, ServiceFigures,
};
use sitewatch_core::inspections::DueState;
use sitewatch_core::maintenance::TaskState;
use sitewatch_core::patrol::PatrolEvent;
use sitewatch_core::points::{PointEvent, PointId};

use super::{Books, Output, ServiceMetrics};
use crate::metrics::Registry;

/// Cheap-clone handle to the engine's metrics.
#[derive(Debug, Clone)]
pub struct EngineMetrics {
    registry: Registry,
    /// The service-request figures, which the request book now drives.
    service: ServiceMetrics,
    source_rejects: IntCounterVec,
    patrol_scans: IntCounterVec,
    patrol_missed: IntCounterVec,
    patrol_tours: IntCounterVec,
    inspections_overdue: IntGaugeVec,
    meters_unread: IntGauge,
    compliance_due: IntGaugeVec,
    keys_overdue: IntGauge,
    keys_missing: IntGauge,
    maintenance_due: IntGaugeVec,
    incident_events: IntCounterVec,
    incident_breaches: IntCounterVec,
    incidents_open: IntGaugeVec,
    alarm_transitions: IntCounterVec,
    alarms_active: IntGaugeVec,
    alarm_figures: GaugeVec,
    alarm_flood_seconds: Counter,
}

impl EngineMetrics {
    /// Creates and registers the engine's families in `r`; `service` are the request
    /// figures its request book moves, registered by their owner.
    pub fn register(r: &Registry, service: ServiceMetrics) -> Self {
        Self {
            registry: r.clone(),
            service,
            source_rejects: r.counter(
                "sitewatch_source_rejects_total",
                "Input dropped because it could not be placed or parsed.",
                &["source", "reason"],
            ),
            patrol_scans: r.counter(
                "sitewatch_patrol_scans_total",
                "Checkpoint scans by verdict (ok, unknown_tag, out_of_order, duplicate, …).",
                &["result"],
            ),
            patrol_missed: r.counter(
                "sitewatch_patrol_checkpoints_missed_total",
                "Checkpoints not scanned by their tour's deadline.",
                &["route"],
            ),
            patrol_tours: r.counter(
                "sitewatch_patrol_tours_total",
                "Closed tours by outcome (on_time, late, incomplete).",
                &["route", "outcome"],
            ),
            inspections_overdue: r.int_gauge(
                "sitewatch_inspections_due",
                "Vacant units due or overdue for inspection.",
                &["state"],
            ),
            meters_unread: r.one_int_gauge(
                "sitewatch_meters_unread_at_cutoff",
                "Unit meters with no reading at the last billing cut-off (rules.md §13.10).",
            ),
            compliance_due: r.int_gauge(
                "sitewatch_compliance_due",
                "Compliance-register items due within 30 days (due_soon) or overdue (rules.md §13.24).",
                &["state"],
            ),
            keys_overdue: r.one_int_gauge(
                "sitewatch_keys_overdue",
                "Key sets out past their expected return (rules.md §13.23).",
            ),
            keys_missing: r.one_int_gauge(
                "sitewatch_keys_missing",
                "Key sets missing at the last inventory and not found since (rules.md §13.23).",
            ),
            maintenance_due: r.int_gauge(
                "sitewatch_maintenance_due",
                "Plant maintenance tasks due within 7 days (due_soon) or overdue (rules.md §13.13).",
                &["state"],
            ),
            incident_events: r.counter(
                "sitewatch_incident_events_total",
                "Incident timeline entries by kind.",
                &["kind"],
            ),
            incident_breaches: r.counter(
                "sitewatch_incident_sla_breaches_total",
                "SLA clocks that ran out unmet.",
                &["sla"],
            ),
            incidents_open: r.int_gauge(
                "sitewatch_incidents_open",
                "Open incidents by category and state.",
                &["category", "state"],
            ),
            alarm_transitions: r.counter(
                "sitewatch_alarm_transitions_total",
                "Alarm lifecycle transitions (raised, cleared, acknowledged, shelved, escalated, …) by priority.",
                &["transition", "priority"],
            ),
            alarms_active: r.int_gauge(
                "sitewatch_alarms",
                "Alarms not in normal, by priority and state.",
                &["priority", "state"],
            ),
            alarm_figures: r.gauge(
                "sitewatch_alarm_load",
                "ISA-18.2 / EEMUA 191 figures: raised_last_10m, in_flood, chattering, standing_stale, shelved, suppressed, out_of_service.",
                &["figure"],
            ),
            alarm_flood_seconds: r.float_counter(
                "sitewatch_alarm_flood_seconds_total",
                "Time spent in alarm flood (more than 10 new alarms in 10 minutes).",
            ),
        }
    }

    /// Declares the devices and points so they show before the first poll: all at once,
    /// so the point table is sorted once at start, not once per device.
    pub fn declare(&self, devices: &[&str], points: &[PointId]) {
        for device in devices {
            self.registry.devices().up(device, true);
        }
        self.registry.points().declare(points);
    }

    /// Follows what the points hub decided.
    pub fn point_event(&self, ev: &PointEvent) {
        match ev {
            PointEvent::Sample { point, value, .. } => {
                self.registry.points().value(point, *value);
            }
            PointEvent::Quality { point, to, .. } => self.registry.points().quality(point, *to),
            PointEvent::Device { device, up, .. } => self.registry.devices().up(device, *up),
            // Label values are snake_case: "unknown device" -> "unknown_device".
            PointEvent::Rejected { reason, .. } => {
                self.reject("points", &reason.replace(' ', "_"));
            }
        }
    }

    /// Input dropped; `reason` must come from a fixed set.
    pub fn reject(&self, source: &str, reason: &str) {
        self.source_rejects
            .with_label_values(&[source, reason])
            .inc();
    }

    /// Follows every decision of the core.
    pub fn output(&self, out: &Output) {
        match out {
            Output::Point(ev) => self.point_event(ev),
            Output::Scan(rec) => self
                .patrol_scans
                .with_label_values(&[rec.result.as_str()])
                .inc(),
            Output::Patrol(ev) => self.patrol_event(ev),
            Output::Incident(ev) => self.incident_event(ev),
            Output::Inspection(_)
            | Output::Vacant(_)
            | Output::Handover(_)
            | Output::DutyLog(_)
            | Output::Maintenance(_)
            | Output::Compliance(_) => {}
            Output::Request(ev, kind) => {
                if let RequestEventKind::ChaserIssued { .. } = ev.kind {
                    self.service.chasers(kind.as_str(), 1);
                }
            }
            Output::Alarm(ev) => {
                let t = serde_json::to_value(&ev.transition).ok();
                let name = t
                    .as_ref()
                    .and_then(|v| v.get("kind"))
                    .and_then(|k| k.as_str())
                    .unwrap_or("other");
                self.alarm_transitions
                    .with_label_values(&[name, ev.priority.as_str()])
                    .inc();
            }
        }
    }

    fn patrol_event(&self, ev: &PatrolEvent) {
        match ev {
            PatrolEvent::CheckpointMissed { route, .. } => {
                self.patrol_missed.with_label_values(&[route]).inc();
            }
            PatrolEvent::TourCompleted { tour, on_time, .. } => {
                let outcome = if *on_time { "on_time" } else { "late" };
                self.patrol_tours
                    .with_label_values(&[&tour.route, outcome])
                    .inc();
            }
            PatrolEvent::TourIncomplete { tour, .. } => {
                self.patrol_tours
                    .with_label_values(&[&tour.route, "incomplete"])
                    .inc();
            }
            _ => {}
        }
    }

    fn incident_event(&self, ev: &IncidentEvent) {
        // `IncidentEventKind` is tagged by `type`; its `kind` field (attachments) is no kind.
        let kind = serde_json::to_value(&ev.kind).ok();
        let name = kind
            .as_ref()
            .and_then(|k| k.get("type"))
            .and_then(|k| k.as_str())
            .unwrap_or("other");
        self.incident_events.with_label_values(&[name]).inc();
        if let IncidentEventKind::SlaBreached { sla, .. } = &ev.kind {
            self.incident_breaches
                .with_label_values(&[sla.as_str()])
                .inc();
        }
    }

    /// The current month's KPIs and their targets (counted by the tick once a minute).
    pub fn kpis(&self, kpis: &[Kpi]) {
        self.service.set_kpis(kpis);
    }

    /// The key register's and the maintenance book's gauges.
    fn registers(&self, books: &Books, now: DateTime<Utc>) {
        let keys = books.vacant.keys();
        self.keys_overdue
            .set(books.vacant.keys_overdue(now).len() as i64);
        let missing = keys.sets().filter(|s| s.missing_since.is_some()).count();
        self.keys_missing.set(missing as i64);
        let today = sitewatch_core::compliance::site_day(now, books.tz);
        for (label, state) in [
            ("due_soon", TaskState::DueSoon),
            ("overdue", TaskState::Overdue),
        ] {
            let n = books.maintenance.count(state, today) as i64;
            self.maintenance_due.with_label_values(&[label]).set(n);
        }
    }

    /// Gauges read from the books once a tick.
    pub fn books(&self, books: &Books, now: DateTime<Utc>) {
        let due = books.vacant.due(now);
        let count = |s: DueState| due.iter().filter(|d| d.state == s).count() as i64;
        self.inspections_overdue
            .with_label_values(&["due"])
            .set(count(DueState::Due));
        self.inspections_overdue
            .with_label_values(&["overdue"])
            .set(count(DueState::Overdue));
        self.meters_unread.set(books.meters.unread() as i64);
        for (label, state) in [
            ("due_soon", ComplianceState::DueSoon),
            ("overdue", ComplianceState::Overdue),
        ] {
            let n = books.compliance.count(state, now) as i64;
            self.compliance_due.with_label_values(&[label]).set(n);
        }
        self.registers(books, now);
        self.alarm_stats(&books.alarms.stats(now));
        self.incidents_open.reset();
        for ((category, state), n) in books.incidents.figures().open {
            self.incidents_open
                .with_label_values(&[&category, state.as_str()])
                .set(n as i64);
        }
        self.service_figures(&books.requests.figures(now));
    }

    fn service_figures(&self, f: &ServiceFigures) {
        let counts: Vec<(String, String, i64)> = f
            .by_state
            .iter()
            .map(|((kind, state), n)| ((*kind).to_owned(), state.as_str().to_owned(), *n as i64))
            .collect();
        let overdue: Vec<(&str, i64)> = f.overdue.iter().map(|(k, n)| (*k, *n as i64)).collect();
        self.service.set_requests(&counts, &overdue);
        self.service.set_followup_rate(f.followed_up, f.completed);
    }

    fn alarm_stats(&self, st: &AlarmStats) {
        for c in &st.counts {
            self.alarms_active
                .with_label_values(&[c.priority.as_str(), c.state.as_str()])
                .set(i64::from(c.count));
        }
        let figures = [
            ("raised_last_10m", f64::from(st.raised_in_window)),
            ("in_flood", f64::from(u8::from(st.in_flood))),
            ("chattering", f64::from(st.chattering)),
            ("standing_stale", f64::from(st.stale)),
            ("shelved", f64::from(st.shelved)),
            ("suppressed", f64::from(st.suppressed)),
            ("out_of_service", f64::from(st.out_of_service)),
        ];
        for (name, v) in figures {
            self.alarm_figures.with_label_values(&[name]).set(v);
        }
        let delta = st.flood_seconds_total - self.alarm_flood_seconds.get();
        if delta > 0.0 {
            self.alarm_flood_seconds.inc_by(delta);
        }
    }
}
