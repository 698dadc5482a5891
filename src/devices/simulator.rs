//! The built-in simulated plant: a Modbus TCP server on loopback (or an RTU server on a
//! serial line) whose registers follow the same device profiles the pollers read, with
//! values that move over time (meter counters rise, the pump starts and stops, a fire
//! zone goes into alarm now and then). A unit can be made to answer late, to test what
//! the poller does with replies that arrive after its timeout.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio_modbus::prelude::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_modbus::server::tcp::{Server, accept_tcp_connection};
use tokio_util::sync::CancellationToken;

use super::decode::encode_words;
use super::plant::{Model, model_for};
use crate::config::profile::{Profile, Table};

/// One device the simulator plays.
#[derive(Debug, Clone)]
pub struct SimDevice {
    /// Modbus unit id it answers to.
    pub unit_id: u8,
    /// The register map it fills.
    pub profile: Arc<Profile>,
}

#[derive(Debug)]
struct Unit {
    profile: Arc<Profile>,
    model: Box<dyn Model>,
    overrides: HashMap<String, f64>,
    words: HashMap<(Table, u16), u16>,
}

#[derive(Debug, Default)]
struct Plant {
    units: HashMap<u8, Unit>,
    delays: HashMap<u8, Duration>,
}

/// A running simulator; dropping it (or [`Simulator::stop`]) closes the port and every
/// connection, as a device losing power would.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    plant: Arc<Mutex<Plant>>,
    cancel: CancellationToken,
}

impl Simulator {
    /// Starts serving `devices` on `listen` (port 0 picks a free one).
    pub async fn start(listen: SocketAddr, devices: &[SimDevice]) -> std::io::Result<Simulator> {
        Self::start_tcp(listen, devices, false).await
    }

    /// Starts serving `devices` as Modbus RTU frames over TCP, as a serial gateway in
    /// transparent mode does.
    pub async fn start_rtu_over_tcp(
        listen: SocketAddr,
        devices: &[SimDevice],
    ) -> std::io::Result<Simulator> {
        Self::start_tcp(listen, devices, true).await
    }

    async fn start_tcp(
        listen: SocketAddr,
        devices: &[SimDevice],
        rtu: bool,
    ) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let plant = Arc::new(Mutex::new(Plant::new(devices)));
        let cancel = CancellationToken::new();
        if rtu {
            tokio::spawn(serve_rtu_over_tcp(listener, plant.clone(), cancel.clone()));
        } else {
            tokio::spawn(serve(listener, plant.clone(), cancel.clone()));
        }
        tokio::spawn(animate(plant.clone(), cancel.clone()));
        Ok(Simulator {
            addr,
            plant,
            cancel,
        })
    }

    /// Starts serving `devices` as Modbus RTU on the serial port (or pseudo-terminal) at
    /// `path`. Units it does not play stay silent, as on an RS-485 line.
    pub fn start_rtu(path: &std::path::Path, devices: &[SimDevice]) -> std::io::Result<Simulator> {
        let builder = tokio_serial::new(path.to_string_lossy(), 9600);
        let serial = tokio_serial::SerialStream::open(&builder).map_err(std::io::Error::other)?;
        let plant = Arc::new(Mutex::new(Plant::new(devices)));
        let cancel = CancellationToken::new();
        let service = SimService {
            plant: plant.clone(),
            silent_unknown: true,
        };
        let server = tokio_modbus::server::rtu::Server::new(serial);
        let until = cancel.clone().cancelled_owned();
        tokio::spawn(async move {
            if let Err(e) = server.serve_until(service, until).await {
                tracing::warn!(error = %e, "RTU simulator stopped");
            }
        });
        tokio::spawn(animate(plant.clone(), cancel.clone()));
        Ok(Simulator {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            plant,
            cancel,
        })
    }

    /// Makes the device at `unit_id` answer `delay` late (zero: on time again). The answer
    /// carries the values as they were when the request came in.
    pub fn set_delay(&self, unit_id: u8, delay: Duration) {
        lock(&self.plant).delays.insert(unit_id, delay);
    }

    /// Where it listens (`0.0.0.0:0` for an RTU simulator).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Pins a point of the device at `unit_id` to `value` (the model no longer moves it).
    pub fn set(&self, unit_id: u8, point: &str, value: f64) {
        let mut plant = lock(&self.plant);
        if let Some(unit) = plant.units.get_mut(&unit_id) {
            unit.overrides.insert(point.to_owned(), value);
            unit.write(point, value);
        }
    }

    /// Stops answering: the listener and every open connection close.
    pub fn stop(&self) {
        self.cancel.cancel();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn lock(plant: &Mutex<Plant>) -> MutexGuard<'_, Plant> {
    plant.lock().unwrap_or_else(|e| e.into_inner())
}

