//! `sitewatch bench mqtt`: messages/s from a publisher through the broker, first into a
//! bare rumqttc subscriber, then into sitewatch (MQTT source, payload parsing, points hub,
//! alarm engine, store), in one run and with the same publisher. The machine is shared and
//! its load drifts, so the phases run in several rounds, alternating which goes first, and
//! the median of the rounds' ratios is the figure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use sitewatch_core::clock::SystemClock;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Config;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct MqttBenchOptions {
    /// Messages per phase.
    pub messages: u64,
    /// Devices (topics) they are spread over.
    pub devices: usize,
    /// Rounds of both phases.
    pub rounds: usize,
}

/// Runs both phases `rounds` times and prints messages/s and the ratio of each round, and
/// the medians.
pub async fn run(o: MqttBenchOptions) -> anyhow::Result<()> {
    let (broker, host, port) = super::alarms::broker().await?;
    let stats = broker.has_stats();
    println!(
        "MQTT ingest, {} messages (QoS 1) over {} topics, broker {host}:{port}, {} rounds",
        o.messages, o.devices, o.rounds
    );
    let mut rounds = Vec::new();
    for r in 0..o.rounds.max(1) {
        // Alternating, so neither phase always meets the broker and the machine first.
        let ((bare, bare_cpu, bare_cs), (sw, sw_cpu, sw_cs)) = if r % 2 == 0 {
            let bare = measured(&o, bare_phase(&o, &host, port)).await?;
            (
                bare,
                measured(&o, sitewatch_phase(&o, &host, port, stats)).await?,
            )
        } else {
            let sw = measured(&o, sitewatch_phase(&o, &host, port, stats)).await?;
            (measured(&o, bare_phase(&o, &host, port)).await?, sw)
        };
        println!(
            "  round {}: bare {bare:>8.0} msg/s ({bare_cpu:.1} µs CPU, {bare_cs:.2} switches/msg), sitewatch {sw:>8.0} msg/s ({sw_cpu:.1} µs CPU, {sw_cs:.2} switches/msg), {:.2}x",
            r + 1,
            sw / bare
        );
        rounds.push((bare, sw));
    }
    let bare = median(rounds.iter().map(|r| r.0));
    let sw = median(rounds.iter().map(|r| r.1));
    let ratio = median(rounds.iter().map(|r| r.1 / r.0));
    println!("  bare rumqttc subscriber  {bare:>10.0} msg/s (median)");
    println!("  sitewatch                {sw:>10.0} msg/s (median)");
    println!("  ratio, median of rounds  {ratio:>10.2}x the bare subscriber; target 0.9x");
    println!("RSS {:.1} MB", super::modbus::rss_mb());
    Ok(())
}

/// A phase's rate, and the CPU time and context switches of the whole process (publisher,
/// broker when embedded, subscriber or daemon) per message: on a shared machine the rate
/// follows the load of others, the CPU per message much less; every hand-off between
/// threads that finds the other asleep costs a switch.
async fn measured(
    o: &MqttBenchOptions,
    phase: impl std::future::Future<Output = anyhow::Result<f64>>,
) -> anyhow::Result<(f64, f64, f64)> {
    let (cpu0, cs0) = (cpu_seconds(), context_switches());
    let rate = phase.await?;
    let (cpu, cs) = (cpu_seconds() - cpu0, context_switches() - cs0);
    let n = o.messages as f64;
    Ok((rate, cpu * 1e6 / n, cs as f64 / n))
}

/// Voluntary and involuntary context switches of every thread of the process so far,
/// including threads that have ended.
fn context_switches() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    usage.ru_nvcsw + usage.ru_nivcsw
}

/// User and system time of this process so far, from `/proc/self/stat` (in clock ticks of
/// 1/100 s, Linux's `USER_HZ`); 0 where there is no `/proc`.
fn cpu_seconds() -> f64 {
    super::modbus::cpu_ticks(std::path::Path::new("/proc/self/stat")) as f64 / 100.0
}

