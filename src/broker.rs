//! The demo's in-process MQTT broker: rumqttd (console off) on a free loopback port, so
//! `demo` needs no Mosquitto. rumqttd runs its servers on threads of its own and has no
//! shutdown; the broker lives as long as the process, which for `demo` is what we want.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use anyhow::Context;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// How long the broker may take to start listening.
const READY_WITHIN: Duration = Duration::from_secs(5);

/// A running embedded broker.
#[derive(Debug)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
}

impl EmbeddedBroker {
    /// Starts a broker on a free loopback port and waits until it accepts connections.
    pub async fn start() -> anyhow::Result<EmbeddedBroker> {
        let addr = free_loopback_port().context("Failed to find a free port for the broker")?;
        let mut broker = Broker::new(config(addr));
        std::thread::Builder::new()
            .name("mqtt-broker".into())
            .spawn(move || {
                if let Err(e) = broker.start() {
                    tracing::error!(error = %e, "embedded mqtt broker stopped");
                }
            })
            .context("Failed to start the embedded MQTT broker")?;
        wait_listening(addr).await?;
        Ok(EmbeddedBroker { addr })
    }

    /// `mqtt://127.0.0.1:port`, for `[mqtt] url`.
    pub fn url(&self) -> String {
        format!("mqtt://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A loopback port nobody listens on now. rumqttd binds by itself, so there is a short
/// window in which another process could take it; for a demo that is acceptable.
fn free_loopback_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

async fn wait_listening(addr: SocketAddr) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("embedded MQTT broker did not listen on {addr} within {READY_WITHIN:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// One MQTT 3.1.1 listener, no console, no metrics server, no cluster.
fn config(addr: SocketAddr) -> Config {
    let server = ServerSettings {
        name: "demo".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 64 * 1024,
            max_inflight_count: 100,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 100,
            max_outgoing_packet_count: 200,
            max_segment_size: 1024 * 1024,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("demo".to_owned(), server)])),
        ..Config::default()
    }
}
