//! The estate's aggregate figures (issue 24): per gateway, how many meters it holds, how
//! many answered their last read and how many did not, the last sweep's duration and the
//! requests by result; per building and measure, the sum of its meters' counters. Ten
//! thousand household meters are a few dozen series here, not one series per point:
//! their per-meter detail is in the API (`/api/v1/meters`), and their own point and
//! device series are left out of `/metrics` unless their profile opts in.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::devices::ModbusSlot;
use super::points::{escape, number};

const METERS: &str = "sitewatch_estate_meters";
const READING: &str = "sitewatch_estate_meters_reading";
const SILENT: &str = "sitewatch_estate_meters_silent";
const SWEEP: &str = "sitewatch_estate_sweep_seconds";
const SWEEPS: &str = "sitewatch_estate_sweeps_total";
const REQUESTS: &str = "sitewatch_estate_requests_total";
const CONSUMPTION: &str = "sitewatch_estate_consumption";

/// One gateway's figures, held by its bus and written without a lock.
#[derive(Debug)]
pub struct GatewaySlot {
    meters: AtomicU64,
    reading: AtomicU64,
    silent: AtomicU64,
    /// `f64` bits of the last whole sweep's duration in seconds; NaN before the first.
    sweep: AtomicU64,
    sweeps: AtomicU64,
    /// When the last whole sweep ended, in nanoseconds after `made` (the bus has no wall
    /// clock; the API turns it into a time with the daemon's).
    swept_at: AtomicU64,
    made: Instant,
    /// Every meter's requests on this gateway, counted together.
    requests: Arc<ModbusSlot>,
}

impl Default for GatewaySlot {
    fn default() -> Self {
        Self {
            meters: AtomicU64::default(),
            reading: AtomicU64::default(),
            silent: AtomicU64::default(),
            sweep: AtomicU64::new(f64::NAN.to_bits()),
            sweeps: AtomicU64::default(),
            swept_at: AtomicU64::default(),
            made: Instant::now(),
            requests: Arc::default(),
        }
    }
}

/// What the API shows of a gateway.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GatewayFigures {
    /// Meters in the register on this gateway.
    pub meters: u64,
    /// Meters that answered their last read.
    pub reading: u64,
    /// Meters that did not answer their last read.
    pub silent: u64,
    /// The last whole sweep's duration.
    pub sweep: Option<Duration>,
    /// Whole sweeps since start.
    pub sweeps: u64,
    /// How long ago the last whole sweep ended.
    pub swept_ago: Option<Duration>,
}

impl GatewaySlot {
    /// The shared request counters every meter of the gateway counts into.
    pub fn requests(&self) -> Arc<ModbusSlot> {
        self.requests.clone()
    }

    /// How many meters answer and how many do not, as of the last read of each.
    pub fn set_counts(&self, meters: usize, reading: usize, silent: usize) {
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        self.meters.store(n(meters), Ordering::Relaxed);
        self.reading.store(n(reading), Ordering::Relaxed);
        self.silent.store(n(silent), Ordering::Relaxed);
    }

    /// A whole sweep ended now after `took`.
    pub fn swept(&self, took: Duration) {
        self.sweep
            .store(took.as_secs_f64().to_bits(), Ordering::Relaxed);
        let at = u64::try_from(self.made.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.swept_at.store(at, Ordering::Relaxed);
        self.sweeps.fetch_add(1, Ordering::Relaxed);
    }

    /// The figures now.
    pub fn figures(&self) -> GatewayFigures {
        let sweeps = self.sweeps.load(Ordering::Relaxed);
        let at = Duration::from_nanos(self.swept_at.load(Ordering::Relaxed));
        GatewayFigures {
            meters: self.meters.load(Ordering::Relaxed),
            reading: self.reading.load(Ordering::Relaxed),
            silent: self.silent.load(Ordering::Relaxed),
            sweep: (sweeps > 0).then(|| {
                Duration::from_secs_f64(f64::from_bits(self.sweep.load(Ordering::Relaxed)).max(0.0))
            }),
            sweeps,
            swept_ago: (sweeps > 0).then(|| self.made.elapsed().saturating_sub(at)),
        }
    }
}

/// One meter's counter (`f64` bits; NaN until first read), times its multiplier.
#[derive(Debug)]
pub struct CounterSlot(AtomicU64);

impl CounterSlot {
    fn new() -> CounterSlot {
        CounterSlot(AtomicU64::new(f64::NAN.to_bits()))
    }

    /// The counter's latest reading.
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    fn get(&self) -> Option<f64> {
        Some(f64::from_bits(self.0.load(Ordering::Relaxed))).filter(|v| !v.is_nan())
    }
}

/// Every gateway's slot by id, and every meter's counter by building and measure.
#[derive(Debug, Default)]
pub struct EstateTable {
    gateways: Mutex<BTreeMap<String, Arc<GatewaySlot>>>,
    counters: Mutex<BTreeMap<BuildingMeasure, Vec<Arc<CounterSlot>>>>,
}

/// A building and a measure (`kWh`, `m3`): one consumption total.
type BuildingMeasure = (String, String);

impl EstateTable {
    /// The slot of gateway `id`, made on first use.
    pub fn gateway(&self, id: &str) -> Arc<GatewaySlot> {
        let mut m = self.gateways.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(id.to_owned()).or_default().clone()
    }

