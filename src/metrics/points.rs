//! `sitewatch_point_value` and `sitewatch_point_quality`, written straight into the
//! exposition text from one small table. A labelled child per point in the prometheus
//! crate costs over a kilobyte, and gathering them builds a protobuf object per series on
//! every scrape: a site of 20,000 points spent ~50 MB on that (`sitewatch bench rss`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use sitewatch_core::points::{PointId, Quality};

const VALUE: &str = "sitewatch_point_value";
const QUALITY: &str = "sitewatch_point_quality";

/// The last value and quality of every point, by point id (the hub's own ids, shared, not a
/// copy of each).
#[derive(Debug, Default)]
pub(super) struct PointTable {
    points: Mutex<BTreeMap<PointId, (Option<f64>, Quality)>>,
}

impl PointTable {
    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<PointId, (Option<f64>, Quality)>) -> R) -> R {
        f(&mut self.points.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn entry(&self, point: &PointId, set: impl FnOnce(&mut (Option<f64>, Quality))) {
        self.with(|m| match m.get_mut(&**point) {
            Some(entry) => set(entry),
            None => set(m.entry(point.clone()).or_insert((None, Quality::Stale))),
        });
    }

    pub(super) fn value(&self, point: &PointId, value: f64) {
        self.entry(point, |e| e.0 = Some(value));
    }

    pub(super) fn quality(&self, point: &PointId, quality: Quality) {
        self.entry(point, |e| e.1 = quality);
    }

    /// Appends both families in the text exposition format.
    pub(super) fn render(&self, out: &mut String) {
        self.with(|m| {
            let help = "Last value of a point, in its engineering unit.";
            let _ = write!(out, "# HELP {VALUE} {help}\n# TYPE {VALUE} gauge\n");
            for (point, (value, _)) in m.iter() {
                if let Some(v) = value {
                    let (point, v) = (escape(point), number(*v));
                    let _ = writeln!(out, "{VALUE}{{point=\"{point}\"}} {v}");
                }
            }
            let help = "1, labelled with the point's current quality (good, stale, comm_lost, bad_config).";
            let _ = write!(out, "# HELP {QUALITY} {help}\n# TYPE {QUALITY} gauge\n");
            for (point, (_, quality)) in m.iter() {
                let (point, quality) = (escape(point), quality.as_str());
                let _ = writeln!(out, "{QUALITY}{{point=\"{point}\",quality=\"{quality}\"}} 1");
            }
        });
    }
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
}
