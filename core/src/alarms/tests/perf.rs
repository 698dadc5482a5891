//! Engine cost per reading (issue 4 target: under 2 µs with 10,000 points and 1,000
//! active alarms). Ignored by default: run with
//! `cargo test --release -p sitewatch-core alarms::tests::perf -- --ignored`.

use std::time::Instant;

use super::*;

#[test]
#[ignore = "timing; run in release"]
fn engine_costs_under_two_microseconds_per_reading() {
    let rules: Vec<AlarmRule> = (0..10_000)
        .map(|k| {
            rule(
                &format!("dev{}.p{k}", k / 50),
                "high",
                RuleSpec::High(threshold(80.0, 2.0, 0, 0)),
            )
        })
        .collect();
    let points: Vec<String> = rules.iter().map(|r| r.point.clone()).collect();
    let mut e = engine(rules);
    for p in points.iter().take(1_000) {
        feed(&mut e, p, 90.0, t(0));
    }
    let events: Vec<PointEvent> = (0..200_000)
        .map(|k| {
            let p = &points[k % points.len()];
            // Active alarms stay active; the rest move inside their normal band.
            let v = if k % points.len() < 1_000 {
                90.0
            } else {
                50.0 + (k % 7) as f64
            };
            sample(p, v, t(1))
        })
        .collect();
    let start = Instant::now();
    let mut produced = 0;
    for ev in &events {
        produced += e.on_point(ev, t(1)).len();
    }
    let per_reading = start.elapsed().as_nanos() as f64 / events.len() as f64;
    assert_eq!(produced, 0, "steady readings cause no events");
    assert!(per_reading < 2_000.0, "{per_reading:.0} ns per reading");
    eprintln!("{per_reading:.0} ns per reading");
}
