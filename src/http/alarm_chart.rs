//! An alarm's point around its raise as an SVG line chart, drawn on the server: the
//! readings as a line, the raise as a red mark, the value range and the window's ends in
//! site time. Numbers and times only, so the chart needs no language.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

const W: f64 = 600.0;
const H: f64 = 180.0;
/// Left margin for the value labels, bottom margin for the time labels.
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;
const RIGHT: f64 = 8.0;

/// The chart of `series` over `window`, marking `raised` when it falls in the window.
pub(crate) fn svg(
    series: &[(DateTime<Utc>, f64)],
    window: (DateTime<Utc>, DateTime<Utc>),
    raised: Option<DateTime<Utc>>,
    tz: Tz,
) -> String {
    let (from, to) = window;
    let span = (to - from).num_milliseconds().max(1) as f64;
    let x = |at: DateTime<Utc>| {
        LEFT + (at - from).num_milliseconds() as f64 / span * (W - LEFT - RIGHT)
    };
    let (lo, hi) = range(series);
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM);
    // From a day up the time alone is ambiguous: the day goes with it.
    let pattern = if to - from >= chrono::Duration::days(1) {
        "%m-%d %H:%M"
    } else {
        "%H:%M"
    };
    let clock = |at: DateTime<Utc>| at.with_timezone(&tz).format(pattern).to_string();
    let base = H - BOTTOM;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="#ccc"/>"##,
        W - LEFT - RIGHT,
        base - TOP
    );
    label(&mut out, LEFT - 4.0, TOP + 10.0, "end", "#555", &number(hi));
    label(&mut out, LEFT - 4.0, base, "end", "#555", &number(lo));
    label(&mut out, LEFT, H - 6.0, "start", "#555", &clock(from));
    let raised = raised.filter(|r| *r >= from && *r <= to);
    // The end's time, unless the raise's own label would sit on it.
    if raised.is_none_or(|r| W - RIGHT - x(r) > 40.0) {
        label(&mut out, W - RIGHT, H - 6.0, "end", "#555", &clock(to));
    }
    if let Some(r) = raised {
        let rx = x(r);
        let _ = write!(
            out,
            r##"<line class="raised" x1="{rx:.1}" x2="{rx:.1}" y1="{TOP}" y2="{base}" stroke="#c62828" stroke-dasharray="4 3"/>"##
        );
        let anchor = if W - RIGHT - rx < 20.0 {
            "end"
        } else {
            "middle"
        };
        label(&mut out, rx, H - 6.0, anchor, "#c62828", &clock(r));
    }
    if !series.is_empty() {
        let points: Vec<String> = series
            .iter()
            .map(|(at, v)| format!("{:.1},{:.1}", x(*at), y(*v)))
            .collect();
        let _ = write!(
            out,
            r##"<polyline class="line" fill="none" stroke="#1565c0" stroke-width="2" points="{}"/>"##,
            points.join(" ")
        );
        // Few readings (a state that seldom changes): each one a dot, so one alone shows.
        if series.len() <= 60 {
            for (at, v) in series {
                let _ = write!(
                    out,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#1565c0"/>"##,
                    x(*at),
                    y(*v)
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// A text at (`x`, `y`); `text` is digits and colons, nothing to escape.
fn label(out: &mut String, x: f64, y: f64, anchor: &str, colour: &str, text: &str) {
    let _ = write!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" fill="{colour}">{text}</text>"#
    );
}

/// The lowest and highest value (0 and 1 for no data; one either side of a flat line).
fn range(series: &[(DateTime<Utc>, f64)]) -> (f64, f64) {
    if series.is_empty() {
        return (0.0, 1.0);
    }
    let (lo, hi) = series
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    if hi == lo {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    }
}

/// A value label: at most 4 significant digits, no trailing zeros.
fn number(v: f64) -> String {
    let s = format!("{:.*}", if v.abs() >= 100.0 { 0 } else { 2 }, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0)
            .single()
            .expect("time")
            + Duration::minutes(min)
    }

    #[test]
    fn the_chart_spans_the_window_in_site_time_and_marks_the_raise() {
        let series = [(at(0), 1.0), (at(30), 12.5), (at(60), 3.0)];
        let svg = svg(
            &series,
            (at(0), at(60)),
            Some(at(30)),
            chrono_tz::Asia::Shanghai,
        );
        // 02:00 UTC is 10:00 in Shanghai; the raise at 10:30, the end at 11:00.
        for text in [
            ">10:00<",
            ">10:30<",
            ">11:00<",
            ">12.5<",
            ">1<",
            "class=\"raised\"",
        ] {
            assert!(svg.contains(text), "{text} in {svg}");
        }
        assert!(
            svg.contains(&format!("points=\"{LEFT:.1},{:.1} ", H - BOTTOM)),
            "{svg}"
        );
    }

    #[test]
    fn an_empty_series_draws_the_frame_without_a_line() {
        let svg = svg(&[], (at(0), at(60)), None, chrono_tz::Asia::Shanghai);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("polyline") && !svg.contains("raised"));
    }

    #[test]
    fn a_flat_line_raised_at_the_end_gets_a_scale_and_one_time_label() {
        let series = [(at(0), 1.0), (at(60), 1.0)];
        let svg = svg(
            &series,
            (at(0), at(60)),
            Some(at(60)),
            chrono_tz::Asia::Shanghai,
        );
        assert!(svg.contains(">2<") && svg.contains(">0<"), "{svg}");
        assert_eq!(svg.matches(">11:00<").count(), 1, "{svg}");
    }
}
