//! `sitewatch bench modbus`: many simulated devices on loopback, polled at saturation and
//! at a fixed 2,000 polls/s, first by a bare tokio-modbus loop, then by sitewatch's bus
//! code, in one run. The simulator runs on its own runtime thread (`sim`), the clients on
//! another (`poll`), so CPU is measured for the client thread alone (from
//! `/proc/self/task/*/stat`, assuming 100 clock ticks per second).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use sitewatch_core::points::{PointId, SourceEvent};
use tokio_modbus::client::{Reader, tcp};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::devices::modbus::Bus;
use crate::devices::simulator::{SimDevice, Simulator};
use crate::metrics::Registry;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Simulated devices, one TCP connection each.
    pub devices: usize,
    /// Holding registers per device, read in one request.
    pub registers: u16,
    /// Seconds per phase.
    pub seconds: u64,
    /// Rounds of all four phases. The machine's other load varies over a run, so one
    /// bare phase and one sitewatch phase minutes apart compare badly; the ratios are
    /// taken per round (phases back to back) and the median printed.
    pub rounds: usize,
}

/// One phase's figures.
#[derive(Debug, Default, Clone)]
struct Figures {
    polls: u64,
    cpu: f64,
    secs: f64,
    p50: f64,
    p99: f64,
}

impl Figures {
    fn line(&self, name: &str) -> String {
        let rate = self.polls as f64 / self.secs;
        let cpu_k = self.cpu / (self.polls.max(1) as f64) * 1000.0;
        format!(
            "{name:<24} {rate:>10.0} polls/s  {cpu_k:>7.4} CPU s/1k reads  p50 {:>6.2} ms  p99 {:>6.2} ms",
            self.p50 * 1e3,
            self.p99 * 1e3
        )
    }
}

/// Runs the benchmark on its own runtimes and prints the figures.
pub fn run(opts: BenchOptions) -> anyhow::Result<()> {
    let sim_rt = runtime("sim")?;
    let poll_rt = runtime("poll")?;
    let config = bench_config(&opts, &["127.0.0.1:1".to_owned()])?;
    let sims: Vec<SimDevice> = crate::devices::sim_devices(&config.devices[..1]);
    let simulators = sim_rt.block_on(async {
        let mut out = Vec::new();
        for _ in 0..opts.devices {
            let sim = Simulator::start("127.0.0.1:0".parse()?, &sims).await?;
            // The bench profile has no model: give every register a value to read.
            for a in 0..opts.registers {
                sim.set(1, &format!("r{a}"), f64::from(a));
            }
            out.push(sim);
        }
        anyhow::Ok(out)
    })?;
    let addrs: Vec<String> = simulators.iter().map(|s| s.addr().to_string()).collect();
    let secs = Duration::from_secs(opts.seconds);
    let fixed = Duration::from_secs_f64(opts.devices as f64 / 2000.0);
    println!(
        "{} devices x {} registers, {} s per phase, {} rounds, 1 client thread",
        opts.devices, opts.registers, opts.seconds, opts.rounds
    );
    let rate = |f: &Figures| f.polls as f64 / f.secs;
    let (mut saturated, mut cpu) = (Vec::new(), Vec::new());
    for round in 1..=opts.rounds.max(1) {
        let bare = poll_rt.block_on(bare_loop(&addrs, opts.registers, secs, None));
        let ours = poll_rt.block_on(sitewatch(&opts, &addrs, secs, Duration::from_micros(1)))?;
        let bare_fixed = poll_rt.block_on(bare_loop(&addrs, opts.registers, secs, Some(fixed)));
        let ours_fixed = poll_rt.block_on(sitewatch(&opts, &addrs, secs, fixed))?;
        println!("round {round}");
        println!("{}", bare.line("  bare, saturated"));
        println!("{}", ours.line("  sitewatch, saturated"));
        println!("{}", bare_fixed.line("  bare, 2000/s"));
        println!("{}", ours_fixed.line("  sitewatch, 2000/s"));
        saturated.push(rate(&ours) / rate(&bare));
        cpu.push(ours_fixed.cpu / bare_fixed.cpu.max(1e-9));
    }
    let (each_saturated, each_cpu) = (listed(&saturated), listed(&cpu));
    println!(
        "ratio polls/s at saturation (sitewatch/bare): {:.2} (median of {each_saturated})",
        median(&mut saturated)
    );
    println!(
        "ratio CPU at 2000/s (sitewatch/bare):         {:.2} (median of {each_cpu})",
        median(&mut cpu)
    );
    println!(
        "RSS (whole process, simulator included):      {:.1} MB",
        rss_mb()
    );
    drop(simulators);
    Ok(())
}

/// The middle value (the upper middle of an even count); sorts `v`.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn listed(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|r| format!("{r:.2}")).collect();
    parts.join(", ")
}

fn runtime(name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .enable_all()
        .build()
        .context("Failed to start a runtime")
}

/// The `bench` profile: `registers` holding registers `r0`, `r1`… read as `u16`.
pub(crate) fn bench_profile(registers: u16) -> String {
    let mut profile = "[profile]\nid = \"bench\"\nname = \"Bench\"\nmanual = \"none\"\n".to_owned();
    for a in 0..registers {
        profile.push_str(&format!(
            "[[points]]\nname = \"r{a}\"\ntable = \"holding\"\naddress = {a}\ntype = \"u16\"\n"
        ));
    }
    profile
}

