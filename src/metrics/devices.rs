//! `sitewatch_device_up` and the Modbus families (requests by result, request latency,
//! skipped polls, bus utilisation), written straight into the exposition text from one
//! table like the point table. As prometheus-crate children a device cost some 3.6 kB
//! (seven labelled children, each with its label pairs and descriptor, and a sharded
//! histogram): 3.6 MB at 1,000 devices (`sitewatch bench rss`). A device's Modbus figures
//! are atomics in one slot the bus holds, so a request is counted without a lock.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::points::{escape, number};

const UP: &str = "sitewatch_device_up";
const BUS: &str = "sitewatch_modbus_bus_utilisation_ratio";
const SKIPPED: &str = "sitewatch_modbus_polls_skipped_total";
const LATENCY: &str = "sitewatch_modbus_request_duration_seconds";
const REQUESTS: &str = "sitewatch_modbus_requests_total";

/// The `result` label values, in the order they render (sorted, as the prometheus crate
/// sorts a family's series).
const RESULTS: [&str; 4] = ["error", "exception", "ok", "timeout"];

/// Upper bounds of the latency histogram's buckets, in seconds (`+Inf` comes on top).
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Every device's up gauge and Modbus slot, by device id, and every bus's utilisation.
#[derive(Debug, Default)]
pub struct DeviceTable {
    devices: Mutex<BTreeMap<String, Row>>,
    buses: Mutex<BTreeMap<String, f64>>,
}

/// What one device shows: each part only once it was set, as a labelled child would.
#[derive(Debug, Default)]
struct Row {
    up: Option<bool>,
    modbus: Option<Arc<ModbusSlot>>,
    /// A register meter without series of its own: counted in the estate's aggregates.
    quiet: bool,
}

/// One device's Modbus request counters, latency histogram and skipped polls.
#[derive(Debug, Default)]
pub struct ModbusSlot {
    /// By index in [`RESULTS`].
    requests: [AtomicU64; 4],
    /// Requests per bucket (not cumulative); the last one is `+Inf`. The histogram's count
    /// is their sum, so `le="+Inf"` and `_count` always agree.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// `f64` bits of the summed latency in seconds.
    sum: AtomicU64,
    skipped: AtomicU64,
}

impl ModbusSlot {
    /// One request and how it ended (`ok`, `exception`, `timeout`, anything else: `error`).
    pub fn request(&self, took: Duration, result: &str) {
        let i = RESULTS.iter().position(|r| *r == result).unwrap_or(0);
        self.requests[i].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let b = BUCKETS.iter().position(|le| secs <= *le);
        self.buckets[b.unwrap_or(BUCKETS.len())].fetch_add(1, Ordering::Relaxed);
        // One bus task records a device's requests, so this loop never contends.
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + secs).to_bits())
            });
    }

    pub fn skipped(&self, polls: u64) {
        self.skipped.fetch_add(polls, Ordering::Relaxed);
    }

    /// Requests by result label, in render order.
    pub(super) fn results(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        RESULTS
            .iter()
            .zip(&self.requests)
            .map(|(r, n)| (*r, n.load(Ordering::Relaxed)))
    }
}

impl DeviceTable {
    fn row<R>(&self, device: &str, f: impl FnOnce(&mut Row) -> R) -> R {
        let mut m = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(device) {
            Some(row) => f(row),
            None => f(m.entry(device.to_owned()).or_default()),
        }
    }

    /// Devices that get no series of their own (register meters whose profile does not
    /// opt in): their rows are kept, so a later `up` does not make one, but never shown.
    pub fn quiet(&self, devices: &[&str]) {
        for d in devices {
            self.row(d, |r| r.quiet = true);
        }
    }

    pub fn up(&self, device: &str, up: bool) {
        self.row(device, |r| r.up = Some(up));
    }

    /// The device's Modbus slot, made on first use (its series show from then on, zero).
    pub fn modbus(&self, device: &str) -> Arc<ModbusSlot> {
        self.row(device, |r| r.modbus.get_or_insert_default().clone())
    }

    pub fn bus(&self, bus: &str, ratio: f64) {
        let mut m = self.buses.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(bus) {
            Some(r) => *r = ratio,
            None => {
                m.insert(bus.to_owned(), ratio);
            }
        }
    }

