//! `[mqtt]` (the broker sitewatch subscribes to) and a device's `mqtt = { … }` binding of
//! its profile to a concrete topic.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::binding;
use super::profile::Profile;
use super::{Device, DeviceConfig};

/// `[mqtt]`: the broker. Without `url`, `serve` refuses MQTT devices and `demo` starts
/// its own broker.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host:port` (1883 by default) or `mqtts://host:port` for TLS (8883), checked
    /// against the system's root certificates.
    pub url: Option<String>,
    /// Client id; the session the broker keeps for us is keyed by it. Default
    /// `sitewatch-{site id}`.
    pub client_id: Option<String>,
    /// User name, if the broker wants one.
    pub username: Option<String>,
    /// Password (or `SITEWATCH_MQTT_PASSWORD`); never logged.
    pub password: Option<String>,
    /// Keep-alive interval; the broker drops us after 1.5 of these without a packet.
    #[serde(default = "default_keep_alive", with = "humantime_serde")]
    pub keep_alive: Duration,
    /// For `mqtts://`: the PEM file of the CA that signed the broker's certificate (a site's
    /// own CA); the system's root certificates when unset. Relative to the config file.
    pub ca_file: Option<PathBuf>,
    /// For `mqtts://` with client certificates: our PEM certificate…
    pub client_cert: Option<PathBuf>,
    /// …and its PEM private key.
    pub client_key: Option<PathBuf>,
    /// Whether to read Mosquitto's count of dropped messages (`$SYS`). Off for brokers
    /// that close the connection of a client asking for `$SYS` topics (rumqttd, the
    /// demo's embedded broker), where it would cost a reconnect on every start.
    #[serde(default = "default_broker_stats")]
    pub broker_stats: bool,
    /// How long the broker connection may stay lost before the `mqtt:comm` alarm is raised
    /// and the MQTT devices go comm-lost (a broker restart takes seconds).
    #[serde(default = "default_lost_after", with = "humantime_serde")]
    pub lost_after: Duration,
}

fn default_lost_after() -> Duration {
    Duration::from_secs(60)
}

fn default_keep_alive() -> Duration {
    Duration::from_secs(30)
}

fn default_broker_stats() -> bool {
    true
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            url: None,
            client_id: None,
            username: None,
            password: None,
            keep_alive: default_keep_alive(),
            ca_file: None,
            client_cert: None,
            client_key: None,
            broker_stats: default_broker_stats(),
            lost_after: default_lost_after(),
        }
    }
}

impl fmt::Debug for MqttConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MqttConfig")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("keep_alive", &self.keep_alive)
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("broker_stats", &self.broker_stats)
            .field("lost_after", &self.lost_after)
            .finish()
    }
}

impl MqttConfig {
    /// What is inconsistent in the TLS settings.
    pub(super) fn tls_problem(&self) -> Option<String> {
        let tls = self
            .url
            .as_deref()
            .and_then(|u| BrokerUrl::parse(u).ok())
            .is_some_and(|u| u.tls);
        let files = self.ca_file.is_some() || self.client_cert.is_some();
        if files && !tls {
            return Some("`ca_file` and `client_cert` need an `mqtts://` url".into());
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Some("`client_cert` and `client_key` go together".into());
        }
        None
    }

    /// Makes the certificate paths relative to the config file's directory.
    pub(super) fn resolve_paths(&mut self, base: &Path) {
        for path in [
            &mut self.ca_file,
            &mut self.client_cert,
            &mut self.client_key,
        ]
        .into_iter()
        .flatten()
        {
            *path = base.join(&*path);
        }
    }
}

