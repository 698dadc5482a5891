//! The Modbus poller: one task per device reads its registers at the configured interval
//! and reports values or failures to the points hub. A timeout drops the connection so a
//! late reply can never be taken as the answer to a later request (tokio-modbus #324).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sitewatch_core::points::{PointId, SourceEvent};
use tokio::net::lookup_host;
use tokio::sync::mpsc;
use tokio_modbus::client::{Client, Context, Reader, tcp};
use tokio_modbus::{ExceptionCode, Slave};
use tokio_util::sync::CancellationToken;

use super::decode::{decode_bit, decode_words};
use super::profile::{PointDef, Table};
use crate::config::{Device, ModbusConfig};
use crate::metrics::Metrics;

/// Largest register read Modbus allows in one request.
const MAX_WORDS: u16 = 125;
/// Largest bit read Modbus allows in one request.
const MAX_BITS: u16 = 2000;
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One read request covering contiguous points of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The table read.
    pub table: Table,
    /// First address.
    pub start: u16,
    /// Registers or bits read.
    pub count: u16,
    /// Indexes into the profile's points.
    pub points: Vec<usize>,
}

/// Coalesces a profile's points into as few contiguous reads as the Modbus limits allow.
pub fn plan(points: &[PointDef]) -> Vec<Block> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].table, points[i].address));
    let mut blocks: Vec<Block> = Vec::new();
    for i in order {
        let p = &points[i];
        let width = if p.table.is_bits() {
            1
        } else {
            p.data_type.words()
        };
        let limit = if p.table.is_bits() {
            MAX_BITS
        } else {
            MAX_WORDS
        };
        if let Some(b) = blocks.last_mut().filter(|b| b.table == p.table) {
            let end = b.start + b.count;
            let new_end = (p.address + width).max(end);
            if p.address <= end && new_end - b.start <= limit {
                b.count = new_end - b.start;
                b.points.push(i);
                continue;
            }
        }
        blocks.push(Block {
            table: p.table,
            start: p.address,
            count: width,
            points: vec![i],
        });
    }
    blocks
}

/// Polls one device until cancelled.
pub struct Poller {
    device: Device,
    cfg: ModbusConfig,
    blocks: Vec<Block>,
    tx: mpsc::Sender<SourceEvent>,
    metrics: Metrics,
    ctx: Option<Context>,
    failures: u32,
    next_connect: Option<Instant>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("device", &self.device.config.id)
            .field("connected", &self.ctx.is_some())
            .field("failures", &self.failures)
            .finish()
    }
}

enum Outcome {
    Values(Vec<(PointId, f64)>, Vec<PointId>, Option<String>),
    Failed(String),
}

impl Poller {
    /// A poller for `device` reporting to `tx`; `None` when it is not a Modbus device.
    pub fn new(device: Device, tx: mpsc::Sender<SourceEvent>, metrics: Metrics) -> Option<Self> {
        let cfg = device.config.modbus.clone()?;
        let blocks = plan(&device.profile.points);
        Some(Self {
            device,
            cfg,
            blocks,
            tx,
            metrics,
            ctx: None,
            failures: 0,
            next_connect: None,
        })
    }

    /// Polls at the device's interval until `cancel` fires. A slow poll skips ticks rather
    /// than queueing them.
    pub async fn run(mut self, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(self.cfg.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            let events = self.poll().await;
            for ev in events {
                if self.tx.send(ev).await.is_err() {
                    return;
                }
            }
        }
        if let Some(mut ctx) = self.ctx.take() {
            let _ = ctx.disconnect().await;
        }
    }

    async fn poll(&mut self) -> Vec<SourceEvent> {
        let device = self.device.config.id.clone();
        match self.poll_once().await {
            Outcome::Values(values, bad, reason) => {
                self.failures = 0;
                let mut out = vec![SourceEvent::Polled {
                    device: device.clone(),
                    values,
                }];
                if !bad.is_empty() {
                    let reason = reason.unwrap_or_default();
                    out.push(SourceEvent::PointsBad {
                        device,
                        points: bad,
                        reason,
                    });
                }
                out
            }
            Outcome::Failed(reason) => {
                self.ctx = None;
                self.failures = self.failures.saturating_add(1);
                vec![SourceEvent::PollFailed { device, reason }]
            }
        }
    }

