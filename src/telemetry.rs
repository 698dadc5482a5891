//! Logging: `RUST_LOG` filters, `info` by default, fields first then a short sentence.

use tracing_subscriber::EnvFilter;

/// `info`, without the embedded demo broker's connection chatter (it logs every closed
/// connection as an error).
const DEFAULT_FILTER: &str = "info,rumqttd=off";

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
