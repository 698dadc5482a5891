//! `[notify]`: sending notices to owners and tenants (issue 5). SMTP for email, an HTTP
//! webhook for an SMS or WeChat gateway, an MQTT topic for the notice itself, the retry
//! policy and the per-contact rate limit. Without the section nothing is sent; notices
//! are still recorded for hand delivery.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// `[notify]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// `[notify.smtp]`: email. Unset: contacts who prefer email are recorded failed.
    pub smtp: Option<SmtpConfig>,
    /// `[notify.webhook]`: the SMS/WeChat gateway. Unset: such contacts are recorded failed.
    pub webhook: Option<WebhookConfig>,
    /// Topic prefix a notice is published under (`{prefix}/{notice id}`) when `[mqtt] url`
    /// is set. Default `sitewatch/{site id}/notices`.
    pub mqtt_topic_prefix: Option<String>,
    /// `[notify.retry]`.
    #[serde(default)]
    pub retry: RetryConfig,
    /// `[notify.rate_limit]`.
    #[serde(default)]
    pub rate_limit: RateLimit,
}

/// `[notify.smtp]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Server host name or address.
    pub host: String,
    /// Port; by default 25 (`none`), 587 (`starttls`) or 465 (`tls`).
    pub port: Option<u16>,
    /// The sender, `物业服务中心 <service@example.cn>` or a bare address.
    pub from: String,
    /// User name, when the server wants one.
    pub username: Option<String>,
    /// Password (or `SITEWATCH_SMTP_PASSWORD`); never logged.
    pub password: Option<String>,
    /// How the connection is protected.
    #[serde(default)]
    pub tls: TlsMode,
}

impl SmtpConfig {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        })
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port())
            .field("from", &self.from)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("tls", &self.tls)
            .finish()
    }
}

/// SMTP connection protection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain text (a relay on the same host or network).
    None,
    /// Plain, then upgraded with STARTTLS; refused if the server cannot.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// `[notify.webhook]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http(s)://…`; each message is POSTed here as JSON with an `Idempotency-Key` header.
    pub url: String,
    /// Sent as `Authorization: Bearer …` (or `SITEWATCH_WEBHOOK_TOKEN`); never logged.
    pub token: Option<String>,
    /// How long one request may take.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `[notify.retry]`: attempts per message and the exponential back-off between them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in all before a message is recorded failed.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Wait after the first failure; doubled after each further one.
    #[serde(default = "default_backoff", with = "humantime_serde")]
    pub backoff: Duration,
    /// Longest wait between attempts.
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
}

/// Product default (rules.md is silent): 6 attempts, 30 s doubling to at most 30 min,
/// so a gateway down for about an hour still gets every message.
fn default_attempts() -> u32 {
    6
}

fn default_backoff() -> Duration {
    Duration::from_secs(30)
}

fn default_max_backoff() -> Duration {
    Duration::from_secs(30 * 60)
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            attempts: default_attempts(),
            backoff: default_backoff(),
            max_backoff: default_max_backoff(),
        }
    }
}

impl RetryConfig {
    /// The wait after `attempts` failed attempts.
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// `[notify.rate_limit]`: at most `messages` per contact within `per`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Messages one contact may get within the window.
    #[serde(default = "default_messages")]
    pub messages: u32,
    /// The window.
    #[serde(default = "default_per", with = "humantime_serde")]
    pub per: Duration,
}

/// Product default (rules.md §14 names none): 3 messages per contact per hour. An urgent
/// notice, its update and its all-clear get through; a storm does not.
fn default_messages() -> u32 {
    3
}

fn default_per() -> Duration {
    Duration::from_secs(3600)
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            messages: default_messages(),
            per: default_per(),
        }
    }
}

impl fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("smtp", &self.smtp)
            .field("webhook", &self.webhook)
            .field("mqtt_topic_prefix", &self.mqtt_topic_prefix)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl NotifyConfig {
    /// What is wrong with the section, each with the key to point at.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(smtp) = &self.smtp {
            if let Err(e) = smtp.from.parse::<lettre::message::Mailbox>() {
                out.push(("from", format!("[notify.smtp] from `{}`: {e}", smtp.from)));
            }
            if smtp.host.trim().is_empty() {
                out.push(("[notify.smtp]", "[notify.smtp] host is empty".into()));
            }
            if smtp.username.is_some() != smtp.password.is_some() {
                out.push((
                    "[notify.smtp]",
                    "[notify.smtp] username and password go together".into(),
                ));
            }
        }
        if let Some(hook) = &self.webhook {
            match reqwest::Url::parse(&hook.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(u) => out.push((
                    "[notify.webhook]",
                    format!(
                        "[notify.webhook] url: scheme `{}`, use http or https",
                        u.scheme()
                    ),
                )),
                Err(e) => out.push((
                    "[notify.webhook]",
                    format!("[notify.webhook] url `{}`: {e}", hook.url),
                )),
            }
        }
        if self.retry.attempts == 0 {
            out.push((
                "attempts",
                "[notify.retry] attempts must be at least 1".into(),
            ));
        }
        if self.retry.backoff.is_zero() {
            out.push((
                "backoff",
                "[notify.retry] backoff must be above zero".into(),
            ));
        }
        if self.rate_limit.messages == 0 || self.rate_limit.per.is_zero() {
            out.push((
                "[notify.rate_limit]",
                "[notify.rate_limit] messages and per must be above zero".into(),
            ));
        }
        out
    }
}