fn bench_config(opts: &BenchOptions, addrs: &[String]) -> anyhow::Result<Config> {
    let dir = tempfile_dir()?;
    std::fs::write(dir.join("bench.toml"), bench_profile(opts.registers))?;
    let mut text = format!(
        "[site]\nid = \"b\"\nname = \"B\"\n[profiles]\ndir = \"{}\"\n",
        dir.display()
    );
    for (i, addr) in addrs.iter().enumerate() {
        text.push_str(&format!(
            "[[devices]]\nid = \"d{i}\"\nname = \"D\"\nprofile = \"bench\"\nmodbus = {{ address = \"{addr}\", poll_interval = \"1s\" }}\n"
        ));
    }
    Config::parse(
        std::path::Path::new("bench.toml"),
        &text,
        Some(std::path::Path::new("/")),
    )
    .map_err(|p| anyhow::anyhow!("bench config: {p}"))
}

pub(crate) fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("sitewatch-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// One tokio-modbus context per device, reading in a loop (or at `every`).
async fn bare_loop(
    addrs: &[String],
    registers: u16,
    secs: Duration,
    every: Option<Duration>,
) -> Figures {
    let cpu0 = client_cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for addr in addrs {
        let addr = addr.parse().ok();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let Some(mut ctx) = (match addr {
                Some(a) => tcp::connect_slave(a, tokio_modbus::Slave(1)).await.ok(),
                None => None,
            }) else {
                return lat;
            };
            let mut tick = every.map(tokio::time::interval);
            while started.elapsed() < secs {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let t = Instant::now();
                if matches!(ctx.read_holding_registers(0, registers).await, Ok(Ok(_))) {
                    lat.push(t.elapsed().as_secs_f64());
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap_or_default());
    }
    figures(lat, client_cpu() - cpu0, started.elapsed())
}

/// sitewatch's buses, one per device, reporting into a counting sink.
async fn sitewatch(
    opts: &BenchOptions,
    addrs: &[String],
    secs: Duration,
    every: Duration,
) -> anyhow::Result<Figures> {
    let mut config = bench_config(opts, addrs)?;
    for d in &mut config.devices {
        if let Some(m) = d.config.modbus.as_mut() {
            m.poll_interval = every;
        }
    }
    let metrics = Registry::new();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let cpu0 = client_cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for d in &config.devices {
        if let Some(bus) = Bus::new(vec![d.clone()], tx.clone(), metrics.clone(), PointId::from) {
            tasks.push(tokio::spawn(bus.run(cancel.clone())));
        }
    }
    drop(tx);
    let sink = tokio::spawn(async move {
        let mut polls = 0u64;
        while let Some(ev) = rx.recv().await {
            polls += u64::from(matches!(ev, SourceEvent::Polled { .. }));
        }
        polls
    });
    tokio::time::sleep(secs).await;
    cancel.cancel();
    for t in tasks {
        t.await.ok();
    }
    let elapsed = started.elapsed();
    let polls = sink.await.unwrap_or_default();
    let mut f = figures(Vec::new(), client_cpu() - cpu0, elapsed);
    f.polls = polls;
    (f.p50, f.p99) = histogram_quantiles(&metrics.render());
    Ok(f)
}

fn figures(mut lat: Vec<f64>, cpu: f64, elapsed: Duration) -> Figures {
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Figures {
        polls: lat.len() as u64,
        cpu,
        secs: elapsed.as_secs_f64(),
        p50: q(0.5),
        p99: q(0.99),
    }
}

/// p50 and p99 of every device's request-duration histogram, summed, interpolated within
/// buckets as Prometheus' `histogram_quantile` does.
fn histogram_quantiles(text: &str) -> (f64, f64) {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("sitewatch_modbus_request_duration_seconds_bucket"))
    {
        let le = line
            .split("le=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("+Inf");
        let le: f64 = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::INFINITY)
        };
        let n: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        match buckets.iter_mut().find(|(b, _)| *b == le) {
            Some(b) => b.1 += n,
            None => buckets.push((le, n)),
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last().map_or(0.0, |b| b.1);
    let q = |p: f64| {
        let rank = total * p;
        let mut prev = (0.0, 0.0);
        for &(le, n) in &buckets {
            if n >= rank {
                if le.is_infinite() {
                    return prev.0;
                }
                let share = if n > prev.1 {
                    (rank - prev.1) / (n - prev.1)
                } else {
                    0.0
                };
                return prev.0 + (le - prev.0) * share;
            }
            prev = (le, n);
        }
        prev.0
    };
    (q(0.5), q(0.99))
}

/// CPU seconds used so far by the `poll` runtime's threads.
fn client_cpu() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut ticks = 0u64;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != "poll" {
            continue;
        }
        ticks += cpu_ticks(&task.path().join("stat"));
    }
    ticks as f64 / 100.0
}

/// User plus system time in clock ticks from a `/proc/…/stat` file (0 where unreadable).
pub(crate) fn cpu_ticks(stat: &std::path::Path) -> u64 {
    let stat = std::fs::read_to_string(stat).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(Vec::new(), |x| x.1.split(' ').collect());
    let n = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    n(11) + n(12)
}

pub(crate) fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// A memory figure of this process from `/proc/self/status` (`VmRSS:`, `VmHWM:`,
/// `RssAnon:`, `RssFile:`), in MB.
pub(crate) fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
