//! `sitewatch bench estate`: a housing estate's meters (issue 24). `sitewatch simulate-
//! estate` in a child process serves `gateways` listeners with `per_gateway` household
//! meters each (half power, half water) and the demo's plant; in this process a bare
//! tokio-modbus sweep reads every meter once per cadence for a while, then the whole
//! daemon does, with the full unit and meter register in SQLite, in a process of its
//! own (`sitewatch estate-daemon`), whose `/proc/PID` figures are the daemon's alone. Printed side by side:
//! start-up time, one sweep's time, CPU seconds per 1,000 reads and its ratio to the
//! bare sweep, resident memory, the `/metrics` body's size, scrape time and series, and
//! the billing snapshot's time (taken for the month whose cut-off has passed) and its CSV.

use std::fmt::Write as _;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::TimeZone;
use sitewatch_core::clock::ManualClock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_modbus::client::Reader;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Config;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct EstateOptions {
    /// Households: each has a power and a water meter.
    pub households: usize,
    /// Unit ids per gateway.
    pub per_gateway: usize,
    /// Seconds between sweeps.
    pub cadence: u64,
    /// Seconds each phase reads for CPU per read.
    pub seconds: u64,
}

/// Kills the simulator when the bench ends, however it ends.
struct Child_(Child);

impl Drop for Child_ {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The gateways' and the plant's ports, as the child prints them.
struct Ports {
    gateways: Vec<u16>,
    plant: u16,
}

/// Runs the whole bench and prints its figures.
pub async fn run(opts: EstateOptions) -> anyhow::Result<()> {
    let meters = opts.households * 2;
    // As many for water as for power, each full but the last.
    let gateways = 2 * opts.households.div_ceil(opts.per_gateway);
    let (child, ports) = simulator(gateways, opts.per_gateway)?;
    let _child = Child_(child);
    let dir = super::modbus::tempfile_dir()?.join("estate");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("site.toml");
    std::fs::write(&path, config_text(&dir, &ports, opts.cadence)?)?;
    let config = Config::load(&path).map_err(|p| anyhow::anyhow!("bench config: {p}"))?;
    registers(&config, opts.households, opts.per_gateway).await?;
    let bare = bare_sweeps(&ports.gateways, opts).await?;
    let started = Instant::now();
    let mut daemon = Daemon::start(&path)?;
    let addr = daemon.addr;
    let answering = wait_for(addr, "/readyz", |_| true).await?;
    let startup = started.elapsed();
    let swept = wait_for(addr, "/metrics", |t| {
        sum(t, "sitewatch_estate_sweeps_total{") >= gateways as f64
            && t.lines()
                .filter(|l| l.starts_with("sitewatch_estate_sweeps_total{"))
                .all(|l| !l.ends_with(" 0"))
    })
    .await?;
    let first_sweep = started.elapsed();
    let sweep = max_of(&swept, "sitewatch_estate_sweep_seconds{");
    let (cpu0, reads0, t0) = (
        daemon.cpu(),
        sum(&swept, "sitewatch_estate_requests_total{"),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs(opts.seconds)).await;
    let (scrape, text) = timed_get(addr, "/metrics").await?;
    let reads = sum(&text, "sitewatch_estate_requests_total{") - reads0;
    let cpu = daemon.cpu() - cpu0;
    let secs = t0.elapsed().as_secs_f64();
    let rss = daemon.status_mb("VmRSS:");
    let peak = daemon.status_mb("VmHWM:");
    let series = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    daemon.advance(20)?;
    let snapshot_wait = Instant::now();
    let period = wait_for(addr, "/api/v1/meter-snapshots/periods", |t| {
        t.contains("\"20")
    })
    .await?;
    let snapshot_after = snapshot_wait.elapsed();
    let period = period
        .split('"')
        .find(|p| p.len() == 7 && p.starts_with("20"))
        .unwrap_or("")
        .to_owned();
    let (csv_time, csv) = timed_get(
        addr,
        &format!("/api/v1/meter-snapshots?period={period}&format=csv"),
    )
    .await?;
    daemon.stop();
    let _ = answering;
    let mut out = String::new();
    let sw_k = cpu / reads.max(1.0) * 1000.0;
    let _ = writeln!(
        out,
        "{} households: {meters} meters on {gateways} gateways x {} unit ids, a sweep every {} s, plus the demo plant",
        opts.households, opts.per_gateway, opts.cadence
    );
    let _ = writeln!(
        out,
        "bare tokio-modbus sweep  {:>8.0} reads/s  {:>7.4} CPU s/1k reads  longest sweep {:.2} s",
        bare.reads / bare.secs,
        bare.cpu_per_k(),
        bare.sweep
    );
    let _ = writeln!(
        out,
        "sitewatch                {:>8.0} reads/s  {sw_k:>7.4} CPU s/1k reads  longest sweep {sweep:.2} s  ratio {:.2}x",
        reads / secs,
        sw_k / bare.cpu_per_k().max(1e-9)
    );
    let _ = writeln!(
        out,
        "start-up with the register: {:.2} s to answering; every gateway's first sweep done {:.2} s after start",
        startup.as_secs_f64(),
        first_sweep.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "resident memory of the daemon's process: {rss:.1} MB (peak {peak:.1} MB)"
    );
    let _ = writeln!(
        out,
        "/metrics: {} kB, scraped in {:.1} ms, {series} series",
        text.len() / 1024,
        scrape.as_secs_f64() * 1e3
    );
    let _ = writeln!(
        out,
        "billing snapshot {period}: kept {:.2} s after the cut-off passed (the engine tick is 1 s); CSV of {} rows in {:.1} ms ({} kB)",
        snapshot_after.as_secs_f64(),
        csv.lines().count().saturating_sub(1),
        csv_time.as_secs_f64() * 1e3,
        csv.len() / 1024
    );
    print!("{out}");
    Ok(())
}

/// The daemon under measure, in a process of its own (`sitewatch estate-daemon`), so its
/// CPU and memory are its own, not the bench's and the bare sweep's runtime.
struct Daemon {
    child: Child_,
    stdin: Option<std::process::ChildStdin>,
    addr: std::net::SocketAddr,
}

impl Daemon {
    fn start(config: &std::path::Path) -> anyhow::Result<Daemon> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("estate-daemon")
            .arg("--config")
            .arg(config)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("Failed to start `sitewatch estate-daemon`")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("daemon's output")?;
        let child = Child_(child);
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let addr = (line.trim().strip_prefix("listening "))
            .and_then(|a| a.parse().ok())
            .with_context(|| format!("the daemon printed `{}`, not its address", line.trim()))?;
        Ok(Daemon { child, stdin, addr })
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// CPU seconds the daemon's process has used (every thread).
    fn cpu(&self) -> f64 {
        let stat = format!("/proc/{}/stat", self.pid());
        super::modbus::cpu_ticks(std::path::Path::new(&stat)) as f64 / 100.0
    }

