//! `sitewatch bench alarms`: the alarm engine's cost per reading with 10,000 points and
//! 1,000 active alarms (the core alone, and the points hub plus the alarm engine as the
//! engine task runs them), then the latency from a reading entering the daemon (an MQTT
//! leak message) to its alarm event leaving on MQTT, through the real broker path, store
//! and outbox.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use sitewatch_core::alarms::{AlarmConfig, AlarmEngine, AlarmRule, RuleSpec};
use sitewatch_core::clock::SystemClock;
use sitewatch_core::points::{DeviceSpec, PointEvent, PointSpec, PointsHub, SourceEvent};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::broker::EmbeddedBroker;
use crate::config::Config;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct AlarmBenchOptions {
    /// Points with a threshold rule each.
    pub points: usize,
    /// Of those, how many are in alarm throughout.
    pub active: usize,
    /// Readings fed through the engine.
    pub readings: usize,
    /// Alarms raised end to end for the latency figures.
    pub events: usize,
}

/// A broker the bench started, stopped when the bench ends.
pub(crate) enum BenchBroker {
    /// rumqttd in this process, running while held.
    Embedded { _running: EmbeddedBroker },
    /// A Mosquitto process of the bench's own.
    Mosquitto(std::process::Child),
    /// One given by address, not ours to stop.
    External,
}

impl BenchBroker {
    /// Whether a daemon may ask it for `$SYS` figures: rumqttd closes the connection of a
    /// client that does.
    pub(crate) fn has_stats(&self) -> bool {
        !matches!(self, BenchBroker::Embedded { .. })
    }
}

