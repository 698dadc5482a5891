//! The link of one bus: a Modbus TCP connection, a serial line carrying RTU, or a TCP
//! connection to a serial gateway carrying RTU. Opening backs off exponentially; after a
//! timeout a TCP context is dropped and reconnected (a reused one answers later requests
//! with earlier replies, tokio-modbus #324), and an RTU line, whose frames carry no
//! transaction id, is drained of whatever it still holds before the next request.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, lookup_host};
use tokio_modbus::Slave;
use tokio_modbus::client::{Context, rtu};
use tokio_modbus::slave::SlaveContext;

use super::BlockError;
use crate::config::{ModbusConfig, Parity, SerialConfig, Transport};

/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A byte stream a Modbus codec can run on.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// An RTU line the bus keeps a handle to while a context uses it, so the bus can drain it.
/// The lock is only held inside one `poll_*` call, never across an await.
#[derive(Clone)]
struct SharedLine(Arc<Mutex<Box<dyn Stream>>>);

impl SharedLine {
    fn with<R>(&self, f: impl FnOnce(Pin<&mut dyn Stream>) -> R) -> R {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(Pin::new(&mut **guard))
    }
}

impl AsyncRead for SharedLine {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_read(cx, buf))
    }
}

impl AsyncWrite for SharedLine {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.with(|s| s.poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_shutdown(cx))
    }
}

enum State {
    Down,
    Tcp(Context),
    Rtu {
        line: SharedLine,
        ctx: Option<Context>,
        /// Set after a timeout: drain until quiet this long before the next request.
        dirty: Option<Duration>,
    },
}

/// The connection of one bus, opened on demand.
pub struct Link {
    transport: Transport,
    address: String,
    serial: Option<SerialConfig>,
    state: State,
    base: Duration,
    failures: u32,
    next_open: Option<Instant>,
    drained_bytes: u64,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("transport", &self.transport)
            .field("address", &self.address)
            .field("up", &!matches!(self.state, State::Down))
            .field("failures", &self.failures)
            .finish()
    }
}

impl Link {
    /// A closed link to where `cfg` points; reconnects back off from `base` up to 30 s.
    pub fn new(cfg: &ModbusConfig, base: Duration) -> Link {
        Link {
            transport: cfg.transport,
            address: cfg.address.clone(),
            serial: cfg.serial.clone(),
            state: State::Down,
            base,
            failures: 0,
            next_open: None,
            drained_bytes: 0,
        }
    }

    /// Bytes thrown away after timeouts (late replies), for tests and the log.
    pub fn drained_bytes(&self) -> u64 {
        self.drained_bytes
    }

    /// A context addressed to `unit`, opening the link (within `timeout`) and draining a
    /// dirty RTU line first.
    pub async fn context(&mut self, unit: u8, timeout: Duration) -> Result<&mut Context, String> {
        if matches!(self.state, State::Down) {
            self.open(timeout).await?;
        }
        let ctx = match &mut self.state {
            State::Down => return Err("not connected".into()),
            State::Tcp(ctx) => ctx,
            State::Rtu { line, ctx, dirty } => {
                if let Some(quiet) = dirty.take() {
                    self.drained_bytes += drain(line, quiet).await;
                }
                ctx.get_or_insert_with(|| rtu::attach(line.clone()))
            }
        };
        ctx.set_slave(Slave(unit));
        Ok(ctx)
    }

    /// After a failed request: a timeout or a garbled reply leaves an RTU line dirty and a
    /// TCP context unusable; a broken link is closed and reopened.
    pub fn failed(&mut self, e: &BlockError, timeout: Duration) {
        match (&mut self.state, e) {
            (_, BlockError::Exception { .. }) => {}
            (State::Rtu { ctx, dirty, .. }, BlockError::Timeout(_) | BlockError::Protocol(_)) => {
                *ctx = None;
                *dirty = Some(timeout);
            }
            _ => self.state = State::Down,
        }
    }

    /// Closes the link.
    pub fn close(&mut self) {
        self.state = State::Down;
    }