    /// A memory figure of the daemon's process from its `/proc/PID/status`, in MB.
    fn status_mb(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()));
        (status.unwrap_or_default().lines())
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// Moves the daemon's clock by `seconds`.
    fn advance(&mut self, seconds: i64) -> anyhow::Result<()> {
        use std::io::Write as _;
        let stdin = self.stdin.as_mut().context("daemon's input")?;
        writeln!(stdin, "advance {seconds}")?;
        stdin.flush()?;
        Ok(())
    }

    /// Ends its input, so it stops as at a signal, and waits for it.
    fn stop(mut self) {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `sitewatch estate-daemon`: the whole daemon on the bench's config, its clock stopped
/// ten seconds before November's cut-off (the end of the 20th in Shanghai) and moved
/// past it by the bench once every meter was read, so the snapshot is taken then and
/// timed. Prints `listening ADDR`; stops at the end of its input.
pub async fn daemon(config: Config) -> anyhow::Result<()> {
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 11, 20, 15, 59, 50)
        .single()
        .context("time")?;
    let clock = Arc::new(ManualClock::new(at));
    let app = App::build(config, clock.clone()).await?;
    println!("listening {}", app.addr());
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt as _;
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(s) = line.strip_prefix("advance ").and_then(|s| s.parse().ok()) {
                clock.advance(chrono::Duration::seconds(s));
            }
        }
        stop.cancel();
    });
    app.run_until_stopped(cancel).await
}

/// Starts `sitewatch simulate-estate` and reads the ports it listens on.
fn simulator(gateways: usize, per_gateway: usize) -> anyhow::Result<(Child, Ports)> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "simulate-estate",
            "--gateways",
            &gateways.to_string(),
            "--per-gateway",
            &per_gateway.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("Failed to start `sitewatch simulate-estate`")?;
    let stdout = child.stdout.take().context("simulator's output")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let ports: Vec<u16> = line
        .trim()
        .strip_prefix("ports ")
        .unwrap_or("")
        .split(',')
        .filter_map(|p| p.parse().ok())
        .collect();
    let (plant, gateways) = ports
        .split_last()
        .context("the simulator printed no ports")?;
    Ok((
        child,
        Ports {
            gateways: gateways.to_vec(),
            plant: *plant,
        },
    ))
}

