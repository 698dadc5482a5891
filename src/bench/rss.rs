//! `sitewatch bench rss`: the whole daemon (engine, store, HTTP, metrics) polling many
//! Modbus devices, each on its own connection, served by `sitewatch simulate` in another
//! process, so the resident memory printed is the daemon's alone.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sitewatch_core::clock::SystemClock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Config;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct RssOptions {
    /// Devices, one TCP connection each.
    pub devices: usize,
    /// Holding registers per device.
    pub registers: u16,
    /// Polls per second over all devices.
    pub rate: f64,
    /// How long to run before reading the memory.
    pub seconds: u64,
}

/// Kills the simulator when the bench ends, however it ends.
struct Simulator(Child);

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the daemon against a simulator process and prints polls/s and memory.
pub async fn run(opts: RssOptions) -> anyhow::Result<()> {
    let dir = super::modbus::tempfile_dir()?.join("rss");
    std::fs::create_dir_all(&dir)?;
    let port = free_port()?;
    let path = write_config(&dir, &opts, port)?;
    let _sim = Simulator(
        Command::new(std::env::current_exe()?)
            .args([
                "simulate",
                "--listen",
                &format!("0.0.0.0:{port}"),
                "--config",
            ])
            .arg(&path)
            .stdout(Stdio::null())
            .spawn()
            .context("Failed to start `sitewatch simulate`")?,
    );
    wait_listening(port, "the simulator").await?;
    let baseline = super::modbus::rss_mb();
    let config = Config::load(&path).map_err(|p| anyhow::anyhow!("bench config: {p}"))?;
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let addr = app.addr();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(cancel.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (t0, r0) = (Instant::now(), requests(addr).await?);
    tokio::time::sleep(Duration::from_secs(opts.seconds)).await;
    let rate = (requests(addr).await? - r0) / t0.elapsed().as_secs_f64();
    let (rss, peak) = (super::modbus::rss_mb(), super::modbus::status_mb("VmHWM:"));
    // Mapped files (mostly the binary's own code) apart from the heap and other anonymous
    // memory: only the second grows with the site.
    let (anon, file) = (
        super::modbus::status_mb("RssAnon:"),
        super::modbus::status_mb("RssFile:"),
    );
    cancel.cancel();
    task.await??;
    println!(
        "{} devices x {} registers, one connection each, asked {:.0} polls/s, {} s",
        opts.devices, opts.registers, opts.rate, opts.seconds
    );
    println!("requests/s answered:             {rate:.0}");
    println!("RSS before the daemon started:   {baseline:.1} MB");
    println!("RSS with the daemon running:     {rss:.1} MB (peak {peak:.1} MB)");
    println!("  anonymous (heap, stacks):      {anon:.1} MB");
    println!("  mapped files (code, libc):     {file:.1} MB");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A site of `devices` bench devices, each at its own loopback address so each gets its own
/// connection (the bus key is the address), polled at `rate` in all.
fn write_config(
    dir: &std::path::Path,
    opts: &RssOptions,
    port: u16,
) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir.join("profiles"))?;
    std::fs::write(
        dir.join("profiles/bench.toml"),
        super::modbus::bench_profile(opts.registers),
    )?;
    let interval = opts.devices as f64 / opts.rate.max(1.0);
    let mut text = format!(
        "[site]\nid = \"rss\"\nname = \"RSS bench\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
         [database]\nurl = \"sqlite://{}/rss.db?mode=rwc\"\n[profiles]\ndir = \"profiles\"\n",
        dir.display()
    );
    for i in 0..opts.devices {
        let host = format!("127.0.{}.{}", i / 250, 1 + i % 250);
        text.push_str(&format!(
            "[[devices]]\nid = \"d{i}\"\nname = \"D{i}\"\nprofile = \"bench\"\n\
             modbus = {{ address = \"{host}:{port}\", poll_interval = \"{interval:.3}s\" }}\n"
        ));
    }
    let path = dir.join("site.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// A loopback port nobody listens on now.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits up to 5 s for `what`, a process this bench started, to listen on `port`.
pub(crate) async fn wait_listening(port: u16, what: &str) -> anyhow::Result<()> {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{what} did not listen on port {port}")
}

/// Modbus requests answered so far, read from the daemon's own `/metrics`.
async fn requests(addr: std::net::SocketAddr) -> anyhow::Result<f64> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")
        .await?;
    let mut text = String::new();
    s.read_to_string(&mut text).await?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with("sitewatch_modbus_requests_total{") && l.contains("\"ok\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}
