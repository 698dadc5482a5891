//! The two ways a message leaves: SMTP (`lettre`) and the gateway webhook (`reqwest`).
//! Each answers `Ok` only on acceptance (SMTP 250 after DATA, HTTP 2xx); an error says
//! whether another attempt could help.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use super::Outgoing;
use crate::config::{NotifyConfig, SmtpConfig, TlsMode, WebhookConfig};

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SendError {
    /// For the record.
    pub(super) reason: String,
    /// No retry can help (a refused address, a 4xx from the gateway).
    pub(super) permanent: bool,
}

impl SendError {
    fn retry(reason: String) -> Self {
        SendError {
            reason,
            permanent: false,
        }
    }
}

/// The configured transports.
#[derive(Debug)]
pub(super) struct Transports {
    smtp: Option<Smtp>,
    webhook: Option<Webhook>,
}

struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Webhook {
    client: reqwest::Client,
    config: WebhookConfig,
}

impl Transports {
    /// Builds what `[notify]` configures.
    pub(super) fn new(config: &NotifyConfig) -> anyhow::Result<Self> {
        let smtp = config.smtp.as_ref().map(smtp).transpose()?;
        let webhook = match &config.webhook {
            Some(w) => Some(Webhook {
                client: reqwest::Client::builder().timeout(w.timeout).build()?,
                config: w.clone(),
            }),
            None => None,
        };
        Ok(Transports { smtp, webhook })
    }

    /// One attempt at `m`.
    pub(super) async fn send(&self, m: &Outgoing) -> Result<(), SendError> {
        use super::plan::Channel;
        let unconfigured = |what: &str| SendError {
            reason: format!("{what} is no longer configured"),
            permanent: true,
        };
        match m.channel {
            Channel::Email => match &self.smtp {
                Some(s) => s.send(m).await,
                None => Err(unconfigured("[notify.smtp]")),
            },
            Channel::Webhook => match &self.webhook {
                Some(w) => w.send(m).await,
                None => Err(unconfigured("[notify.webhook]")),
            },
            Channel::Paper => Err(unconfigured("paper")),
        }
    }
}

fn smtp(c: &SmtpConfig) -> anyhow::Result<Smtp> {
    let builder = match c.tls {
        TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host),
        TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host)?,
        TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&c.host)?,
    };
    let mut builder = builder
        .port(c.port())
        .timeout(Some(std::time::Duration::from_secs(30)));
    if let (Some(user), Some(password)) = (&c.username, &c.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(Smtp {
        transport: builder.build(),
        from: c.from.parse()?,
    })
}

impl Smtp {
    async fn send(&self, m: &Outgoing) -> Result<(), SendError> {
        let permanent = |reason: String| SendError {
            reason,
            permanent: true,
        };
        let to: Mailbox = format!("{} <{}>", m.name, m.address)
            .parse()
            .or_else(|_| m.address.parse())
            .map_err(|e| permanent(format!("email address `{}`: {e}", m.address)))?;
        let mail = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.title.clone())
            // The key as Message-ID: a mail client or archive can spot a resend.
            .message_id(Some(format!("<{}@sitewatch>", m.key)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| permanent(format!("cannot build the mail: {e}")))?;
        match self.transport.send(mail).await {
            Ok(_) => Ok(()),
            Err(e) => Err(SendError {
                reason: format!("smtp: {e}"),
                permanent: e.is_permanent(),
            }),
        }
    }
}

impl Webhook {
    async fn send(&self, m: &Outgoing) -> Result<(), SendError> {
        let body = json!({
            "message_id": m.id,
            "notice_id": m.notice,
            "unit": m.unit,
            "name": m.name,
            "phone": m.address,
            "prefers": m.preferred,
            "title": m.title,
            "text": m.body,
        });
        let mut req = self
            .client
            .post(&self.config.url)
            .header("Idempotency-Key", &m.key)
            .json(&body);
        if let Some(token) = &self.config.token {
            req = req.bearer_auth(token);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| SendError::retry(format!("webhook: {e}")))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        // A 4xx other than timeout and too-many-requests will not change on a retry.
        let permanent = status.is_client_error() && !matches!(status.as_u16(), 408 | 429);
        Err(SendError {
            reason: format!("webhook answered {status}"),
            permanent,
        })
    }
}