/// Which profile gateway `i` of `n` serves: the first half power, the rest water.
fn profile_of(i: usize, n: usize) -> &'static str {
    if i < n / 2 {
        "household_electricity"
    } else {
        "household_water"
    }
}

/// Serves `gateways` simulated gateways with `per_gateway` meters each and the demo
/// plant, and prints `ports g1,g2,…,plant` once all listen (for `bench estate`).
pub async fn simulate(gateways: usize, per_gateway: usize) -> anyhow::Result<()> {
    let profiles = crate::config::load_profiles(None).map_err(|p| anyhow::anyhow!("{p}"))?;
    let any: std::net::SocketAddr = "127.0.0.1:0".parse()?;
    let mut sims = Vec::new();
    for i in 0..gateways {
        let profile = profiles[profile_of(i, gateways)].clone();
        let devices: Vec<_> = (1..=per_gateway)
            .filter_map(|u| {
                Some(crate::devices::simulator::SimDevice {
                    unit_id: u8::try_from(u).ok()?,
                    profile: profile.clone(),
                })
            })
            .collect();
        sims.push(crate::devices::simulator::Simulator::start(any, &devices).await?);
    }
    let demo = Config::parse(
        std::path::Path::new("demo.toml"),
        crate::config::DEMO_CONFIG,
        None,
    )
    .map_err(|p| anyhow::anyhow!("{p}"))?;
    sims.push(
        crate::devices::simulator::Simulator::start(
            any,
            &crate::devices::sim_devices(&demo.devices),
        )
        .await?,
    );
    let ports: Vec<String> = sims.iter().map(|s| s.addr().port().to_string()).collect();
    println!("ports {}", ports.join(","));
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The bench's site config: the demo's Modbus plant and the gateways.
fn config_text(dir: &std::path::Path, ports: &Ports, cadence: u64) -> anyhow::Result<String> {
    let demo = Config::parse(
        std::path::Path::new("demo.toml"),
        crate::config::DEMO_CONFIG,
        None,
    )
    .map_err(|p| anyhow::anyhow!("{p}"))?;
    let mut text = format!(
        "[site]\nid = \"bench\"\nname = \"Bench estate\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[database]\nurl = \"sqlite://{}\"\n\n",
        dir.join("estate.db").display()
    );
    for d in demo.devices.iter().filter(|d| d.config.modbus.is_some()) {
        let m = d.config.modbus.as_ref().context("modbus")?;
        let _ = writeln!(
            text,
            "[[devices]]\nid = \"{}\"\nname = \"{}\"\nprofile = \"{}\"\nmodbus = {{ address = \"127.0.0.1:{}\", unit_id = {}, poll_interval = \"1s\", timeout = \"500ms\" }}\n",
            d.config.id, d.config.id, d.profile.id, ports.plant, m.unit_id
        );
    }
    for (i, port) in ports.gateways.iter().enumerate() {
        let _ = writeln!(
            text,
            "[[gateways]]\nid = \"gw_{i}\"\naddress = \"127.0.0.1:{port}\"\npoll_interval = \"{cadence}s\"\ntimeout = \"500ms\"\n"
        );
    }
    Ok(text)
}

/// The unit register (a building of 100 households per 2 gateways) and the meter
/// register, imported as a site would.
async fn registers(config: &Config, households: usize, per_gateway: usize) -> anyhow::Result<()> {
    let store = crate::store::Store::connect(&config.database.url).await?;
    store.migrate().await?;
    let unit = |h: usize| {
        (
            h / 100 + 1,
            h % 100 / 5 + 1,
            format!("{:02}{:02}", h % 100 / 5 + 1, h % 5 + 1),
        )
    };
    let mut units = String::from("building,floor,unit,occupancy,owner_name,preferred_channel\n");
    let mut meters = String::from("meter,unit,kind,profile,gateway,unit_id\n");
    let power_gateways = households.div_ceil(per_gateway);
    for h in 0..households {
        let (b, f, u) = unit(h);
        let _ = writeln!(units, "{b},{f},{u},occupied,owner {b}-{u},paper");
        let (g, id) = (h / per_gateway, h % per_gateway + 1);
        let _ = writeln!(
            meters,
            "e_{b}_{u},{b}-{u},electricity,household_electricity,gw_{g},{id}"
        );
        let _ = writeln!(
            meters,
            "w_{b}_{u},{b}-{u},water,household_water,gw_{},{id}",
            g + power_gateways
        );
    }
    let now = chrono::Utc::now();
    crate::customers::import(&store, units, "bench", now)
        .await
        .map_err(|e| anyhow::anyhow!("units: {e}"))?;
    let t = config.register_targets();
    let known = crate::customers::meters::Known {
        gateways: t.gateways,
        profiles: t.profiles,
        units: store.unit_buildings().await?.into_keys().collect(),
        devices: t.devices,
    };
    crate::customers::import_meters(&store, meters, &known, "bench", now)
        .await
        .map_err(|e| anyhow::anyhow!("meters: {e}"))?;
    store.close().await;
    Ok(())
}

/// The bare sweep's figures.
struct Bare {
    reads: f64,
    cpu: f64,
    secs: f64,
    sweep: f64,
}

impl Bare {
    fn cpu_per_k(&self) -> f64 {
        self.cpu / self.reads.max(1.0) * 1000.0
    }
}

/// One tokio-modbus TCP context per gateway, each reading every unit id's two holding
/// registers in turn once per cadence, for `seconds`.
async fn bare_sweeps(ports: &[u16], opts: EstateOptions) -> anyhow::Result<Bare> {
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(opts.seconds);
    let mut tasks = Vec::new();
    for &port in ports {
        let per = opts.per_gateway;
        let cadence = Duration::from_secs(opts.cadence);
        tasks.push(tokio::spawn(async move {
            let mut ctx = tokio_modbus::client::tcp::connect(([127, 0, 0, 1], port).into()).await?;
            let (mut reads, mut longest) = (0u64, 0f64);
            let mut next = Instant::now();
            while Instant::now() < until {
                let began = Instant::now();
                for unit in 1..=per {
                    use tokio_modbus::prelude::SlaveContext as _;
                    ctx.set_slave(tokio_modbus::Slave(u8::try_from(unit).unwrap_or(1)));
                    let _ = tokio::time::timeout(
                        Duration::from_millis(500),
                        ctx.read_holding_registers(0, 2),
                    )
                    .await;
                    reads += 1;
                }
                longest = longest.max(began.elapsed().as_secs_f64());
                next += cadence;
                tokio::time::sleep_until(next.into()).await;
            }
            anyhow::Ok((reads, longest))
        }));
    }
    let (mut reads, mut sweep) = (0u64, 0f64);
    for t in tasks {
        let (r, s) = t.await??;
        reads += r;
        sweep = sweep.max(s);
    }
    Ok(Bare {
        reads: reads as f64,
        cpu: process_cpu() - cpu0,
        secs: t0.elapsed().as_secs_f64(),
        sweep,
    })
}

/// CPU seconds this process has used (every thread).
fn process_cpu() -> f64 {
    super::modbus::cpu_ticks(std::path::Path::new("/proc/self/stat")) as f64 / 100.0
}

/// Polls `path` every 100 ms (up to 10 minutes) until its body satisfies `done`.
async fn wait_for(
    addr: std::net::SocketAddr,
    path: &str,
    done: impl Fn(&str) -> bool,
) -> anyhow::Result<String> {
    let until = Instant::now() + Duration::from_secs(600);
    while Instant::now() < until {
        if let Ok((_, body)) = timed_get(addr, path).await
            && done(&body)
        {
            return Ok(body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{path} never became ready")
}

/// One GET over plain HTTP/1.0: how long it took and the body.
async fn timed_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<(Duration, String)> {
    let t0 = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: bench\r\n\r\n").as_bytes())
        .await?;
    let mut text = String::new();
    s.read_to_string(&mut text).await?;
    let took = t0.elapsed();
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_owned();
    Ok((took, body))
}

fn series<'a>(text: &'a str, prefix: &'a str) -> impl Iterator<Item = f64> + 'a {
    text.lines()
        .filter(move |l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
}

fn sum(text: &str, prefix: &str) -> f64 {
    series(text, prefix).sum()
}

fn max_of(text: &str, prefix: &str) -> f64 {
    series(text, prefix)
        .filter(|v| !v.is_nan())
        .fold(0.0, f64::max)
}