    /// The figures of every gateway, by id.
    pub fn gateways(&self) -> Vec<(String, GatewayFigures)> {
        let m = self.gateways.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().map(|(id, s)| (id.clone(), s.figures())).collect()
    }

    /// A new meter's counter, summed into its building's total of `measure`.
    pub fn counter(&self, building: &str, measure: &str) -> Arc<CounterSlot> {
        let slot = Arc::new(CounterSlot::new());
        let mut m = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let key = (building.to_owned(), measure.to_owned());
        m.entry(key).or_default().push(slot.clone());
        slot
    }

    /// Forgets every meter's counter: a new register brings its own.
    pub fn clear_counters(&self) {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Appends every family that has a series, in the text exposition format.
    pub(super) fn render(&self, out: &mut String) {
        let gateways: Vec<(String, Arc<GatewaySlot>)> = {
            let m = self.gateways.lock().unwrap_or_else(|e| e.into_inner());
            m.iter().map(|(id, s)| (escape(id), s.clone())).collect()
        };
        if !gateways.is_empty() {
            let gauge =
                |out: &mut String, name: &str, help: &str, get: &dyn Fn(&GatewaySlot) -> String| {
                    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n");
                    for (id, s) in &gateways {
                        let _ = writeln!(out, "{name}{{gateway=\"{id}\"}} {}", get(s));
                    }
                };
            let load = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
            gauge(
                out,
                METERS,
                "Meters of the register on the gateway.",
                &|s| load(&s.meters),
            );
            gauge(
                out,
                READING,
                "Meters that answered their last read.",
                &|s| load(&s.reading),
            );
            gauge(
                out,
                SILENT,
                "Meters that did not answer their last read (skipped after their timeout).",
                &|s| load(&s.silent),
            );
            gauge(
                out,
                SWEEP,
                "Duration of the gateway's last whole sweep over its meters (NaN before the first).",
                &|s| number(f64::from_bits(s.sweep.load(Ordering::Relaxed))),
            );
            let _ = write!(
                out,
                "# HELP {SWEEPS} Whole sweeps over the gateway's meters.\n# TYPE {SWEEPS} counter\n"
            );
            for (id, s) in &gateways {
                let _ = writeln!(out, "{SWEEPS}{{gateway=\"{id}\"}} {}", load(&s.sweeps));
            }
            let _ = write!(
                out,
                "# HELP {REQUESTS} Meter requests on the gateway by result (ok, exception, timeout, error).\n# TYPE {REQUESTS} counter\n"
            );
            for (id, s) in &gateways {
                for (result, n) in s.requests.results() {
                    let _ = writeln!(
                        out,
                        "{REQUESTS}{{gateway=\"{id}\",result=\"{result}\"}} {n}"
                    );
                }
            }
        }
        self.render_consumption(out);
    }

    fn render_consumption(&self, out: &mut String) {
        let m = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if m.is_empty() {
            return;
        }
        let help = "Sum of the building's meter counters by measure (kWh, m3), times each meter's multiplier; meters not yet read count nothing.";
        let _ = write!(
            out,
            "# HELP {CONSUMPTION} {help}\n# TYPE {CONSUMPTION} gauge\n"
        );
        for ((building, measure), slots) in m.iter() {
            let sum: f64 = slots.iter().filter_map(|s| s.get()).sum();
            let (b, u) = (escape(building), escape(measure));
            let _ = writeln!(
                out,
                "{CONSUMPTION}{{building=\"{b}\",measure=\"{u}\"}} {}",
                number(sum)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_renders_its_counts_sweep_and_requests() {
        let t = EstateTable::default();
        let g = t.gateway("gw_1");
        g.set_counts(200, 199, 1);
        g.swept(Duration::from_millis(1500));
        g.requests().request(Duration::from_millis(3), "ok");
        let mut text = String::new();
        t.render(&mut text);
        for line in [
            "sitewatch_estate_meters{gateway=\"gw_1\"} 200\n",
            "sitewatch_estate_meters_reading{gateway=\"gw_1\"} 199\n",
            "sitewatch_estate_meters_silent{gateway=\"gw_1\"} 1\n",
            "sitewatch_estate_sweep_seconds{gateway=\"gw_1\"} 1.5\n",
            "sitewatch_estate_sweeps_total{gateway=\"gw_1\"} 1\n",
            "sitewatch_estate_requests_total{gateway=\"gw_1\",result=\"ok\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert_eq!(g.figures().silent, 1);
        assert_eq!(g.figures().sweep, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn a_building_sums_the_counters_read_so_far() {
        let t = EstateTable::default();
        let a = t.counter("1", "kWh");
        let b = t.counter("1", "kWh");
        let _unread = t.counter("1", "kWh");
        let w = t.counter("2", "m3");
        a.set(100.5);
        b.set(20.0);
        w.set(7.0);
        let mut text = String::new();
        t.render(&mut text);
        assert!(
            text.contains("sitewatch_estate_consumption{building=\"1\",measure=\"kWh\"} 120.5\n"),
            "{text}"
        );
        assert!(
            text.contains("sitewatch_estate_consumption{building=\"2\",measure=\"m3\"} 7\n"),
            "{text}"
        );
        assert!(
            !text.contains("sitewatch_estate_meters{"),
            "no gateway, no gateway series: {text}"
        );
    }
}