    async fn poll_once(&mut self) -> Outcome {
        if let Err(reason) = self.connect().await {
            return Outcome::Failed(reason);
        }
        let mut values = Vec::new();
        let mut bad = Vec::new();
        let mut reason = None;
        for block in self.blocks.clone() {
            match self.read(&block).await {
                Ok(Ok(raw)) => self.decode(&block, &raw, &mut values, &mut bad, &mut reason),
                Ok(Err(code)) => {
                    reason = Some(format!("device exception {code}"));
                    bad.extend(block.points.iter().map(|&i| self.point_id(i)));
                }
                Err(e) => return Outcome::Failed(e),
            }
        }
        Outcome::Values(values, bad, reason)
    }

    async fn connect(&mut self) -> Result<(), String> {
        if self.ctx.is_some() {
            return Ok(());
        }
        if self.next_connect.is_some_and(|t| Instant::now() < t) {
            return Err("not connected; waiting to retry".into());
        }
        let cfg = &self.cfg;
        let result = tokio::time::timeout(cfg.timeout, open(&cfg.address, cfg.unit_id)).await;
        match result {
            Ok(Ok(ctx)) => {
                self.ctx = Some(ctx);
                self.next_connect = None;
                Ok(())
            }
            Ok(Err(e)) => Err(self.backoff(format!("connect to {}: {e}", cfg.address))),
            Err(_) => Err(self.backoff(format!("connect to {}: timed out", cfg.address))),
        }
    }

    /// Exponential back-off from the poll interval up to [`MAX_BACKOFF`].
    fn backoff(&mut self, reason: String) -> String {
        let base = self.cfg.poll_interval;
        let wait = base
            .saturating_mul(1 << self.failures.min(5))
            .min(MAX_BACKOFF);
        self.next_connect = Some(Instant::now() + wait);
        reason
    }

    /// Reads one block: the outer error is a transport failure (the device is not
    /// answering), the inner one a Modbus exception (it answered, but not with data).
    async fn read(&mut self, b: &Block) -> Result<Result<Raw, ExceptionCode>, String> {
        let ctx = self.ctx.as_mut().ok_or("not connected")?;
        let timeout = self.cfg.timeout;
        let started = Instant::now();
        let fut = async {
            match b.table {
                Table::Holding => ctx
                    .read_holding_registers(b.start, b.count)
                    .await
                    .map(|r| r.map(Raw::Words)),
                Table::Input => ctx
                    .read_input_registers(b.start, b.count)
                    .await
                    .map(|r| r.map(Raw::Words)),
                Table::Coil => ctx
                    .read_coils(b.start, b.count)
                    .await
                    .map(|r| r.map(Raw::Bits)),
                Table::Discrete => ctx
                    .read_discrete_inputs(b.start, b.count)
                    .await
                    .map(|r| r.map(Raw::Bits)),
            }
        };
        let result = tokio::time::timeout(timeout, fut).await;
        let device = &self.device.config.id;
        self.metrics
            .modbus_request(device, started.elapsed(), result_label(&result));
        match result {
            Err(_) => Err(format!("no answer within {timeout:?}")),
            Ok(Err(e)) => Err(format!("transport error: {e}")),
            Ok(Ok(r)) => Ok(r),
        }
    }

    fn decode(
        &self,
        b: &Block,
        raw: &Raw,
        values: &mut Vec<(PointId, f64)>,
        bad: &mut Vec<PointId>,
        reason: &mut Option<String>,
    ) {
        for &i in &b.points {
            let p = &self.device.profile.points[i];
            let offset = usize::from(p.address - b.start);
            let decoded = match raw {
                Raw::Words(w) => decode_words(p, w.get(offset..).unwrap_or(&[])),
                Raw::Bits(bits) => Ok(decode_bit(p, bits.get(offset).copied().unwrap_or(false))),
            };
            match decoded {
                Ok(v) => values.push((self.point_id(i), v)),
                Err(e) => {
                    *reason = Some(format!("{}: {e}", p.name));
                    bad.push(self.point_id(i));
                }
            }
        }
    }

