//! One attempt at one channel: the SMS/voice gateway and mail through `[notify]`'s
//! transports, WeChat Work and DingTalk robots by their own webhooks, an MQTT topic
//! through the outbox (delivered once it is queued there; the publisher sends at QoS 1).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Contact;
use crate::notify::transport::{SendError, Transports};
use crate::store::{OutMessage, Store};

/// What one page needs to go out.
#[derive(Debug)]
pub(super) struct Message<'a> {
    /// Page number.
    pub(super) page: i64,
    /// The person's display name.
    pub(super) name: &'a str,
    /// The whole text, link included.
    pub(super) text: &'a str,
    /// The link alone (for an app on MQTT).
    pub(super) link: &'a str,
}

/// Every way out.
#[derive(Debug)]
pub(super) struct Channels {
    transports: Option<Transports>,
    client: reqwest::Client,
    store: Store,
    mqtt: bool,
}

impl Channels {
    /// From `[notify]` (gateway and SMTP) and whether `[mqtt] url` is set.
    pub(super) fn new(config: &crate::config::Config, store: Store) -> anyhow::Result<Self> {
        let transports = config.notify.as_ref().map(Transports::new).transpose()?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Channels {
            transports,
            client,
            store,
            mqtt: config.mqtt.url.is_some(),
        })
    }

    /// One attempt.
    pub(super) async fn send(
        &self,
        to: &Contact,
        m: &Message<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        let key = format!("page-{}", m.page);
        match to {
            Contact::Sms(phone) | Contact::Voice(phone) => {
                let body = json!({
                    "kind": "page",
                    "page_id": m.page,
                    "name": m.name,
                    "phone": phone,
                    "prefers": to.channel(),
                    "title": super::text::subject(m.text),
                    "text": m.text,
                });
                self.transports()?.gateway(&body, &key).await
            }
            Contact::WeChat(url) | Contact::DingTalk(url) => {
                let body = json!({"msgtype": "text", "text": {"content": m.text}});
                self.robot(url, &body, &key).await
            }
            Contact::Email(address) => {
                let subject = super::text::subject(m.text);
                self.transports()?
                    .mail(address, &subject, m.text, &key)
                    .await
            }
            Contact::Mqtt(topic) => self.publish(topic, m, now).await,
        }
    }

    fn transports(&self) -> Result<&Transports, SendError> {
        self.transports.as_ref().ok_or_else(|| SendError {
            reason: "[notify] is not configured (the gateway and SMTP live there)".into(),
            permanent: true,
        })
    }

    /// WeChat Work and DingTalk robots answer 200 with `errcode` in the body: non-zero is
    /// a refusal.
    async fn robot(&self, url: &str, body: &Value, key: &str) -> Result<(), SendError> {
        let resp = self
            .client
            .post(url)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .map_err(|e| SendError::retry(format!("robot: {e}")))?;
        let status = resp.status();
        if !status.is_success() {
            let permanent = status.is_client_error() && !matches!(status.as_u16(), 408 | 429);
            let reason = format!("robot answered {status}");
            return Err(SendError { reason, permanent });
        }
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        match answer.get("errcode").and_then(Value::as_i64) {
            None | Some(0) => Ok(()),
            Some(code) => Err(SendError::retry(format!(
                "robot refused: errcode {code} {}",
                answer
                    .get("errmsg")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            ))),
        }
    }

    async fn publish(
        &self,
        topic: &str,
        m: &Message<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        if !self.mqtt {
            return Err(SendError {
                reason: "[mqtt] url is not set".into(),
                permanent: true,
            });
        }
        let payload = json!({"page_id": m.page, "name": m.name, "text": m.text, "link": m.link});
        let message = OutMessage {
            channel: "mqtt".into(),
            target: topic.to_owned(),
            payload: payload.to_string(),
            retain: false,
        };
        self.store
            .enqueue(now, &[message])
            .await
            .map_err(|e| SendError::retry(format!("outbox: {e}")))
    }
}
