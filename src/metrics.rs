//! The Prometheus registry and one method per thing worth counting. Names follow the
//! Prometheus conventions (`sitewatch_` prefix, base units, `_total` counters) and labels
//! are bounded by the site config (devices, points), never by record ids.

use std::sync::Arc;
use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sitewatch_core::points::{PointEvent, Quality};

const QUALITIES: [Quality; 4] = [
    Quality::Good,
    Quality::Stale,
    Quality::CommLost,
    Quality::BadConfig,
];

/// Cheap-clone handle to every metric.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    point_value: GaugeVec,
    point_quality: IntGaugeVec,
    device_up: IntGaugeVec,
    modbus_requests: IntCounterVec,
    modbus_latency: HistogramVec,
    modbus_skipped: IntCounterVec,
    bus_utilisation: GaugeVec,
    source_rejects: IntCounterVec,
    store_writes: IntCounterVec,
    store_errors: IntCounterVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
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
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("process collector");
        let point_value = GaugeVec::new(
            Opts::new(
                "sitewatch_point_value",
                "Last value of a point, in its engineering unit.",
            ),
            &["point"],
        )
        .expect("valid metric");
        r.register(Box::new(point_value.clone()))
            .expect("unique metric");
        let modbus_latency = HistogramVec::new(
            HistogramOpts::new(
                "sitewatch_modbus_request_duration_seconds",
                "Time for one Modbus request, answered or not.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["device"],
        )
        .expect("valid metric");
        r.register(Box::new(modbus_latency.clone()))
            .expect("unique metric");
        let bus_utilisation = GaugeVec::new(
            Opts::new(
                "sitewatch_modbus_bus_utilisation_ratio",
                "Share of the last second a bus spent on requests (1 = saturated).",
            ),
            &["bus"],
        )
        .expect("valid metric");
        r.register(Box::new(bus_utilisation.clone()))
            .expect("unique metric");
        Metrics(Arc::new(Inner {
            point_value,
            bus_utilisation,
            modbus_skipped: counter(
                &r,
                "sitewatch_modbus_polls_skipped_total",
                "Polls skipped because the device's bus was still busy when they were due.",
                &["device"],
            ),
            point_quality: int_gauge(
                &r,
                "sitewatch_point_quality",
                "1 for the point's current quality (good, stale, comm_lost, bad_config).",
                &["point", "quality"],
            ),
            device_up: int_gauge(
                &r,
                "sitewatch_device_up",
                "1 when the device answers its polls.",
                &["device"],
            ),
            modbus_requests: counter(
                &r,
                "sitewatch_modbus_requests_total",
                "Modbus requests by result (ok, exception, timeout, error).",
                &["device", "result"],
            ),
            modbus_latency,
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
            registry: r,
        }))
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let families = self.0.registry.gather();
        if TextEncoder::new().encode(&families, &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Declares a device and its points so they show before the first poll.
    pub fn declare(&self, device: &str, points: &[String]) {
        self.0.device_up.with_label_values(&[device]).set(1);
        for p in points {
            self.set_quality(p, Quality::Stale);
        }
    }

    /// Follows what the points hub decided.
    pub fn point_event(&self, ev: &PointEvent) {
        match ev {
            PointEvent::Sample { point, value, .. } => {
                self.0.point_value.with_label_values(&[point]).set(*value);
            }
            PointEvent::Quality { point, to, .. } => self.set_quality(point, *to),
            PointEvent::Device { device, up, .. } => {
                self.0
                    .device_up
                    .with_label_values(&[device])
                    .set(i64::from(*up));
            }
            PointEvent::Rejected { reason, .. } => self.reject("points", reason),
        }
    }

    fn set_quality(&self, point: &str, now: Quality) {
        for q in QUALITIES {
            let v = i64::from(q == now);
            self.0
                .point_quality
                .with_label_values(&[point, q.as_str()])
                .set(v);
        }
    }

    /// One Modbus request and how it ended.
    pub fn modbus_request(&self, device: &str, took: Duration, result: &str) {
        self.0
            .modbus_requests
            .with_label_values(&[device, result])
            .inc();
        self.0
            .modbus_latency
            .with_label_values(&[device])
            .observe(took.as_secs_f64());
    }

    /// Polls of `device` skipped because its bus was busy (0 declares the series).
    pub fn modbus_skipped(&self, device: &str, polls: u64) {
        self.0
            .modbus_skipped
            .with_label_values(&[device])
            .inc_by(polls);
    }

    /// Share of recent time the bus `bus` spent on requests.
    pub fn bus_utilisation(&self, bus: &str, ratio: f64) {
        self.0.bus_utilisation.with_label_values(&[bus]).set(ratio);
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

    /// A failed write.
    pub fn store_error(&self, table: &str) {
        self.0.store_errors.with_label_values(&[table]).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