    async fn open(&mut self, timeout: Duration) -> Result<(), String> {
        if self.next_open.is_some_and(|t| Instant::now() < t) {
            return Err("not connected; waiting to retry".into());
        }
        let what = self.describe();
        let opening = connect(self.transport, self.address.clone(), self.serial.clone());
        match tokio::time::timeout(timeout, opening).await {
            Ok(Ok(state)) => {
                self.state = state;
                self.failures = 0;
                self.next_open = None;
                Ok(())
            }
            Ok(Err(e)) => Err(self.backoff(format!("connect to {what}: {e}"))),
            Err(_) => Err(self.backoff(format!("connect to {what}: timed out"))),
        }
    }

    fn describe(&self) -> String {
        match &self.serial {
            Some(s) if self.transport == Transport::Rtu => s.path.clone(),
            _ => self.address.clone(),
        }
    }

    /// Exponential back-off from the base interval up to [`MAX_BACKOFF`].
    fn backoff(&mut self, reason: String) -> String {
        let wait = self
            .base
            .saturating_mul(1 << self.failures.min(16))
            .min(MAX_BACKOFF);
        self.failures = self.failures.saturating_add(1);
        self.next_open = Some(Instant::now() + wait);
        reason
    }
}

/// Opens the link; owns its arguments so the future holds nothing of the `Link`.
async fn connect(
    transport: Transport,
    address: String,
    serial: Option<SerialConfig>,
) -> std::io::Result<State> {
    match (transport, serial) {
        (Transport::Rtu, Some(s)) => Ok(rtu_state(Box::new(open_serial(&s)?))),
        (Transport::RtuOverTcp, _) => Ok(rtu_state(Box::new(connect_tcp(&address).await?))),
        _ => Ok(State::Tcp(super::tcp::attach(connect_tcp(&address).await?))),
    }
}

fn rtu_state(stream: Box<dyn Stream>) -> State {
    State::Rtu {
        line: SharedLine(Arc::new(Mutex::new(stream))),
        ctx: None,
        dirty: None,
    }
}

async fn connect_tcp(address: &str) -> std::io::Result<TcpStream> {
    let addr = lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{address} resolves to nothing")))?;
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn open_serial(s: &SerialConfig) -> std::io::Result<tokio_serial::SerialStream> {
    let parity = match s.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let data_bits = match s.data_bits {
        5 => tokio_serial::DataBits::Five,
        6 => tokio_serial::DataBits::Six,
        7 => tokio_serial::DataBits::Seven,
        _ => tokio_serial::DataBits::Eight,
    };
    let stop_bits = match s.stop_bits {
        2 => tokio_serial::StopBits::Two,
        _ => tokio_serial::StopBits::One,
    };
    let builder = tokio_serial::new(&s.path, s.baud_rate)
        .parity(parity)
        .data_bits(data_bits)
        .stop_bits(stop_bits);
    tokio_serial::SerialStream::open(&builder).map_err(std::io::Error::other)
}

/// Reads and throws away whatever arrives until the line has been quiet for `quiet`
/// (at most twice that in all, so a chattering line cannot stall the bus). Returns the
/// number of bytes thrown away.
async fn drain(line: &mut SharedLine, quiet: Duration) -> u64 {
    let deadline = Instant::now() + quiet.saturating_mul(2);
    let mut buf = [0u8; 256];
    let mut dropped = 0u64;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(quiet.min(left), line.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => dropped += n as u64,
            _ => break,
        }
    }
    if dropped > 0 {
        tracing::debug!(bytes = dropped, "drained a late reply from the line");
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn draining_swallows_a_late_reply_and_stops_when_quiet() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut line = SharedLine(Arc::new(Mutex::new(Box::new(a))));
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            b.write_all(&[1, 3, 2, 0, 7, 0, 0]).await.expect("write");
            b
        });
        let dropped = drain(&mut line, Duration::from_millis(100)).await;
        assert_eq!(dropped, 7);
        drop(late.await.expect("join"));
    }

    #[test]
    fn reconnects_back_off_exponentially_up_to_thirty_seconds() {
        let cfg: ModbusConfig = toml::from_str("address = \"127.0.0.1:1\"").expect("cfg");
        let mut link = Link::new(&cfg, Duration::from_millis(100));
        let mut waits = Vec::new();
        for _ in 0..12 {
            let before = Instant::now();
            link.backoff(String::new());
            let wait = link.next_open.map(|t| t - before).unwrap_or_default();
            waits.push(wait.as_millis() / 100);
        }
        assert_eq!(&waits[..5], &[1, 2, 4, 8, 16]);
        assert_eq!(waits[11], 300);
    }
}
