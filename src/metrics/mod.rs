//! The Prometheus registry, handed to each module that owns a figure: the module
//! registers its families here (`EngineMetrics::register(&registry)` and the like) and
//! updates them itself, so this module knows no other module of the daemon. Names follow
//! the Prometheus conventions (`sitewatch_` prefix, base units, `_total` counters) and
//! labels are bounded by the site config (devices, points), never by record ids.
//!
//! Points and devices are written straight into the exposition text from two tables
//! ([`PointTable`], [`DeviceTable`]) rather than as prometheus-crate children, for memory;
//! the engine and the Modbus buses update them through [`Registry::points`] and
//! [`Registry::devices`].

use std::sync::Arc;

use prometheus::core::Collector;
use prometheus::{
    Counter, Encoder, Gauge, GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    TextEncoder,
};

mod devices;
mod estate;
mod points;

pub use devices::{DeviceTable, ModbusSlot};
pub use estate::{CounterSlot, EstateTable, GatewayFigures, GatewaySlot};
pub use points::PointTable;

/// Cheap-clone handle to the daemon's one registry.
#[derive(Debug, Clone)]
pub struct Registry(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: prometheus::Registry,
    points: PointTable,
    /// Device up and the Modbus families.
    devices: DeviceTable,
    /// The estate's gateways and building totals (issue 24).
    estate: EstateTable,
}

impl Registry {
    /// A fresh registry with the build info and the process collector.
    #[allow(clippy::expect_used)] // metric definitions are static; a clash is a bug at start-up
    pub fn new() -> Registry {
        let r = Registry(Arc::new(Inner {
            registry: prometheus::Registry::new(),
            points: PointTable::default(),
            devices: DeviceTable::default(),
            estate: EstateTable::default(),
        }));
        let build = r.int_gauge(
            "sitewatch_build_info",
            "Build of the running daemon.",
            &["version"],
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        #[cfg(target_os = "linux")]
        r.0.registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("process collector");
        r
    }

    /// Registers one collector and gives it back.
    #[allow(clippy::expect_used)] // metric definitions are static; a clash is a bug at start-up
    pub fn register<C: Collector + Clone + 'static>(&self, c: C) -> C {
        self.0
            .registry
            .register(Box::new(c.clone()))
            .expect("unique metric");
        c
    }

    /// A labelled integer counter.
    #[allow(clippy::expect_used)] // metric definitions are static
    pub fn counter(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.register(IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    /// An integer counter without labels.
    #[allow(clippy::expect_used)] // metric definitions are static
    pub fn int_counter(&self, name: &str, help: &str) -> IntCounter {
        self.register(IntCounter::new(name, help).expect("valid metric"))
    }

    /// A counter of a real quantity (seconds) without labels.
    #[allow(clippy::expect_used)] // metric definitions are static
    pub fn float_counter(&self, name: &str, help: &str) -> Counter {
        self.register(Counter::new(name, help).expect("valid metric"))
    }

    /// A labelled gauge.
    #[allow(clippy::expect_used)] // metric definitions are static
    pub fn gauge(&self, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
        self.register(GaugeVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    /// A gauge without labels.
    #[allow(clippy::expect_used)] // metric definitions are static
    pub fn one_gauge(&self, name: &str, help: &str) -> Gauge {
        self.register(Gauge::new(name, help).expect("valid metric"))
    }

    /// A labelled integer gauge.
    #[allow(clippy::expect_used)] // metric definitions are static
    pub fn int_gauge(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.register(IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"))
    }

    /// An integer gauge without labels.
    #[allow(clippy::expect_used)] // metric definitions are static
    pub fn one_int_gauge(&self, name: &str, help: &str) -> IntGauge {
        self.register(IntGauge::new(name, help).expect("valid metric"))
    }

    /// Every point's value and quality.
    pub fn points(&self) -> &PointTable {
        &self.0.points
    }

    /// Every device's up gauge and Modbus figures, and every bus's utilisation.
    pub fn devices(&self) -> &DeviceTable {
        &self.0.devices
    }

    /// The estate's gateways and building totals.
    pub fn estate(&self) -> &EstateTable {
        &self.0.estate
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
        self.0.estate.render(&mut text);
        self.0.points.render(&mut text);
        text
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}