fn median(xs: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = xs.collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn client(id: &str, host: &str, port: u16) -> (AsyncClient, rumqttc::EventLoop) {
    let mut opts = MqttOptions::new(id, host, port);
    opts.set_max_packet_size(64 * 1024, 64 * 1024);
    let (c, mut e) = AsyncClient::new(opts, 4096);
    e.set_network_options(crate::devices::mqtt::network_options());
    (c, e)
}

/// Publishes the phase's messages as fast as the client takes them.
async fn publish_all(
    o: &MqttBenchOptions,
    host: &str,
    port: u16,
    prefix: &str,
) -> anyhow::Result<()> {
    let (pubc, mut events) = client(&format!("bench-pub-{prefix}"), host, port);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    for i in 0..o.messages {
        let topic = format!("{prefix}/d{:04}", i as usize % o.devices);
        pubc.publish(topic, QoS::AtLeastOnce, false, format!("{}", i % 1000))
            .await?;
    }
    Ok(())
}

async fn bare_phase(o: &MqttBenchOptions, host: &str, port: u16) -> anyhow::Result<f64> {
    let (sub, mut events) = client("bench-bare-sub", host, port);
    // One filter per device topic, as sitewatch subscribes: the broker matches each message
    // against as many filters in both phases.
    let topics = (0..o.devices).map(|i| format!("benchbare/d{i:04}"));
    sub.subscribe_many(topics.map(|t| rumqttc::SubscribeFilter::new(t, QoS::AtLeastOnce)))
        .await?;
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok(ev) = events.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = ev {
                // The least a subscriber does: parse the number.
                if std::str::from_utf8(&p.payload)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .is_some()
                {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    publish_all(o, host, port, "benchbare").await?;
    wait_for(|| async { count.load(Ordering::Relaxed) }, o.messages).await?;
    Ok(o.messages as f64 / start.elapsed().as_secs_f64())
}

async fn sitewatch_phase(
    o: &MqttBenchOptions,
    host: &str,
    port: u16,
    broker_stats: bool,
) -> anyhow::Result<f64> {
    let dir = super::modbus::tempfile_dir()?;
    let mut config = site(o, host, port, &dir)?;
    config.mqtt.broker_stats = broker_stats;
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let metrics = format!("http://{}/metrics", app.addr());
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(app.run_until_stopped(cancel.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = Instant::now();
    publish_all(o, host, port, "benchsw").await?;
    wait_for(|| ok_messages(&metrics), o.messages).await?;
    let rate = o.messages as f64 / start.elapsed().as_secs_f64();
    cancel.cancel();
    let _ = daemon.await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rate)
}

/// `sitewatch_mqtt_messages_total{result="ok"}` from the daemon's own `/metrics`.
async fn ok_messages(url: &str) -> u64 {
    let Ok(text) = http_get(url).await else {
        return 0;
    };
    text.lines()
        .find_map(|l| l.strip_prefix(r#"sitewatch_mqtt_messages_total{result="ok"} "#))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// A minimal HTTP/1.0 GET, so the benchmark needs no HTTP client crate.
async fn http_get(url: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").context("http url")?;
    let (addr, path) = rest.split_once('/').context("path")?;
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET /{path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).await?;
    Ok(buf)
}

async fn wait_for<F, Fut>(count: F, want: u64) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let deadline = Instant::now() + Duration::from_secs(120);
    while count().await < want {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {want} messages arrived",
            count().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

fn site(
    o: &MqttBenchOptions,
    host: &str,
    port: u16,
    dir: &std::path::Path,
) -> anyhow::Result<Config> {
    let mut text = format!(
        "[site]\nid = \"benchsw\"\nname = \"Bench\"\n[http]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}/bench.db\"\n[mqtt]\nurl = \"mqtt://{host}:{port}\"\nclient_id = \"bench-sitewatch\"\n",
        dir.display()
    );
    for i in 0..o.devices {
        text.push_str(&format!(
            "[[devices]]\nid = \"d{i:04}\"\nname = \"D{i}\"\nprofile = \"mqtt_plain_value\"\nmqtt = {{ topic = \"benchsw/d{i:04}\" }}\n"
        ));
    }
    Config::parse(std::path::Path::new("bench.toml"), &text, None)
        .map_err(|p| anyhow::anyhow!("bench config: {p}"))
}
