//! The Prometheus registry and one method per thing worth counting. Names follow the
//! Prometheus conventions (`sitewatch_` prefix, base units, `_total` counters) and labels
//! are bounded by the site config (devices, points), never by record ids.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use sitewatch_core::alarms::AlarmStats;
use sitewatch_core::incidents::{
    IncidentEvent, IncidentEventKind, RequestEventKind, ServiceFigures,
};
use sitewatch_core::inspections::DueState;
use sitewatch_core::patrol::PatrolEvent;
use sitewatch_core::points::{PointEvent, PointId};

use crate::devices::payload::RejectReason;
use crate::engine::{Books, Output};

mod devices;
mod points;
mod writes;

pub use writes::StoreMetrics;

/// Cheap-clone handle to every metric.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    points: points::PointTable,
    /// Device up and the Modbus families.
    devices: devices::DeviceTable,
    source_rejects: IntCounterVec,
    store_writes: IntCounterVec,
    store_errors: IntCounterVec,
    store: writes::StoreMetrics,
    patrol_scans: IntCounterVec,
    patrol_missed: IntCounterVec,
    patrol_tours: IntCounterVec,
    inspections_overdue: IntGaugeVec,
    incident_events: IntCounterVec,
    incident_breaches: IntCounterVec,
    incidents_open: IntGaugeVec,
    alarm_transitions: IntCounterVec,
    alarms_active: IntGaugeVec,
    alarm_figures: GaugeVec,
    alarm_flood_seconds: prometheus::Counter,
    mqtt: MqttMetrics,
    mqtt_out_sent: prometheus::IntCounter,
    mqtt_out_early: prometheus::IntCounter,
    mqtt_out_connected: prometheus::IntGauge,
    outbox_backlog: IntGaugeVec,
    login_failures: IntCounterVec,
    service: crate::customers::ServiceMetrics,
    notify: crate::notify::NotifyMetrics,
    paging: crate::paging::PagingMetrics,
}

/// What becomes of an MQTT message.
const MESSAGE_RESULTS: [&str; 3] = ["ok", "scan", "rejected"];

/// The MQTT source's clients: device readings, and the NFC readers' scans.
const MQTT_CLIENTS: [&str; 2] = ["readings", "scans"];

#[derive(Debug)]
struct MqttMetrics {
    messages: IntCounterVec,
    /// The `messages` children by result, looked up once: every message counts one, and a
    /// label look-up (hash and lock) per message sat on the ingest path.
    by_result: [prometheus::IntCounter; 3],
    rejects: IntCounterVec,
    connected: IntGaugeVec,
    /// Per client (`readings`, `scans`); `connected` is 1 only when every one is.
    client_connected: IntGaugeVec,
    reconnects: IntCounterVec,
    backlog_dropped: IntCounterVec,
    scan_store_retries: prometheus::IntCounter,
    broker_dropped: prometheus::IntGauge,
}

