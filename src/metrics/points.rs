//! `sitewatch_point_value` and `sitewatch_point_quality`, written straight into the
//! exposition text from one small table. A labelled child per point in the prometheus
//! crate costs over a kilobyte, and gathering them builds a protobuf object per series on
//! every scrape: a site of 20,000 points spent ~50 MB on that (`sitewatch bench rss`).

use std::fmt::Write;
use std::sync::Mutex;

use sitewatch_core::points::{PointId, Quality};

const VALUE: &str = "sitewatch_point_value";
const QUALITY: &str = "sitewatch_point_quality";

/// The last value and quality of every point, sorted by point id (the hub's own ids,
/// shared, not a copy of each). A sorted `Vec` holds a point in 40 bytes where a
/// `BTreeMap` took ~78 (0.8 MB at 20,000 points).
#[derive(Debug, Default)]
pub struct PointTable {
    points: Mutex<Vec<Entry>>,
}

#[derive(Debug)]
struct Entry {
    point: PointId,
    value: Option<f64>,
    quality: Quality,
    /// A register meter's point without a series of its own (its profile did not opt
    /// in): kept, so a value does not make an entry, but not rendered.
    quiet: bool,
}

impl Entry {
    fn new(point: &PointId) -> Entry {
        Entry {
            point: point.clone(),
            value: None,
            quality: Quality::Stale,
            quiet: false,
        }
    }
}

impl PointTable {
    fn with<R>(&self, f: impl FnOnce(&mut Vec<Entry>) -> R) -> R {
        f(&mut self.points.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Adds the points not yet in the table, stale and without a value: one sort per
    /// call, not a shifting insert per point.
    pub fn declare(&self, points: &[PointId]) {
        self.with(|v| {
            let known = v.len();
            // Exact room: a doubled capacity would hold up to twice the table for good (a
            // large block grows by remapping, not copying).
            v.reserve_exact(points.len());
            for p in points {
                if find(&v[..known], p).is_err() {
                    v.push(Entry::new(p));
                }
            }
            // Two sorted runs: the stable sort merges them in one pass.
            v.sort_by(|a, b| a.point.cmp(&b.point));
            v.dedup_by(|a, b| a.point == b.point);
            v.shrink_to_fit();
        });
    }

    /// Keeps `points` (already declared) out of the exposition: issue 24's bounded series,
    /// so ten thousand meters do not become tens of thousands of series.
    pub fn quiet(&self, points: &[PointId]) {
        self.with(|v| {
            for p in points {
                if let Ok(i) = find(v, p) {
                    v[i].quiet = true;
                }
            }
        });
    }

    fn entry(&self, point: &PointId, set: impl FnOnce(&mut Entry)) {
        self.with(|v| {
            let i = find(v, point).unwrap_or_else(|i| {
                v.insert(i, Entry::new(point));
                i
            });
            set(&mut v[i]);
        });
    }

    pub fn value(&self, point: &PointId, value: f64) {
        self.entry(point, |e| e.value = Some(value));
    }

    pub fn quality(&self, point: &PointId, quality: Quality) {
        self.entry(point, |e| e.quality = quality);
    }

    /// Appends both families in the text exposition format.
    pub(super) fn render(&self, out: &mut String) {
        self.with(|m| {
            let help = "Last value of a point, in its engineering unit.";
            let _ = write!(out, "# HELP {VALUE} {help}\n# TYPE {VALUE} gauge\n");
            for e in m.iter().filter(|e| !e.quiet) {
                if let Some(v) = e.value {
                    let (point, v) = (escape(&e.point), number(v));
                    let _ = writeln!(out, "{VALUE}{{point=\"{point}\"}} {v}");
                }
            }
            let help = "1, labelled with the point's current quality (good, stale, comm_lost, bad_config).";
            let _ = write!(out, "# HELP {QUALITY} {help}\n# TYPE {QUALITY} gauge\n");
            for e in m.iter().filter(|e| !e.quiet) {
                let (point, quality) = (escape(&e.point), e.quality.as_str());
                let _ = writeln!(out, "{QUALITY}{{point=\"{point}\",quality=\"{quality}\"}} 1");
            }
        });
    }
}

fn find(entries: &[Entry], point: &str) -> Result<usize, usize> {
    entries.binary_search_by(|e| (*e.point).cmp(point))
}

/// A label value as the format wants it: backslash, quote and newline escaped.
pub(super) fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

pub(super) fn number(v: f64) -> String {
    match v {
        v if v.is_nan() => "NaN".into(),
        v if v.is_infinite() => (if v > 0.0 { "+Inf" } else { "-Inf" }).into(),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_point_renders_its_value_and_one_quality_series() {
        let t = PointTable::default();
        let (pump, em): (PointId, PointId) = ("pump.run".into(), "em.kwh".into());
        t.quality(&pump, Quality::Stale);
        t.value(&pump, 1.5);
        t.quality(&pump, Quality::Good);
        t.quality(&em, Quality::CommLost);
        let mut text = String::new();
        t.render(&mut text);
        assert!(
            text.contains("sitewatch_point_value{point=\"pump.run\"} 1.5\n"),
            "{text}"
        );
        assert!(text.contains("sitewatch_point_quality{point=\"pump.run\",quality=\"good\"} 1\n"));
        assert!(
            !text.contains("quality=\"stale\""),
            "the old quality is gone: {text}"
        );
        assert!(
            text.contains("sitewatch_point_quality{point=\"em.kwh\",quality=\"comm_lost\"} 1\n")
        );
        assert!(
            !text.contains("sitewatch_point_value{point=\"em.kwh\""),
            "no value read yet"
        );
    }

    #[test]
    fn declared_points_show_stale_in_id_order_and_keep_later_values() {
        let t = PointTable::default();
        let ids = |names: &[&str]| names.iter().map(|n| PointId::from(*n)).collect::<Vec<_>>();
        t.declare(&ids(&["b.x", "a.y"]));
        t.value(&"b.x".into(), 2.0);
        t.quality(&"b.x".into(), Quality::Good);
        t.declare(&ids(&["c.z", "b.x", "a.a"]));
        let mut text = String::new();
        t.render(&mut text);
        let quality: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("sitewatch_point_quality{"))
            .collect();
        assert_eq!(
            quality,
            [
                "sitewatch_point_quality{point=\"a.a\",quality=\"stale\"} 1",
                "sitewatch_point_quality{point=\"a.y\",quality=\"stale\"} 1",
                "sitewatch_point_quality{point=\"b.x\",quality=\"good\"} 1",
                "sitewatch_point_quality{point=\"c.z\",quality=\"stale\"} 1",
            ],
            "{text}"
        );
        assert!(
            text.contains("sitewatch_point_value{point=\"b.x\"} 2\n"),
            "{text}"
        );
    }
}