impl Drop for BenchBroker {
    fn drop(&mut self) {
        if let BenchBroker::Mosquitto(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The broker for the end-to-end part: `SITEWATCH_BENCH_MQTT` as `host:port` (e.g. a local
/// Mosquitto), `mosquitto` for a Mosquitto of the bench's own, or an embedded one.
pub(crate) async fn broker() -> anyhow::Result<(BenchBroker, String, u16)> {
    match std::env::var("SITEWATCH_BENCH_MQTT").ok().as_deref() {
        None => {
            let b = EmbeddedBroker::start().await?;
            let (host, port) = (b.addr().ip().to_string(), b.addr().port());
            Ok((BenchBroker::Embedded { _running: b }, host, port))
        }
        Some("mosquitto") => own_mosquitto().await,
        Some(addr) => {
            let (host, port) = addr
                .rsplit_once(':')
                .context("SITEWATCH_BENCH_MQTT is host:port or mosquitto")?;
            Ok((BenchBroker::External, host.to_owned(), port.parse()?))
        }
    }
}

/// Mosquitto on a free port, holding up to a million queued messages per client: with
/// its default of 1,000 it drops what a subscriber has not yet taken, and a bench that
/// loses messages measures nothing.
async fn own_mosquitto() -> anyhow::Result<(BenchBroker, String, u16)> {
    let port = super::rss::free_port()?;
    let conf = std::env::temp_dir().join(format!("sitewatch-bench-mosquitto-{port}.conf"));
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             max_queued_messages 1000000\nset_tcp_nodelay true\n"
        ),
    )?;
    // Debian installs it in /usr/sbin, which is not on every PATH.
    let spawn = |program: &str| {
        std::process::Command::new(program)
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
    };
    let child = spawn("mosquitto")
        .or_else(|_| spawn("/usr/sbin/mosquitto"))
        .context("Failed to start mosquitto (scripts/test installs it)")?;
    let broker = BenchBroker::Mosquitto(child);
    let listening = super::rss::wait_listening(port, "mosquitto").await;
    let _ = std::fs::remove_file(&conf);
    listening?;
    Ok((broker, "127.0.0.1".to_owned(), port))
}

/// Runs both parts and prints the figures.
pub async fn run(o: AlarmBenchOptions) -> anyhow::Result<()> {
    println!(
        "alarm engine, {} points, {} active alarms, {} readings",
        o.points, o.active, o.readings
    );
    let core = core_cost(&o)?;
    let hub = hub_cost(&o)?;
    let target = 2_000.0;
    println!(
        "  alarm engine alone      {core:>8.0} ns/reading  {:>10.0} readings/s  ({:.2}x the 2 µs target)",
        1e9 / core,
        core / target
    );
    println!(
        "  points hub + alarms     {hub:>8.0} ns/reading  {:>10.0} readings/s  ({:.2}x the 2 µs target)",
        1e9 / hub,
        hub / target
    );
    let lat = end_to_end(o.events).await?;
    let (p50, p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
    println!(
        "reading in (MQTT) -> alarm event out (MQTT), {} alarms: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({:.2}x the 10 ms p99 target)",
        lat.len(),
        p50 * 1e3,
        p99 * 1e3,
        lat.iter().cloned().fold(0.0, f64::max) * 1e3,
        p99 * 1e3 / 10.0
    );
    println!("RSS {:.1} MB", super::modbus::rss_mb());
    Ok(())
}

fn point(k: usize) -> String {
    format!("dev{}.p{k}", k / 50)
}

fn rules(n: usize) -> anyhow::Result<Vec<AlarmRule>> {
    let spec: RuleSpec =
        toml::from_str("kind = \"high\"\nlimit = 80.0\ndeadband = 2.0").context("rule")?;
    Ok((0..n)
        .map(|k| AlarmRule {
            id: format!("{}:high", point(k)),
            point: point(k),
            device: format!("dev{}", k / 50),
            unit: None,
            spec: spec.clone(),
            message: String::new(),
            message_zh: None,
        })
        .collect())
}

/// The value of reading `i` for point `k`: active points stay above the limit, the rest
/// move inside their normal band.
fn value(o: &AlarmBenchOptions, k: usize, i: usize) -> f64 {
    if k < o.active {
        90.0
    } else {
        50.0 + (i % 7) as f64
    }
}

fn core_cost(o: &AlarmBenchOptions) -> anyhow::Result<f64> {
    let mut engine = AlarmEngine::new(rules(o.points)?, AlarmConfig::default())?;
    let now = Utc::now();
    for k in 0..o.active {
        engine.on_point(&sample(point(k), 90.0, now), now);
    }
    let events: Vec<PointEvent> = (0..o.readings)
        .map(|i| sample(point(i % o.points), value(o, i % o.points, i), now))
        .collect();
    let start = Instant::now();
    let mut produced = 0;
    for ev in &events {
        produced += engine.on_point(ev, now).len();
    }
    let ns = start.elapsed().as_nanos() as f64 / events.len() as f64;
    anyhow::ensure!(
        produced == 0,
        "steady readings should cause no alarm events, got {produced}"
    );
    Ok(ns)
}

fn hub_cost(o: &AlarmBenchOptions) -> anyhow::Result<f64> {
    let devices = o.points.div_ceil(50);
    let mut hub = PointsHub::new(
        (0..devices)
            .map(|d| DeviceSpec {
                id: format!("dev{d}"),
                comm_loss_after: 3,
            })
            .collect(),
        (0..o.points)
            .map(|k| PointSpec {
                id: point(k).into(),
                device: format!("dev{}", k / 50),
                unit: String::new(),
                stale_after: None,
                history_deadband: 0.5,
                history_heartbeat: chrono::Duration::minutes(5),
            })
            .collect(),
    );
    let mut engine = AlarmEngine::new(rules(o.points)?, AlarmConfig::default())?;
    let now = Utc::now();
    // One poll per device per round, 50 readings each, as a poller sends them.
    let rounds = (o.readings / o.points).max(1);
    let polls: Vec<SourceEvent> = (0..rounds)
        .flat_map(|i| {
            (0..devices).map(move |d| SourceEvent::Polled {
                device: format!("dev{d}"),
                values: (d * 50..((d + 1) * 50).min(o.points))
                    .map(|k| (point(k).into(), value(o, k, i)))
                    .collect(),
            })
        })
        .collect();
    let start = Instant::now();
    let mut readings = 0usize;
    for poll in polls {
        if let SourceEvent::Polled { values, .. } = &poll {
            readings += values.len();
        }
        for ev in hub.handle(poll, now) {
            engine.on_point(&ev, now);
        }
    }
    Ok(start.elapsed().as_nanos() as f64 / readings as f64)
}

fn sample(point: String, value: f64, at: chrono::DateTime<Utc>) -> PointEvent {
    PointEvent::Sample {
        point: point.into(),
        value,
        at,
        record: false,
        slot: None,
    }
}

/// Raises `n` leak alarms one after another through a whole daemon and measures each from
/// the sensor's publish to the alarm event's arrival at a subscriber.
async fn end_to_end(n: usize) -> anyhow::Result<Vec<f64>> {
    let (broker, host, port) = broker().await?;
    let dir = super::modbus::tempfile_dir()?;
    let mut config = leak_site(n, &format!("mqtt://{host}:{port}"), &dir)?;
    config.mqtt.broker_stats = broker.has_stats();
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(app.run_until_stopped(cancel.clone()));
    let (client, mut arrivals) = subscriber(&host, port).await?;
    // Give the daemon's MQTT source time to subscribe before the first reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let sent = Instant::now();
        client
            .publish(
                format!("bench/leak_{i:04}"),
                QoS::AtLeastOnce,
                false,
                r#"{"water_leak":true}"#,
            )
            .await?;
        let want = format!("leak_{i:04}.leak:discrete");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let got = tokio::time::timeout_at(deadline, arrivals.recv())
                .await
                .context("alarm event did not arrive")?;
            match got {
                Some((alarm, at)) if alarm == want => {
                    lat.push((at - sent).as_secs_f64());
                    break;
                }
                Some(_) => {}
                None => anyhow::bail!("subscriber stopped"),
            }
        }
    }
    cancel.cancel();
    let _ = daemon.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(lat)
}

fn leak_site(n: usize, url: &str, dir: &std::path::Path) -> anyhow::Result<Config> {
    let mut text = format!(
        "[site]\nid = \"bench\"\nname = \"Bench\"\n[http]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}/bench.db\"\n[mqtt]\nurl = \"{url}\"\n",
        dir.display()
    );
    for i in 0..n {
        text.push_str(&format!(
            "[[devices]]\nid = \"leak_{i:04}\"\nname = \"Leak {i}\"\nprofile = \"zigbee_water_leak\"\nmqtt = {{ topic = \"bench/leak_{i:04}\" }}\n"
        ));
    }
    Config::parse(std::path::Path::new("bench.toml"), &text, None)
        .map_err(|p| anyhow::anyhow!("bench config: {p}"))
}

/// A client that publishes the readings and reports each alarm event with its arrival time.
async fn subscriber(
    host: &str,
    port: u16,
) -> anyhow::Result<(AsyncClient, mpsc::Receiver<(String, Instant)>)> {
    let (client, mut events) = AsyncClient::new(MqttOptions::new("bench-probe", host, port), 1024);
    events.set_network_options(crate::devices::mqtt::network_options());
    client
        .subscribe("sitewatch/bench/events", QoS::AtLeastOnce)
        .await?;
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        let mut seen: HashSet<String> = HashSet::new();
        while let Ok(ev) = events.poll().await {
            let Event::Incoming(Packet::Publish(p)) = ev else {
                continue;
            };
            let at = Instant::now();
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&p.payload) else {
                continue;
            };
            let raised = v["kind"] == "alarm" && v["data"]["transition"]["kind"] == "raised";
            let Some(alarm) = v["data"]["alarm"].as_str().filter(|_| raised) else {
                continue;
            };
            if seen.insert(alarm.to_owned()) && tx.send((alarm.to_owned(), at)).await.is_err() {
                return;
            }
        }
    });
    Ok((client, rx))
}

fn percentile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s.get(((s.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or(0.0)
}