    /// Appends every family that has a series, in name order, in the text exposition
    /// format (as the prometheus crate's text encoder writes it).
    pub(super) fn render(&self, out: &mut String) {
        let m = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        let shown = || m.iter().filter(|(_, r)| !r.quiet);
        let help = "1 when the device answers its polls.";
        let ups = shown().filter_map(|(d, r)| Some((escape(d), r.up?)));
        family(out, UP, "gauge", help, ups, |out, (d, up)| {
            let _ = writeln!(out, "{UP}{{device=\"{d}\"}} {}", u8::from(up));
        });
        {
            let buses = self.buses.lock().unwrap_or_else(|e| e.into_inner());
            let help = "Share of the last second a bus spent on requests (1 = saturated).";
            let rows = buses.iter().map(|(b, r)| (escape(b), *r));
            family(out, BUS, "gauge", help, rows, |out, (b, r)| {
                let _ = writeln!(out, "{BUS}{{bus=\"{b}\"}} {}", number(r));
            });
        }
        let slots = || shown().filter_map(|(d, r)| Some((escape(d), r.modbus.as_deref()?)));
        let help = "Polls skipped because the device's bus was still busy when they were due.";
        family(out, SKIPPED, "counter", help, slots(), |out, (d, s)| {
            let n = s.skipped.load(Ordering::Relaxed);
            let _ = writeln!(out, "{SKIPPED}{{device=\"{d}\"}} {n}");
        });
        let help = "Time for one Modbus request, answered or not.";
        family(out, LATENCY, "histogram", help, slots(), |out, (d, s)| {
            let mut count = 0;
            for (i, b) in s.buckets.iter().enumerate() {
                count += b.load(Ordering::Relaxed);
                let le = BUCKETS.get(i).map_or("+Inf".into(), f64::to_string);
                let _ = writeln!(
                    out,
                    "{LATENCY}_bucket{{device=\"{d}\",le=\"{le}\"}} {count}"
                );
            }
            let sum = f64::from_bits(s.sum.load(Ordering::Relaxed));
            let _ = writeln!(out, "{LATENCY}_sum{{device=\"{d}\"}} {sum}");
            let _ = writeln!(out, "{LATENCY}_count{{device=\"{d}\"}} {count}");
        });
        let help = "Modbus requests by result (ok, exception, timeout, error).";
        family(out, REQUESTS, "counter", help, slots(), |out, (d, s)| {
            for (result, n) in RESULTS.iter().zip(&s.requests) {
                let n = n.load(Ordering::Relaxed);
                let _ = writeln!(out, "{REQUESTS}{{device=\"{d}\",result=\"{result}\"}} {n}");
            }
        });
    }
}

/// One family: HELP and TYPE, then each row's series; nothing at all without a row (the
/// registry leaves out families with no series too).
fn family<T>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    rows: impl Iterator<Item = T>,
    mut series: impl FnMut(&mut String, T),
) {
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        return;
    }
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    for row in rows {
        series(out, row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_as_the_prometheus_crate_did() {
        let t = DeviceTable::default();
        t.up("em_b1", true);
        let s = t.modbus("em_b1");
        s.request(Duration::from_millis(3), "ok");
        s.request(Duration::from_millis(30), "ok");
        s.request(Duration::from_secs(3), "timeout");
        s.skipped(2);
        t.bus("tcp://10.0.0.5:502", 0.5);
        t.up("mqtt_dev", false);
        let mut text = String::new();
        t.render(&mut text);
        let b = "sitewatch_modbus_request_duration_seconds_bucket{device=\"em_b1\"";
        let expected = format!(
            "# HELP sitewatch_device_up 1 when the device answers its polls.\n\
             # TYPE sitewatch_device_up gauge\n\
             sitewatch_device_up{{device=\"em_b1\"}} 1\n\
             sitewatch_device_up{{device=\"mqtt_dev\"}} 0\n\
             # HELP sitewatch_modbus_bus_utilisation_ratio Share of the last second a bus spent on requests (1 = saturated).\n\
             # TYPE sitewatch_modbus_bus_utilisation_ratio gauge\n\
             sitewatch_modbus_bus_utilisation_ratio{{bus=\"tcp://10.0.0.5:502\"}} 0.5\n\
             # HELP sitewatch_modbus_polls_skipped_total Polls skipped because the device's bus was still busy when they were due.\n\
             # TYPE sitewatch_modbus_polls_skipped_total counter\n\
             sitewatch_modbus_polls_skipped_total{{device=\"em_b1\"}} 2\n\
             # HELP sitewatch_modbus_request_duration_seconds Time for one Modbus request, answered or not.\n\
             # TYPE sitewatch_modbus_request_duration_seconds histogram\n\
             {b},le=\"0.001\"}} 0\n{b},le=\"0.0025\"}} 0\n{b},le=\"0.005\"}} 1\n\
             {b},le=\"0.01\"}} 1\n{b},le=\"0.025\"}} 1\n{b},le=\"0.05\"}} 2\n\
             {b},le=\"0.1\"}} 2\n{b},le=\"0.25\"}} 2\n{b},le=\"0.5\"}} 2\n\
             {b},le=\"1\"}} 2\n{b},le=\"2.5\"}} 2\n{b},le=\"+Inf\"}} 3\n\
             sitewatch_modbus_request_duration_seconds_sum{{device=\"em_b1\"}} 3.033\n\
             sitewatch_modbus_request_duration_seconds_count{{device=\"em_b1\"}} 3\n\
             # HELP sitewatch_modbus_requests_total Modbus requests by result (ok, exception, timeout, error).\n\
             # TYPE sitewatch_modbus_requests_total counter\n\
             sitewatch_modbus_requests_total{{device=\"em_b1\",result=\"error\"}} 0\n\
             sitewatch_modbus_requests_total{{device=\"em_b1\",result=\"exception\"}} 0\n\
             sitewatch_modbus_requests_total{{device=\"em_b1\",result=\"ok\"}} 2\n\
             sitewatch_modbus_requests_total{{device=\"em_b1\",result=\"timeout\"}} 1\n"
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn an_unknown_result_counts_as_error_and_nothing_shows_before_it_is_set() {
        let t = DeviceTable::default();
        let mut text = String::new();
        t.render(&mut text);
        assert_eq!(text, "");
        t.modbus("x").request(Duration::ZERO, "broken_frame");
        t.render(&mut text);
        assert!(
            text.contains("{device=\"x\",result=\"error\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("sitewatch_device_up"), "{text}");
    }
}
