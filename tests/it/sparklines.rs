//! What the plant tab's sparklines read: many points' last hour in one request
//! (`/api/v1/readings?points=`), and the live stream cut down to the samples history keeps
//! (`/api/v1/stream?kinds=point&samples=recorded`).

use std::time::Duration;

use crate::helpers::{Db, TestApp, eventually, spawn_app};

const WAIT: Duration = Duration::from_secs(10);

async fn get(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let resp = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

fn values(batch: &serde_json::Value, point: &str) -> Vec<f64> {
    batch["points"][point]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["value"].as_f64()).collect())
        .unwrap_or_default()
}

async fn batch_gives_each_points_recent_history(kind: Db) {
    let app = spawn_app(kind).await;
    let path = "/api/v1/readings?points=em_b1.voltage_l1,pump_1.output_frequency";
    for (v, hz) in [(228.0, 47.25), (233.0, 49.5), (226.0, 45.0)] {
        app.sim().set(1, "voltage_l1", v);
        app.sim().set(3, "output_frequency", hz);
        eventually(&format!("{v} V and {hz} Hz kept"), WAIT, || async {
            let (_, b) = get(&app, path).await;
            (values(&b, "em_b1.voltage_l1").contains(&v)
                && values(&b, "pump_1.output_frequency").contains(&hz))
            .then_some(())
        })
        .await;
    }
    let (status, batch) = get(&app, path).await;
    assert_eq!(status, 200, "{batch}");
    let volts = values(&batch, "em_b1.voltage_l1");
    let tail: Vec<f64> = volts.iter().rev().take(3).rev().copied().collect();
    assert_eq!(tail, vec![228.0, 233.0, 226.0], "oldest first: {volts:?}");
    // Compared as times, not text: a reading on a whole second is written without
    // fractional digits ("…:17Z" sorts after "…:17.100Z" as text).
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = batch["points"]["em_b1.voltage_l1"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["at"].as_str())
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("an RFC 3339 time"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(
        batch["now"].is_string() && batch["since"].is_string(),
        "{batch}"
    );
    // `limit` keeps the newest rows, not the oldest: the sparkline's right end.
    let (_, one) = get(&app, &format!("{path}&limit=1")).await;
    assert_eq!(values(&one, "em_b1.voltage_l1"), vec![226.0]);
    assert_eq!(values(&one, "pump_1.output_frequency"), vec![45.0]);
}

#[tokio::test]
async fn one_request_gives_many_points_recent_history_on_sqlite() {
    batch_gives_each_points_recent_history(Db::Sqlite).await;
}

#[tokio::test]
async fn one_request_gives_many_points_recent_history_on_postgres() {
    batch_gives_each_points_recent_history(Db::Postgres).await;
}

#[tokio::test]
async fn a_bad_batch_is_refused_with_the_field_at_fault() {
    let app = spawn_app(Db::Sqlite).await;
    let cases = [
        ("/api/v1/readings", "points", "point ids"),
        ("/api/v1/readings?points=,", "points", "point ids"),
        (
            "/api/v1/readings?points=em_b1.voltage_l1,nope.nothing",
            "points",
            "nope.nothing",
        ),
        (
            "/api/v1/readings?points=em_b1.voltage_l1&limit=0",
            "limit",
            "limit 0",
        ),
        (
            "/api/v1/readings?points=em_b1.voltage_l1&since=yesterday",
            "since",
            "since",
        ),
        (
            "/api/v1/stream?kinds=point&samples=some",
            "samples",
            "samples",
        ),
    ];
    for (path, field, says) in cases {
        let (status, body) = get(&app, path).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["code"], "invalid", "{path}");
        assert_eq!(body["field"], field, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap_or_default().contains(says),
            "{path}: {body}"
        );
    }
    let many: Vec<String> = (0..501).map(|i| format!("p{i}")).collect();
    let (status, body) = get(&app, &format!("/api/v1/readings?points={}", many.join(","))).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("points")));
    let (status, _) = get(&app, "/api/v1/readings?points=em_b1.voltage_l1").await;
    assert_eq!(status, 200, "still serving");
}

/// Reads point events from the stream for a while; each event's `record` flag.
async fn record_flags(app: &TestApp, query: &str) -> Vec<bool> {
    let mut resp = app
        .client
        .get(format!("{}/api/v1/stream?{query}", app.base))
        .send()
        .await
        .expect("stream");
    let mut text = String::new();
    let until = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, resp.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
        .filter(|v| v["kind"] == "sample")
        .map(|v| v["record"] == true)
        .collect()
}

#[tokio::test]
async fn the_stream_can_carry_only_the_samples_history_keeps() {
    let app = spawn_app(Db::Sqlite).await;
    // Polled every 100 ms with values that mostly stay put: most samples are not kept.
    let all = record_flags(&app, "kinds=point").await;
    assert!(
        all.iter().any(|r| !r),
        "unfiltered carries every poll: {}",
        all.len()
    );
    // A value that moves past the deadband while the filtered stream is open.
    let mover = async {
        for v in [220.0, 230.0, 240.0] {
            tokio::time::sleep(Duration::from_millis(150)).await;
            app.sim().set(1, "voltage_l1", v);
        }
    };
    let (kept, ()) = tokio::join!(record_flags(&app, "kinds=point&samples=recorded"), mover);
    assert!(!kept.is_empty(), "kept samples still come through");
    assert!(kept.iter().all(|r| *r), "{kept:?}");
    assert!(kept.len() < all.len(), "{} vs {}", kept.len(), all.len());
}
