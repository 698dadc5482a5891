//! The two ways a message leaves: SMTP (`lettre`) and the gateway webhook (`reqwest`).
//! Each answers `Ok` only on acceptance (SMTP 250 after DATA, HTTP 2xx); an error says
//! whether another attempt could help.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use crate::config::{NotifyConfig, SmtpConfig, TlsMode, WebhookConfig};
use crate::register::messages::Outgoing;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SendError {
    /// For the record.
    pub(crate) reason: String,
    /// No retry can help (a refused address, a 4xx from the gateway).
    pub(crate) permanent: bool,
}

impl SendError {
    pub(crate) fn retry(reason: String) -> Self {
        SendError {
            reason,
            permanent: false,
        }
    }
}

/// The configured transports.
#[derive(Debug)]
pub(crate) struct Transports {
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
    pub(crate) fn new(config: &NotifyConfig) -> anyhow::Result<Self> {
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
        use crate::register::plan::Channel;
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
        self.mail(&m.name, &m.address, &m.title, &m.body, &m.key)
            .await
    }

    async fn mail(
        &self,
        name: &str,
        address: &str,
        title: &str,
        body: &str,
        key: &str,
    ) -> Result<(), SendError> {
        let permanent = |reason: String| SendError {
            reason,
            permanent: true,
        };
        let to: Mailbox = format!("{name} <{address}>")
            .parse()
            .or_else(|_| address.parse())
            .map_err(|e| permanent(format!("email address `{address}`: {e}")))?;
        let mail = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(title.to_owned())
            // The key as Message-ID: a mail client or archive can spot a resend.
            .message_id(Some(format!("<{key}@sitewatch>")))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
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
        post(
            &self.client,
            &self.config.url,
            self.config.token.as_deref(),
            &body,
            &m.key,
        )
        .await
    }
}

/// POSTs `body` as JSON with an `Idempotency-Key`; 2xx is acceptance.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &serde_json::Value,
    key: &str,
) -> Result<(), SendError> {
    let mut req = client.post(url).header("Idempotency-Key", key).json(body);
    if let Some(token) = token {
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

impl Transports {
    /// A mail (a page): `Err` when `[notify.smtp]` is not set.
    pub(crate) async fn mail(
        &self,
        to: &str,
        title: &str,
        body: &str,
        key: &str,
    ) -> Result<(), SendError> {
        match &self.smtp {
            Some(s) => s.mail(to, to, title, body, key).await,
            None => Err(SendError {
                reason: "[notify.smtp] is not configured".into(),
                permanent: true,
            }),
        }
    }

    /// A JSON body to the SMS/voice gateway (a page): `Err` when `[notify.webhook]` is not set.
    pub(crate) async fn gateway(
        &self,
        body: &serde_json::Value,
        key: &str,
    ) -> Result<(), SendError> {
        match &self.webhook {
            Some(w) => {
                post(
                    &w.client,
                    &w.config.url,
                    w.config.token.as_deref(),
                    body,
                    key,
                )
                .await
            }
            None => Err(SendError {
                reason: "[notify.webhook] is not configured".into(),
                permanent: true,
            }),
        }
    }
}