    fn point_id(&self, i: usize) -> PointId {
        format!(
            "{}.{}",
            self.device.config.id, self.device.profile.points[i].name
        )
    }
}

enum Raw {
    Words(Vec<u16>),
    Bits(Vec<bool>),
}

fn result_label<T, E>(
    r: &Result<Result<Result<T, ExceptionCode>, E>, tokio::time::error::Elapsed>,
) -> &'static str {
    match r {
        Err(_) => "timeout",
        Ok(Err(_)) => "error",
        Ok(Ok(Err(_))) => "exception",
        Ok(Ok(Ok(_))) => "ok",
    }
}

async fn open(address: &str, unit: u8) -> std::io::Result<Context> {
    let addr: SocketAddr = lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{address} resolves to nothing")))?;
    tcp::connect_slave(addr, Slave(unit)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::profile::Profile;
    use std::path::Path;

    fn points(text: &str) -> Vec<PointDef> {
        let head = "[profile]\nid = \"t\"\nname = \"t\"\nmanual = \"t\"\n";
        Profile::parse(Path::new("t.toml"), &format!("{head}{text}"))
            .expect("valid")
            .points
    }

    fn p(table: &str, address: u16, ty: &str) -> String {
        let n = format!("p{address}_{table}");
        let bit = if ty == "bit" && (table == "holding" || table == "input") {
            "bit = 0\n"
        } else {
            ""
        };
        format!(
            "[[points]]\nname = \"{n}\"\ntable = \"{table}\"\naddress = {address}\ntype = \"{ty}\"\n{bit}"
        )
    }

    #[test]
    fn contiguous_registers_share_one_request() {
        let pts = points(
            &[
                p("input", 0, "f32"),
                p("input", 2, "f32"),
                p("input", 4, "u16"),
            ]
            .concat(),
        );
        let blocks = plan(&pts);
        assert_eq!(blocks.len(), 1);
        assert_eq!((blocks[0].start, blocks[0].count), (0, 5));
    }

    #[test]
    fn gaps_and_tables_split_requests() {
        let pts = points(
            &[
                p("input", 0, "f32"),
                p("input", 10, "u16"),
                p("holding", 2, "u16"),
                p("coil", 0, "bit"),
            ]
            .concat(),
        );
        let blocks = plan(&pts);
        let shape: Vec<(Table, u16, u16)> =
            blocks.iter().map(|b| (b.table, b.start, b.count)).collect();
        assert_eq!(
            shape,
            vec![
                (Table::Holding, 2, 1),
                (Table::Input, 0, 2),
                (Table::Input, 10, 1),
                (Table::Coil, 0, 1)
            ]
        );
    }

    #[test]
    fn a_block_never_exceeds_125_registers() {
        let text: String = (0..100).map(|i| p("holding", i * 2, "u32")).collect();
        let blocks = plan(&points(&text));
        assert_eq!(blocks.len(), 2);
        assert!(blocks.iter().all(|b| b.count <= MAX_WORDS));
        assert_eq!(blocks.iter().map(|b| b.points.len()).sum::<usize>(), 100);
    }

    #[test]
    fn bits_of_one_register_share_it() {
        let text = "[[points]]\nname = \"a\"\ntable = \"holding\"\naddress = 5\ntype = \"bit\"\nbit = 0\n[[points]]\nname = \"b\"\ntable = \"holding\"\naddress = 5\ntype = \"bit\"\nbit = 3\n";
        let blocks = plan(&points(text));
        assert_eq!(blocks.len(), 1);
        assert_eq!(
            (blocks[0].start, blocks[0].count, blocks[0].points.len()),
            (5, 1, 2)
        );
    }
}