/// A broker address from `[mqtt] url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Whether to use TLS (`mqtts://`).
    pub tls: bool,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl BrokerUrl {
    /// Parses `mqtt://host[:port]` or `mqtts://host[:port]`. Credentials belong in
    /// `username` and `password`, not in the URL.
    pub fn parse(url: &str) -> Result<BrokerUrl, String> {
        let (tls, rest) = match url.split_once("://") {
            Some(("mqtt" | "tcp", rest)) => (false, rest),
            Some(("mqtts" | "ssl", rest)) => (true, rest),
            _ => {
                return Err(format!(
                    "mqtt url `{url}`: use mqtt://host:port or mqtts://"
                ));
            }
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains(['@', '/', '?']) {
            return Err(format!(
                "mqtt url `{url}`: only host and port (credentials go in username/password)"
            ));
        }
        let default_port = if tls { 8883 } else { 1883 };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse()
                    .map_err(|_| format!("mqtt url `{url}`: bad port"))?,
            ),
            None => (rest, default_port),
        };
        if host.is_empty() {
            return Err(format!("mqtt url `{url}`: no host"));
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(BrokerUrl { tls, host, port })
    }
}

/// A device's `mqtt = { topic = "…" }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceMqttConfig {
    /// The topic (or filter) carrying the device's messages; default the profile's
    /// `topic` with `{device}` replaced by the device id.
    pub topic: Option<String>,
    /// Overrides every point's `stale_after` for this device.
    #[serde(default, with = "humantime_serde")]
    pub stale_after: Option<Duration>,
}

impl Device {
    /// The topic this device's messages arrive on, when it is read over MQTT.
    pub fn mqtt_topic(&self) -> Option<String> {
        let m = self.config.mqtt.as_ref()?;
        m.topic.clone().or_else(|| {
            let pattern = self.profile.topic.as_ref()?;
            Some(pattern.replace("{device}", &self.config.id))
        })
    }
}

/// What is wrong with how a device chose its source, if anything.
pub(super) fn check_source(d: &DeviceConfig, profile: &Profile) -> Option<String> {
    let id = &d.id;
    match (&d.modbus, &d.mqtt) {
        (Some(_), Some(_)) | (None, None) => Some(format!(
            "device `{id}`: give exactly one of `modbus` or `mqtt`"
        )),
        (Some(_), None) if profile.points.is_empty() => Some(format!(
            "device `{id}`: profile `{}` has no Modbus points",
            profile.id
        )),
        (None, Some(m)) => check_mqtt(id, m, profile),
        (Some(_), None) => None,
    }
}

fn check_mqtt(id: &str, m: &DeviceMqttConfig, profile: &Profile) -> Option<String> {
    if profile.mqtt_points.is_empty() {
        return Some(format!(
            "device `{id}`: profile `{}` has no mqtt_points",
            profile.id
        ));
    }
    let Some(topic) = m.topic.as_ref().or(profile.topic.as_ref()) else {
        return Some(format!(
            "device `{id}`: no mqtt topic (set `mqtt.topic` or the profile's `topic`)"
        ));
    };
    if m.stale_after.is_some_and(|s| s.is_zero()) {
        return Some(format!("device `{id}`: stale_after must be more than zero"));
    }
    binding::check_topic(topic)
        .err()
        .map(|reason| format!("device `{id}`: {reason}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_default_their_port_by_scheme() {
        let u = BrokerUrl::parse("mqtt://10.0.5.2").unwrap();
        assert_eq!((u.tls, u.host.as_str(), u.port), (false, "10.0.5.2", 1883));
        let u = BrokerUrl::parse("mqtts://broker.example.com:8884/").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port),
            (true, "broker.example.com", 8884)
        );
        let u = BrokerUrl::parse("mqtt://[::1]:1884").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 1884));
    }

    #[test]
    fn broker_urls_refuse_other_schemes_and_credentials() {
        for bad in [
            "http://h:1883",
            "h:1883",
            "mqtt://u:p@h",
            "mqtt://h:x",
            "mqtt://",
        ] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_never_reach_debug_output() {
        let c = MqttConfig {
            password: Some("hunter2".into()),
            ..MqttConfig::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