async fn serve(listener: TcpListener, plant: Arc<Mutex<Plant>>, cancel: CancellationToken) {
    let server = Server::new(listener);
    let on_connected = |stream, addr| {
        let service = SimService {
            plant: plant.clone(),
            silent_unknown: false,
        };
        async move { accept_tcp_connection(stream, addr, |_| Ok(Some(service.clone()))) }
    };
    let on_error = |e| tracing::debug!(error = %e, "simulator connection failed");
    if let Err(e) = server
        .serve_until(&on_connected, on_error, cancel.cancelled_owned())
        .await
    {
        tracing::warn!(error = %e, "simulator stopped");
    }
}

async fn serve_rtu_over_tcp(
    listener: TcpListener,
    plant: Arc<Mutex<Plant>>,
    cancel: CancellationToken,
) {
    use tokio_modbus::server::rtu_over_tcp;
    let server = rtu_over_tcp::Server::new(listener);
    let on_connected = |stream, addr| {
        let service = SimService {
            plant: plant.clone(),
            silent_unknown: true,
        };
        async move { rtu_over_tcp::accept_tcp_connection(stream, addr, |_| Ok(Some(service.clone()))) }
    };
    let on_error = |e| tracing::debug!(error = %e, "simulator connection failed");
    if let Err(e) = server
        .serve_until(&on_connected, on_error, cancel.cancelled_owned())
        .await
    {
        tracing::warn!(error = %e, "simulator stopped");
    }
}

async fn animate(plant: Arc<Mutex<Plant>>, cancel: CancellationToken) {
    let start = Instant::now();
    let mut last = start;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        let (t, dt) = ((now - start).as_secs_f64(), (now - last).as_secs_f64());
        last = now;
        for unit in lock(&plant).units.values_mut() {
            unit.step(t, dt);
        }
    }
}

impl Plant {
    fn new(devices: &[SimDevice]) -> Plant {
        let mut plant = Plant::default();
        for (i, d) in devices.iter().enumerate() {
            let mut unit = Unit {
                profile: d.profile.clone(),
                model: model_for(&d.profile.id, i as u64),
                overrides: HashMap::new(),
                words: HashMap::new(),
            };
            // A real device answers every register of its map, modelled or not.
            for p in &d.profile.points {
                unit.write(&p.name, 0.0);
            }
            unit.step(0.0, 0.0);
            plant.units.insert(d.unit_id, unit);
        }
        plant
    }

    fn answer(&self, req: SlaveRequest<'_>) -> Result<Response, ExceptionCode> {
        let unit = self
            .units
            .get(&req.slave)
            .ok_or(ExceptionCode::GatewayTargetDevice)?;
        match req.request {
            Request::ReadHoldingRegisters(a, n) => unit
                .read(Table::Holding, a, n)
                .map(Response::ReadHoldingRegisters),
            Request::ReadInputRegisters(a, n) => unit
                .read(Table::Input, a, n)
                .map(Response::ReadInputRegisters),
            Request::ReadCoils(a, n) => unit.bits(Table::Coil, a, n).map(Response::ReadCoils),
            Request::ReadDiscreteInputs(a, n) => unit
                .bits(Table::Discrete, a, n)
                .map(Response::ReadDiscreteInputs),
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}

impl Unit {
    fn step(&mut self, t: f64, dt: f64) {
        for (name, value) in self.model.step(t, dt) {
            if !self.overrides.contains_key(&name) {
                self.write(&name, value);
            }
        }
    }

    fn write(&mut self, point: &str, value: f64) {
        let Some(p) = self.profile.points.iter().find(|p| p.name == point) else {
            return;
        };
        let current = self.words.get(&(p.table, p.address)).copied().unwrap_or(0);
        for (i, w) in encode_words(p, value, current).into_iter().enumerate() {
            self.words.insert((p.table, p.address + i as u16), w);
        }
    }

    /// Reads registers; any address the profile does not map is an exception, as on a
    /// real device.
    fn read(&self, table: Table, addr: u16, n: u16) -> Result<Vec<u16>, ExceptionCode> {
        (0..n)
            .map(|i| {
                let key = (
                    table,
                    addr.checked_add(i)
                        .ok_or(ExceptionCode::IllegalDataAddress)?,
                );
                self.words
                    .get(&key)
                    .copied()
                    .ok_or(ExceptionCode::IllegalDataAddress)
            })
            .collect()
    }

    fn bits(&self, table: Table, addr: u16, n: u16) -> Result<Vec<bool>, ExceptionCode> {
        Ok(self
            .read(table, addr, n)?
            .into_iter()
            .map(|w| w != 0)
            .collect())
    }
}

#[derive(Debug, Clone)]
struct SimService {
    plant: Arc<Mutex<Plant>>,
    /// RTU: a unit nobody plays does not answer. TCP: the gateway says so.
    silent_unknown: bool,
}

type Answer = Result<Option<Response>, ExceptionCode>;

impl tokio_modbus::server::Service for SimService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Answer> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let (answer, delay) = {
            let plant = lock(&self.plant);
            let delay = plant.delays.get(&req.slave).copied().unwrap_or_default();
            let known = plant.units.contains_key(&req.slave);
            let answer = if known || !self.silent_unknown {
                plant.answer(req).map(Some)
            } else {
                Ok(None)
            };
            (answer, delay)
        };
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            answer
        })
    }
}