impl MqttMetrics {
    fn new(r: &Registry) -> Self {
        let messages = counter(
            r,
            "sitewatch_mqtt_messages_total",
            "MQTT messages received, by result (ok, scan, rejected).",
            &["result"],
        );
        let by_result = MESSAGE_RESULTS.map(|result| messages.with_label_values(&[result]));
        let m = Self {
            messages,
            by_result,
            rejects: counter(
                r,
                "sitewatch_mqtt_rejects_total",
                "MQTT payloads or fields dropped, by reason (a fixed set).",
                &["reason"],
            ),
            connected: int_gauge(
                r,
                "sitewatch_mqtt_connected",
                "1 when connected to the broker with every subscription acknowledged.",
                &[],
            ),
            client_connected: int_gauge(
                r,
                "sitewatch_mqtt_client_connected",
                "1 when this client (readings, scans) is connected and subscribed.",
                &["client"],
            ),
            reconnects: counter(
                r,
                "sitewatch_mqtt_connection_failures_total",
                "MQTT connections lost or refused, each followed by a reconnect, by client.",
                &["client"],
            ),
            backlog_dropped: counter(
                r,
                "sitewatch_mqtt_backlog_dropped_total",
                "QoS 0 messages dropped because the client's backlog was full (QoS 1 ones \
                 stay unacknowledged instead), by client.",
                &["client"],
            ),
            scan_store_retries: {
                let c = prometheus::IntCounter::new(
                    "sitewatch_scan_store_retries_total",
                    "Failed attempts to store a reader's scan; each is retried until stored.",
                )
                .expect("valid metric");
                r.register(Box::new(c.clone())).expect("unique metric");
                c
            },
            broker_dropped: {
                let g = prometheus::IntGauge::new(
                    "sitewatch_mqtt_broker_dropped_messages",
                    "Messages the broker dropped for all its clients since it started \
                     (Mosquitto's $SYS/broker/publish/messages/dropped).",
                )
                .expect("valid metric");
                r.register(Box::new(g.clone())).expect("unique metric");
                g
            },
        };
        for reason in RejectReason::ALL {
            m.rejects.with_label_values(&[reason.as_str()]);
        }
        for client in MQTT_CLIENTS {
            m.client_connected.with_label_values(&[client]);
            m.reconnects.with_label_values(&[client]);
            m.backlog_dropped.with_label_values(&[client]);
        }
        m
    }
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

fn int_gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

impl Metrics {
    /// A fresh registry with every sitewatch metric and the process collector.
    #[allow(clippy::expect_used)] // metric definitions are static; a clash is a bug at start-up
    pub fn new() -> Metrics {
        let r = Registry::new();
        let build = int_gauge(
            &r,
            "sitewatch_build_info",
            "Build of the running daemon.",
            &["version"],
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        r.register(Box::new(crate::http::API_ERRORS.clone()))
            .expect("unique metric");
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("process collector");
        Metrics(Arc::new(Inner {
            points: points::PointTable::default(),
            devices: devices::DeviceTable::default(),
            source_rejects: counter(
                &r,
                "sitewatch_source_rejects_total",
                "Input dropped because it could not be placed or parsed.",
                &["source", "reason"],
            ),
            store_writes: counter(
                &r,
                "sitewatch_store_rows_written_total",
                "Rows written to the store.",
                &["table"],
            ),
            store_errors: counter(
                &r,
                "sitewatch_store_errors_total",
                "Failed store writes (retried).",
                &["table"],
            ),
            store: writes::StoreMetrics::register(&r),
            patrol_scans: counter(
                &r,
                "sitewatch_patrol_scans_total",
                "Checkpoint scans by verdict (ok, unknown_tag, out_of_order, duplicate, …).",
                &["result"],
            ),
            patrol_missed: counter(
                &r,
                "sitewatch_patrol_checkpoints_missed_total",
                "Checkpoints not scanned by their tour's deadline.",
                &["route"],
            ),
            patrol_tours: counter(
                &r,
                "sitewatch_patrol_tours_total",
                "Closed tours by outcome (on_time, late, incomplete).",
                &["route", "outcome"],
            ),
            inspections_overdue: int_gauge(
                &r,
                "sitewatch_inspections_due",
                "Vacant units due or overdue for inspection.",
                &["state"],
            ),
            incident_events: counter(
                &r,
                "sitewatch_incident_events_total",
                "Incident timeline entries by kind.",
                &["kind"],
            ),
            incident_breaches: counter(
                &r,
                "sitewatch_incident_sla_breaches_total",
                "SLA clocks that ran out unmet.",
                &["sla"],
            ),
            incidents_open: int_gauge(
                &r,
                "sitewatch_incidents_open",
                "Open incidents by category and state.",
                &["category", "state"],
            ),
            alarm_transitions: counter(
                &r,
                "sitewatch_alarm_transitions_total",
                "Alarm lifecycle transitions (raised, cleared, acknowledged, shelved, escalated, …) by priority.",
                &["transition", "priority"],
            ),
            alarms_active: int_gauge(
                &r,
                "sitewatch_alarms",
                "Alarms not in normal, by priority and state.",
                &["priority", "state"],
            ),
            alarm_figures: gauge(
                &r,
                "sitewatch_alarm_load",
                "ISA-18.2 / EEMUA 191 figures: raised_last_10m, in_flood, chattering, standing_stale, shelved, suppressed, out_of_service.",
                &["figure"],
            ),
            alarm_flood_seconds: {
                let c = prometheus::Counter::new(
                    "sitewatch_alarm_flood_seconds_total",
                    "Time spent in alarm flood (more than 10 new alarms in 10 minutes).",
                )
                .expect("valid metric");
                r.register(Box::new(c.clone())).expect("unique metric");
                c
            },
            mqtt: MqttMetrics::new(&r),
            mqtt_out_sent: {
                let c = prometheus::IntCounter::new(
                    "sitewatch_mqtt_published_total",
                    "Outbox messages confirmed by the broker (QoS 1 PUBACK).",
                )
                .expect("valid metric");
                r.register(Box::new(c.clone())).expect("unique metric");
                c
            },
            mqtt_out_early: {
                let c = prometheus::IntCounter::new(
                    "sitewatch_mqtt_published_early_total",
                    "Outbox messages confirmed by the broker before the database kept them \
                     (sent from the store backlog while writes fail; also in \
                     sitewatch_mqtt_published_total).",
                )
                .expect("valid metric");
                r.register(Box::new(c.clone())).expect("unique metric");
                c
            },
            mqtt_out_connected: {
                let g = prometheus::IntGauge::new(
                    "sitewatch_mqtt_publisher_connected",
                    "1 while the publisher is connected to the broker.",
                )
                .expect("valid metric");
                r.register(Box::new(g.clone())).expect("unique metric");
                g
            },
            outbox_backlog: int_gauge(
                &r,
                "sitewatch_outbox_backlog",
                "Messages waiting in the outbox, by channel.",
                &["channel"],
            ),
            login_failures: {
                let c = counter(
                    &r,
                    "sitewatch_login_failures_total",
                    "Refused log-ins, by reason (bad_credentials, rate_limited, unavailable).",
                    &["reason"],
                );
                for reason in ["bad_credentials", "rate_limited", "unavailable"] {
                    c.with_label_values(&[reason]);
                }
                c
            },
            service: crate::customers::ServiceMetrics::register(&r),
            notify: crate::notify::NotifyMetrics::register(&r),
            paging: crate::paging::PagingMetrics::register(&r),
            registry: r,
        }))
    }

    /// Service-request, notice and follow-up metrics.
    pub fn service(&self) -> &crate::customers::ServiceMetrics {
        &self.0.service
    }

    /// The store writer's backlog and health.
    pub fn store(&self) -> &StoreMetrics {
        &self.0.store
    }

    /// Notice message metrics.
    pub fn notify(&self) -> &crate::notify::NotifyMetrics {
        &self.0.notify
    }

    /// The paging families.
    pub fn paging(&self) -> &crate::paging::PagingMetrics {
        &self.0.paging
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let families = self.0.registry.gather();
        if TextEncoder::new().encode(&families, &mut buf).is_err() {
            return String::new();
        }
        let mut text = String::from_utf8(buf).unwrap_or_default();
        self.0.devices.render(&mut text);
        self.0.points.render(&mut text);
        text
    }

    /// Declares the devices and points so they show before the first poll: all at once,
    /// so the point table is sorted once at start, not once per device.
    pub fn declare(&self, devices: &[&str], points: &[PointId]) {
        for device in devices {
            self.0.devices.up(device, true);
        }
        self.0.points.declare(points);
    }

    /// Follows what the points hub decided.
    pub fn point_event(&self, ev: &PointEvent) {
        match ev {
            PointEvent::Sample { point, value, .. } => {
                self.0.points.value(point, *value);
            }
            PointEvent::Quality { point, to, .. } => self.0.points.quality(point, *to),
            PointEvent::Device { device, up, .. } => self.0.devices.up(device, *up),
            // Label values are snake_case: "unknown device" -> "unknown_device".
            PointEvent::Rejected { reason, .. } => {
                self.reject("points", &reason.replace(' ', "_"));
            }
        }
    }

    /// Follows every decision of the core.
    pub fn output(&self, out: &Output) {
        match out {
            Output::Point(ev) => self.point_event(ev),
            Output::Scan(rec) => self
                .0
                .patrol_scans
                .with_label_values(&[rec.result.as_str()])
                .inc(),
            Output::Patrol(ev) => self.patrol_event(ev),
            Output::Incident(ev) => self.incident_event(ev),
            Output::Inspection(_) | Output::Vacant(_) | Output::Handover(_) => {}
            Output::Request(ev, kind) => {
                if let RequestEventKind::ChaserIssued { .. } = ev.kind {
                    self.service().chasers(kind.as_str(), 1);
                }
            }
            Output::Alarm(ev) => {
                let t = serde_json::to_value(&ev.transition).ok();
                let name = t
                    .as_ref()
                    .and_then(|v| v.get("kind"))
                    .and_then(|k| k.as_str())
                    .unwrap_or("other");
                self.0
                    .alarm_transitions
                    .with_label_values(&[name, ev.priority.as_str()])
                    .inc();
            }
        }
    }

    fn patrol_event(&self, ev: &PatrolEvent) {
        match ev {
            PatrolEvent::CheckpointMissed { route, .. } => {
                self.0.patrol_missed.with_label_values(&[route]).inc();
            }
            PatrolEvent::TourCompleted { tour, on_time, .. } => {
                let outcome = if *on_time { "on_time" } else { "late" };
                self.0
                    .patrol_tours
                    .with_label_values(&[&tour.route, outcome])
                    .inc();
            }
            PatrolEvent::TourIncomplete { tour, .. } => {
                self.0
                    .patrol_tours
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
        self.0.incident_events.with_label_values(&[name]).inc();
        if let IncidentEventKind::SlaBreached { sla, .. } = &ev.kind {
            self.0
                .incident_breaches
                .with_label_values(&[sla.as_str()])
                .inc();
        }
    }

    /// Gauges read from the books once a tick.
    pub fn books(&self, books: &Books, now: DateTime<Utc>) {
        let due = books.vacant.due(now);
        let count = |s: DueState| due.iter().filter(|d| d.state == s).count() as i64;
        self.0
            .inspections_overdue
            .with_label_values(&["due"])
            .set(count(DueState::Due));
        self.0
            .inspections_overdue
            .with_label_values(&["overdue"])
            .set(count(DueState::Overdue));
        self.alarm_stats(&books.alarms.stats(now));
        self.0.incidents_open.reset();
        for ((category, state), n) in books.incidents.figures().open {
            self.0
                .incidents_open
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
        self.service().set_requests(&counts, &overdue);
        self.service().set_followup_rate(f.followed_up, f.completed);
    }

    fn alarm_stats(&self, st: &AlarmStats) {
        for c in &st.counts {
            self.0
                .alarms_active
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
            self.0.alarm_figures.with_label_values(&[name]).set(v);
        }
        let delta = st.flood_seconds_total - self.0.alarm_flood_seconds.get();
        if delta > 0.0 {
            self.0.alarm_flood_seconds.inc_by(delta);
        }
    }

    /// Outbox messages the broker confirmed.
    pub fn mqtt_out_sent(&self, n: usize) {
        self.0.mqtt_out_sent.inc_by(n as u64);
    }

    /// Outbox messages the broker confirmed before the database kept them.
    pub fn mqtt_out_early(&self, n: usize) {
        self.0.mqtt_out_early.inc_by(n as u64);
    }

    /// Whether the publisher is connected.
    pub fn mqtt_out_connected(&self, up: bool) {
        self.0.mqtt_out_connected.set(i64::from(up));
    }

    /// A refused log-in (`bad_credentials`, `rate_limited`).
    pub fn login_failure(&self, reason: &str) {
        self.0.login_failures.with_label_values(&[reason]).inc();
    }

    /// Messages waiting in the outbox.
    pub fn outbox_backlog(&self, channel: &str, n: i64) {
        self.0.outbox_backlog.with_label_values(&[channel]).set(n);
    }

    /// A device's Modbus request metrics, looked up once: the bus records every request,
    /// and a look-up per request (a lock and a search) showed in the polling benchmark.
    /// Declares the device's Modbus series (requests, latency, skipped polls) at zero.
    pub fn modbus_device(&self, device: &str) -> ModbusDeviceMetrics {
        ModbusDeviceMetrics(self.0.devices.modbus(device))
    }

    /// Share of recent time the bus `bus` spent on requests.
    pub fn bus_utilisation(&self, bus: &str, ratio: f64) {
        self.0.devices.bus(bus, ratio);
    }

    /// Input dropped; `reason` must come from a fixed set.
    pub fn reject(&self, source: &str, reason: &str) {
        self.0
            .source_rejects
            .with_label_values(&[source, reason])
            .inc();
    }

    /// Rows written.
    pub fn stored(&self, table: &str, rows: usize) {
        self.0
            .store_writes
            .with_label_values(&[table])
            .inc_by(rows as u64);
    }

    /// One MQTT message and what became of it (`ok`, `scan`, `rejected`).
    pub fn mqtt_message(&self, result: &'static str) {
        let mqtt = &self.0.mqtt;
        match MESSAGE_RESULTS.iter().position(|r| *r == result) {
            Some(i) => mqtt.by_result[i].inc(),
            None => mqtt.messages.with_label_values(&[result]).inc(),
        }
    }

    /// One MQTT payload, or one field of it, dropped.
    pub fn mqtt_reject(&self, reason: RejectReason) {
        self.0
            .mqtt
            .rejects
            .with_label_values(&[reason.as_str()])
            .inc();
    }

    /// What the broker says it dropped since it started, for all its clients.
    pub fn mqtt_broker_dropped(&self, n: i64) {
        self.0.mqtt.broker_dropped.set(n);
    }

    /// Whether one MQTT source client is connected and subscribed; the overall gauge is 1
    /// only when every client is.
    pub fn mqtt_connected(&self, client: &str, up: bool) {
        let mqtt = &self.0.mqtt;
        mqtt.client_connected
            .with_label_values(&[client])
            .set(i64::from(up));
        let all = MQTT_CLIENTS
            .iter()
            .all(|c| mqtt.client_connected.with_label_values(&[c]).get() == 1);
        let gauge = mqtt.connected.with_label_values::<&str>(&[]);
        gauge.set(i64::from(all));
    }

    /// An MQTT client's connection failed (it reconnects after a back-off).
    pub fn mqtt_reconnect(&self, client: &str) {
        self.0.mqtt.reconnects.with_label_values(&[client]).inc();
    }

    /// A QoS 0 message dropped because the client's backlog was full.
    pub fn mqtt_backlog_dropped(&self, client: &str) {
        self.0
            .mqtt
            .backlog_dropped
            .with_label_values(&[client])
            .inc();
    }

    /// A reader's scan could not be stored this time (it is retried).
    pub fn scan_store_retry(&self) {
        self.0.mqtt.scan_store_retries.inc();
    }

    /// A failed write.
    pub fn store_error(&self, table: &str) {
        self.0.store_errors.with_label_values(&[table]).inc();
    }
}

/// One device's Modbus request counters and latency histogram.
#[derive(Debug, Clone)]
pub struct ModbusDeviceMetrics(Arc<devices::ModbusSlot>);

impl ModbusDeviceMetrics {
    /// One request and how it ended (`ok`, `exception`, `timeout`, anything else: `error`).
    pub fn request(&self, took: Duration, result: &str) {
        self.0.request(took, result);
    }

    /// Polls skipped because the device's bus was busy when they were due.
    pub fn skipped(&self, polls: u64) {
        self.0.skipped(polls);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
