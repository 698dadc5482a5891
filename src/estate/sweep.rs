//! A gateway's sweep: one task per `[[gateways]]` entry, one connection, every meter of
//! the current register read in turn once per cadence. A read is one request for the
//! block that holds the meter's counter, decoded and written straight into the
//! gateway's state array; a meter that does not answer costs its timeout and the sweep
//! goes on to the next. The register is taken at the start of each sweep, so an import
//! is read from the next sweep on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sitewatch_core::clock::Clock;
use tokio_util::sync::CancellationToken;

use super::{Estate, MeterRow, MeterState};
use crate::devices::modbus::{Link, decode_block, read_block};
use crate::metrics::{GatewaySlot, ModbusSlot, Registry};

/// Sweeps gateway `g` of `estate` until `cancel`.
pub async fn run(
    estate: Arc<Estate>,
    g: usize,
    clock: Arc<dyn Clock>,
    metrics: Registry,
    cancel: CancellationToken,
) {
    let Some(cfg) = estate.gateways().get(g).cloned() else {
        return;
    };
    let mut link = Link::new(&cfg.modbus(1), cfg.poll_interval);
    let slot = metrics.estate().gateway(&cfg.id);
    let requests = slot.requests();
    let cancelled = cancel.cancelled();
    tokio::pin!(cancelled);
    let mut next = Instant::now();
    loop {
        let register = estate.register();
        let Some(gw) = register.gateways.get(g) else {
            break;
        };
        let mut counts = Counts::of(&gw.state());
        counts.publish(&slot, gw.meters.len());
        let began = Instant::now();
        for (i, m) in gw.meters.iter().enumerate() {
            let read = tokio::select! {
                biased;
                read = read_counter(&mut link, m, cfg.timeout, &requests) => read,
                () = &mut cancelled => {
                    link.close();
                    return;
                }
            };
            let now = clock.now();
            let mut state = gw.state();
            let Some(s) = state.get_mut(i) else {
                continue;
            };
            let was = Counts::class(s);
            apply(s, m, read, now, cfg.comm_loss_after);
            if counts.moved(was, Counts::class(s)) {
                counts.publish(&slot, gw.meters.len());
            }
        }
        if !gw.meters.is_empty() {
            slot.swept(began.elapsed());
        }
        drop(register);
        next = next_sweep(next, cfg.poll_interval, Instant::now(), &requests, &slot);
        tokio::select! {
            () = &mut cancelled => break,
            () = tokio::time::sleep_until(next.into()) => {}
        }
    }
    link.close();
}

/// One read of meter `m`'s counter, times its multiplier, or why not.
async fn read_counter(
    link: &mut Link,
    m: &MeterRow,
    timeout: Duration,
    requests: &ModbusSlot,
) -> Result<f64, String> {
    let Some(block) = m.profile.blocks.get(m.block) else {
        return Err("the profile has no block for the counter".into());
    };
    let ctx = link.context(m.unit_id, timeout).await?;
    let started = Instant::now();
    let result = read_block(ctx, block, timeout).await;
    let label = result.as_ref().err().map_or("ok", |e| e.label());
    requests.request(started.elapsed(), label);
    match result {
        Ok(raw) => {
            match decode_block(&m.profile.points, block, &raw).find(|(p, _)| *p == m.counter) {
                Some((_, Ok(v))) => Ok(v * m.multiplier),
                Some((_, Err(e))) => Err(format!("{}: {e}", m.profile.points[m.counter].name)),
                None => Err("the counter is not in its block".into()),
            }
        }
        // The gateway answered for a meter that did not (0x0A, 0x0B), or the meter
        // refused the address: the meter is silent or misconfigured, the line is fine.
        Err(e) if e.is_gateway_miss() || e.is_exception() => Err(e.to_string()),
        Err(e) => {
            link.failed(&e, timeout);
            Err(e.to_string())
        }
    }
}

/// What a read leaves in the meter's state (and its building's total).
fn apply(
    s: &mut MeterState,
    m: &MeterRow,
    read: Result<f64, String>,
    now: chrono::DateTime<chrono::Utc>,
    comm_loss_after: u32,
) {
    match read {
        Ok(v) => {
            if s.down {
                tracing::info!(meter = %m.id, "meter communication recovered");
            }
            s.value = Some(v);
            s.read_at = Some(now);
            s.misses = 0;
            s.down = false;
            s.reads += 1;
            if s.watched && s.unfed.is_none() {
                s.unfed = Some(v);
            }
            if let Some(total) = &m.total {
                total.set(v);
            }
        }
        Err(reason) => {
            s.misses = s.misses.saturating_add(1);
            if !s.down && s.misses >= comm_loss_after.max(1) {
                s.down = true;
                tracing::warn!(meter = %m.id, %reason, "meter communication lost");
            }
            s.last_error = Some(reason.into());
        }
    }
}

/// How many meters answered their last read and how many did not.
#[derive(Debug, Default)]
struct Counts {
    reading: usize,
    silent: usize,
}

impl Counts {
    fn of(states: &[MeterState]) -> Counts {
        let mut c = Counts::default();
        for s in states {
            c.moved(None, Counts::class(s));
        }
        c
    }

    /// `Some(true)` answered its last read, `Some(false)` did not, `None` not yet asked.
    fn class(s: &MeterState) -> Option<bool> {
        match (s.misses, s.reads) {
            (0, 0) => None,
            (0, _) => Some(true),
            _ => Some(false),
        }
    }

    /// Moves a meter from one class to another; whether anything changed.
    fn moved(&mut self, from: Option<bool>, to: Option<bool>) -> bool {
        if from == to {
            return false;
        }
        match from {
            Some(true) => self.reading -= 1,
            Some(false) => self.silent -= 1,
            None => {}
        }
        match to {
            Some(true) => self.reading += 1,
            Some(false) => self.silent += 1,
            None => {}
        }
        true
    }

    fn publish(&self, slot: &GatewaySlot, meters: usize) {
        slot.set_counts(meters, self.reading, self.silent);
    }
}

/// When the next sweep starts: a cadence after the last one began, or, when the sweep
/// overran, at the next tick of the cadence after now, the sweeps missed counted as
/// skipped polls of every meter.
fn next_sweep(
    due: Instant,
    cadence: Duration,
    now: Instant,
    requests: &ModbusSlot,
    slot: &GatewaySlot,
) -> Instant {
    let next = due + cadence;
    if next >= now {
        return next;
    }
    let behind = (now - next).as_nanos() / cadence.as_nanos().max(1);
    let missed = u32::try_from(behind).unwrap_or(u32::MAX).saturating_add(1);
    requests.skipped(u64::from(missed) * slot.figures().meters);
    next + cadence.saturating_mul(missed)
}
