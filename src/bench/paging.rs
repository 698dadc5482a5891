//! `sitewatch bench paging`: 1,000 alarms raised over 10 s (MQTT readings into the whole
//! daemon) with a rota of 10 people; the time from each reading to its alarm's first page
//! handed to the gateway (p50, p99; target p99 under 1 s), measured with flood control off
//! so every alarm is paged; then the same run with flood control on, counting the pages
//! handed over against what the flood rule allows (one page and one summary per person per
//! interval, every emergency page on top).
//!
//! The bare reference, in the same run: a plain MQTT subscriber that posts each reading
//! straight to the same gateway (no engine, no store, no paging), through the same broker.
//! Its p50/p99 is the floor the transport sets; the ratios say what sitewatch adds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::Value;
use sitewatch_core::clock::SystemClock;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Config;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct PagingBenchOptions {
    /// Alarms raised.
    pub alarms: usize,
    /// Over this many seconds.
    pub seconds: u64,
}

/// Every 10th alarm is an emergency (pages every level at once, never held back).
const EMERGENCY_EVERY: usize = 10;
/// The flood interval of the second run: short, so summaries fall inside the run.
const INTERVAL_S: u64 = 5;

/// What the gateway received: per alarm index the first arrival, and the summaries.
#[derive(Debug, Default)]
struct Received {
    first: BTreeMap<usize, Instant>,
    pages: usize,
    summaries: usize,
}

/// Runs both passes and prints the figures.
pub async fn run(o: PagingBenchOptions) -> anyhow::Result<()> {
    println!(
        "paging, {} alarms over {} s (1 in {EMERGENCY_EVERY} emergency), rota of 10 people",
        o.alarms, o.seconds
    );
    let mut bare = bare_pass(o).await?;
    bare.sort_by(f64::total_cmp);
    println!(
        "  bare reference (MQTT subscriber posting straight to the gateway): {} of {}, p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        bare.len(),
        o.alarms,
        pct(&bare, 0.5) * 1e3,
        pct(&bare, 0.99) * 1e3,
        bare.last().copied().unwrap_or(f64::NAN) * 1e3,
    );
    let (mut lat, _) = pass(o, false).await?;
    lat.sort_by(f64::total_cmp);
    println!(
        "  raise -> first page at the gateway, flood control off: {} of {} paged, p50 {:.0} ms  p99 {:.0} ms  max {:.0} ms  ({:.2}x the 1 s p99 target)",
        lat.len(),
        o.alarms,
        pct(&lat, 0.5) * 1e3,
        pct(&lat, 0.99) * 1e3,
        lat.last().copied().unwrap_or(f64::NAN) * 1e3,
        pct(&lat, 0.99)
    );
    println!(
        "  ratio sitewatch/bare: p50 {:.1}x  p99 {:.1}x",
        pct(&lat, 0.5) / pct(&bare, 0.5),
        pct(&lat, 0.99) / pct(&bare, 0.99),
    );
    let (_, got) = pass(o, true).await?;
    let emergency = o.alarms.div_ceil(EMERGENCY_EVERY);
    // The run and the settling after it, in intervals; each person paged for ordinary
    // alarms (the duty engineer on call) gets at most a page and a summary per interval.
    let intervals = (o.seconds + 10).div_ceil(INTERVAL_S) as usize;
    let allowed = 3 * emergency + 2 * intervals;
    println!(
        "  flood control on ({INTERVAL_S} s interval): {} pages handed to the gateway ({} about one alarm, {} summaries) where {} alarms would be {} pages; the rule allows at most {allowed} ({emergency} emergencies x 3 levels + 2 per interval)",
        got.pages + got.summaries,
        got.pages,
        got.summaries,
        o.alarms,
        o.alarms - emergency + 3 * emergency,
    );
    println!("RSS {:.1} MB", super::modbus::rss_mb());
    Ok(())
}

/// The `q` quantile of sorted `v`.
fn pct(v: &[f64], q: f64) -> f64 {
    v.get(((v.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// The same readings through the same broker to the same gateway, with nothing between:
/// each message posted at once as a page would be.
async fn bare_pass(o: PagingBenchOptions) -> anyhow::Result<Vec<f64>> {
    let (broker, host, port) = super::alarms::broker().await?;
    let received = Arc::new(Mutex::new(Received::default()));
    let gateway = gateway(received.clone()).await?;
    let run = format!("{}b", std::process::id());
    let mut opts = MqttOptions::new(format!("bench-bare-{run}"), host.clone(), port);
    opts.set_keep_alive(Duration::from_secs(5));
    let (sub, mut events) = AsyncClient::new(opts, 1024);
    sub.subscribe(format!("bench/{run}/#"), QoS::AtLeastOnce)
        .await?;
    let http = reqwest::Client::new();
    let relay = tokio::spawn(async move {
        while let Ok(ev) = events.poll().await {
            let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) = ev else {
                continue;
            };
            let device = p.topic.rsplit('/').next().unwrap_or_default().to_owned();
            let (http, url) = (http.clone(), gateway.clone());
            tokio::spawn(async move {
                let body =
                    serde_json::json!({"kind": "page", "text": format!("Alarm ({device}, bare)")});
                let _ = http.post(&url).json(&body).send().await;
            });
        }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sent = publish(o, &host, port, &run).await?;
    settle(&received, 30, o.alarms, false).await;
    relay.abort();
    drop(broker);
    let got = std::mem::take(&mut *received.lock().map_err(|_| anyhow::anyhow!("lock"))?);
    Ok(latencies(&got, &sent))
}

/// Publishes one reading per alarm, evenly over the run; when each went.
async fn publish(
    o: PagingBenchOptions,
    host: &str,
    port: u16,
    run: &str,
) -> anyhow::Result<Vec<Instant>> {
    let mut opts = MqttOptions::new(format!("bench-pager-{run}"), host, port);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(opts, 256);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let gap = Duration::from_secs(o.seconds) / u32::try_from(o.alarms.max(1)).unwrap_or(u32::MAX);
    let mut sent = Vec::with_capacity(o.alarms);
    for i in 0..o.alarms {
        sent.push(Instant::now());
        client
            .publish(format!("bench/{run}/b{i}"), QoS::AtLeastOnce, false, "1")
            .await?;
        tokio::time::sleep(gap).await;
    }
    Ok(sent)
}

fn latencies(got: &Received, sent: &[Instant]) -> Vec<f64> {
    got.first
        .iter()
        .filter_map(|(i, at)| sent.get(*i).map(|s| at.duration_since(*s).as_secs_f64()))
        .collect()
}

/// One daemon, one flood; the latencies of first pages and what arrived.
async fn pass(o: PagingBenchOptions, flood: bool) -> anyhow::Result<(Vec<f64>, Received)> {
    let (broker, host, port) = super::alarms::broker().await?;
    let received = Arc::new(Mutex::new(Received::default()));
    let gateway = gateway(received.clone()).await?;
    let dir = super::modbus::tempfile_dir()?;
    let run = format!("{}{}", std::process::id(), u8::from(flood));
    let mut config = site(
        o.alarms,
        &format!("mqtt://{host}:{port}"),
        &gateway,
        &dir,
        &run,
        flood,
    )?;
    config.mqtt.broker_stats = broker.has_stats();
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn(app.run_until_stopped(cancel.clone()));
    let sent = publish(o, &host, port, &run).await?;
    settle(&received, if flood { 10 } else { 30 }, o.alarms, flood).await;
    cancel.cancel();
    let _ = daemon.await;
    let _ = std::fs::remove_dir_all(&dir);
    drop(broker);
    let got = std::mem::take(&mut *received.lock().map_err(|_| anyhow::anyhow!("lock"))?);
    Ok((latencies(&got, &sent), got))
}

/// Waits until every alarm was paged (flood off) or for `secs` more.
async fn settle(received: &Arc<Mutex<Received>>, secs: u64, alarms: usize, flood: bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        let done = received
            .lock()
            .map(|r| r.first.len() >= alarms)
            .unwrap_or(false);
        if done && !flood {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The SMS gateway: notes when each page arrives.
async fn gateway(received: Arc<Mutex<Received>>) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let received = received.clone();
            async move {
                let now = Instant::now();
                let text = body["text"].as_str().unwrap_or_default();
                if let Ok(mut r) = received.lock() {
                    match alarm_index(text) {
                        Some(i) => {
                            r.pages += 1;
                            r.first.entry(i).or_insert(now);
                        }
                        None => r.summaries += 1,
                    }
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/sms", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// The device of a page's text (`(b17, …)`), `None` for a summary.
fn alarm_index(text: &str) -> Option<usize> {
    let at = text.find("(b")?;
    text[at + 2..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn site(
    n: usize,
    url: &str,
    gateway: &str,
    dir: &std::path::Path,
    run: &str,
    flood: bool,
) -> anyhow::Result<Config> {
    let (interval, per_hour) = if flood {
        (format!("{INTERVAL_S}s"), 30)
    } else {
        ("0s".into(), 1_000_000)
    };
    let mut text = format!(
        "[site]\nid = \"bench\"\nname = \"Bench\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
         [database]\nurl = \"sqlite://{}/bench.db\"\n[mqtt]\nurl = \"{url}\"\n\
         [notify]\n[notify.webhook]\nurl = \"{gateway}\"\n\
         [paging]\nsecret = \"bench-secret-bench-secret-bench-secret\"\nlink_base = \"http://127.0.0.1\"\n\
         summary_interval = \"{interval}\"\nper_hour = {per_hour}\n",
        dir.display()
    );
    // Ten people: eight duty engineers in three-hour shifts, a shift lead and a manager.
    for p in 0..10 {
        text.push_str(&format!(
            "[[people]]\nuser = \"p{p}\"\nchannels = [\"sms:+861390000000{p}\"]\n"
        ));
    }
    for p in 0..8 {
        text.push_str(&format!(
            "[[rota]]\nlevel = \"duty_engineer\"\nuser = \"p{p}\"\nhours = \"{:02}:00-{:02}:00\"\n",
            p * 3,
            (p + 1) * 3
        ));
    }
    text.push_str("[[rota]]\nlevel = \"shift_lead\"\nuser = \"p8\"\nhours = \"00:00-24:00\"\n");
    text.push_str("[[rota]]\nlevel = \"manager\"\nuser = \"p9\"\nhours = \"00:00-24:00\"\n");
    for i in 0..n {
        let priority = if i % EMERGENCY_EVERY == 0 {
            "emergency"
        } else {
            "high"
        };
        text.push_str(&format!(
            "[[devices]]\nid = \"b{i}\"\nname = \"B{i}\"\nprofile = \"mqtt_plain_value\"\n\
             mqtt = {{ topic = \"bench/{run}/b{i}\" }}\n\
             [[alarm_rules]]\npoint = \"b{i}.value\"\nkind = \"high\"\nlimit = 0.5\npriority = \"{priority}\"\n"
        ));
    }
    Config::parse(std::path::Path::new("bench.toml"), &text, None)
        .map_err(|p| anyhow::anyhow!("bench config: {p}"))
        .context("paging bench")
}
