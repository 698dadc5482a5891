//! Who gets a message for a notice, on which channel, and who is held back: the decision
//! is pure so it can be tested without a database; the store feeds it what it already
//! holds (messages to each contact within the rate window, and per incident).

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Contact, ContactChannel, Role};
use crate::config::{NotifyConfig, RateLimit};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// SMTP mail.
    Email,
    /// The SMS/WeChat gateway's webhook.
    Webhook,
    /// No message: printed and delivered by hand.
    Paper,
}

impl Channel {
    /// The stable name (store, API, metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
            Channel::Paper => "paper",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    /// The channel a contact's preference maps to: SMS, phone and WeChat go to the
    /// gateway (a text, §8.2 手机短信), email by mail, paper by hand.
    pub fn of(preferred: ContactChannel) -> Channel {
        match preferred {
            ContactChannel::Sms | ContactChannel::Phone | ContactChannel::Wechat => {
                Channel::Webhook
            }
            ContactChannel::Email => Channel::Email,
            ContactChannel::Paper => Channel::Paper,
        }
    }
}

/// Where a recipient's message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for (another) attempt.
    Queued,
    /// Handed to the transport; the answer is not recorded yet.
    Sent,
    /// Accepted: webhook 2xx or SMTP 250.
    Delivered,
    /// Given up, with the reason.
    Failed,
    /// Held back by flood control, with the reason.
    Suppressed,
    /// Prefers paper: delivered by hand, recorded through the deliveries endpoint.
    Hand,
}

impl Status {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Suppressed => "suppressed",
            Status::Hand => "hand",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// The statuses that count as a message to a contact (for the rate limit and the one
/// message per incident).
pub const COUNTED: [Status; 3] = [Status::Queued, Status::Sent, Status::Delivered];

/// One recipient of a notice: an owner or tenant of a target unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// The unit.
    pub unit: String,
    /// Owner or tenant.
    pub role: Role,
    /// Name.
    pub name: String,
    /// Their preference (sms, phone, wechat, email, paper), told to the gateway.
    pub preferred: ContactChannel,
    /// Channel from their preference.
    pub channel: Channel,
    /// Email address or phone number for the channel, when on file.
    pub address: Option<String>,
    /// Who this is across units: the phone number, else the email, else unit and role.
    pub key: String,
}

impl Recipient {
    /// The recipient for `contact` of `unit`.
    pub fn of(unit: &str, contact: &Contact) -> Recipient {
        let channel = Channel::of(contact.preferred_channel);
        let clean = |s: &Option<String>| {
            s.as_ref()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let (phone, email) = (clean(&contact.phone), clean(&contact.email));
        let address = match channel {
            Channel::Email => email.clone(),
            Channel::Webhook => phone.clone(),
            Channel::Paper => None,
        };
        let key = phone
            .map(|p| format!("phone:{p}"))
            .or(email.map(|e| format!("email:{}", e.to_lowercase())))
            .unwrap_or_else(|| format!("unit:{unit}/{}", contact.role.as_str()));
        Recipient {
            unit: unit.to_owned(),
            role: contact.role,
            name: contact.name.clone(),
            preferred: contact.preferred_channel,
            channel,
            address,
            key,
        }
    }
}

/// What the sending side can do, from `[notify]`.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `[notify.smtp]` is set.
    pub email: bool,
    /// `[notify.webhook]` is set.
    pub webhook: bool,
    /// The per-contact limit.
    pub rate_limit: RateLimit,
    /// Topic for the notice itself (`{prefix}/{id}`), when MQTT is configured.
    pub mqtt_prefix: Option<String>,
}

impl Policy {
    /// The policy of `[notify]`; `mqtt` is whether `[mqtt] url` is set, `site` the site id.
    pub fn new(config: &NotifyConfig, mqtt: bool, site: &str) -> Policy {
        Policy {
            email: config.smtp.is_some(),
            webhook: config.webhook.is_some(),
            rate_limit: config.rate_limit.clone(),
            mqtt_prefix: mqtt.then(|| {
                config
                    .mqtt_topic_prefix
                    .clone()
                    .unwrap_or_else(|| format!("sitewatch/{site}/notices"))
            }),
        }
    }

    /// The rate window.
    pub fn window(&self) -> Duration {
        self.rate_limit.per
    }
}

/// What the store already holds about one contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Messages counted within the rate window.
    pub recent: u32,
    /// An earlier message about the same incident, by its id.
    pub incident_message: Option<i64>,
}

/// The decision for one recipient: its first status and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// First status.
    pub status: Status,
    /// Why it is not queued.
    pub reason: Option<String>,
}

impl Decision {
    fn new(status: Status, reason: impl Into<Option<String>>) -> Self {
        Decision {
            status,
            reason: reason.into(),
        }
    }
}

/// Decides every recipient of one notice in order. `history` gives each contact's past;
/// messages queued earlier in the same notice count against the same contact too.
pub fn decide(
    policy: &Policy,
    incident: Option<i64>,
    recipients: &[Recipient],
    history: impl Fn(&str) -> History,
) -> Vec<Decision> {
    let mut queued_now: BTreeSet<&str> = BTreeSet::new();
    recipients
        .iter()
        .map(|r| {
            let d = decide_one(policy, incident, r, &history(&r.key), &queued_now);
            if d.status == Status::Queued {
                queued_now.insert(&r.key);
            }
            d
        })
        .collect()
}

fn decide_one(
    policy: &Policy,
    incident: Option<i64>,
    r: &Recipient,
    h: &History,
    queued_now: &BTreeSet<&str>,
) -> Decision {
    let configured = match r.channel {
        Channel::Paper => {
            return Decision::new(Status::Hand, "prefers paper: deliver by hand".to_owned());
        }
        Channel::Email => policy.email,
        Channel::Webhook => policy.webhook,
    };
    if !configured {
        let what = match r.channel {
            Channel::Email => "email sending is not configured ([notify.smtp])",
            _ => "SMS/WeChat sending is not configured ([notify.webhook])",
        };
        return Decision::new(Status::Failed, what.to_owned());
    }
    if r.address.is_none() {
        let what = match r.channel {
            Channel::Email => "prefers email but has no email address on file",
            _ => "prefers SMS/phone/WeChat but has no phone number on file",
        };
        return Decision::new(Status::Failed, what.to_owned());
    }
    if queued_now.contains(r.key.as_str()) {
        let why = "the same contact already gets this notice (for another unit or role)";
        return Decision::new(Status::Suppressed, why.to_owned());
    }
    if let (Some(incident), Some(earlier)) = (incident, h.incident_message) {
        return Decision::new(
            Status::Suppressed,
            format!(
                "already notified about incident {incident} (message {earlier}): one message per incident and contact"
            ),
        );
    }
    let limit = &policy.rate_limit;
    if h.recent >= limit.messages {
        return Decision::new(
            Status::Suppressed,
            format!(
                "rate limit: at most {} messages per {} to one contact",
                limit.messages,
                humantime::format_duration(limit.per)
            ),
        );
    }
    Decision::new(Status::Queued, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            email: true,
            webhook: true,
            rate_limit: RateLimit {
                messages: 2,
                per: Duration::from_secs(3600),
            },
            mqtt_prefix: None,
        }
    }

    fn contact(channel: ContactChannel, phone: Option<&str>, email: Option<&str>) -> Contact {
        Contact {
            role: Role::Owner,
            name: "王芳".into(),
            phone: phone.map(Into::into),
            email: email.map(Into::into),
            preferred_channel: channel,
        }
    }

    #[test]
    fn preferences_map_to_channels_and_addresses() {
        let sms = Recipient::of("1-0301", &contact(ContactChannel::Sms, Some("138"), None));
        assert_eq!(
            (sms.channel, sms.address.as_deref()),
            (Channel::Webhook, Some("138"))
        );
        let mail = Recipient::of(
            "1-0301",
            &contact(ContactChannel::Email, Some("138"), Some("a@b.cn")),
        );
        assert_eq!(
            (mail.channel, mail.address.as_deref()),
            (Channel::Email, Some("a@b.cn"))
        );
        assert_eq!(mail.key, "phone:138", "one person, one key across channels");
        let paper = Recipient::of("1-0301", &contact(ContactChannel::Paper, None, None));
        assert_eq!(paper.key, "unit:1-0301/owner");
        let d = decide(&policy(), None, &[paper], |_| History::default());
        assert_eq!(d[0].status, Status::Hand);
    }

    #[test]
    fn email_without_an_address_fails_with_the_reason() {
        let r = Recipient::of("1-0302", &contact(ContactChannel::Email, Some("139"), None));
        let d = decide(&policy(), None, &[r], |_| History::default());
        assert_eq!(d[0].status, Status::Failed);
        assert!(
            d[0].reason
                .as_deref()
                .unwrap_or_default()
                .contains("no email address")
        );
    }

    #[test]
    fn one_message_per_incident_and_contact_and_the_rate_limit_holds() {
        let r = Recipient::of("1-0301", &contact(ContactChannel::Sms, Some("138"), None));
        let twice = [r.clone(), r.clone()];
        let d = decide(&policy(), Some(7), &twice, |_| History::default());
        assert_eq!(
            (d[0].status, d[1].status),
            (Status::Queued, Status::Suppressed)
        );
        let told = |_: &str| History {
            recent: 1,
            incident_message: Some(3),
        };
        let d = decide(&policy(), Some(7), std::slice::from_ref(&r), told);
        assert_eq!(d[0].status, Status::Suppressed);
        assert!(
            d[0].reason
                .as_deref()
                .unwrap_or_default()
                .contains("incident 7")
        );
        let busy = |_: &str| History {
            recent: 2,
            incident_message: None,
        };
        let d = decide(&policy(), None, &[r], busy);
        assert_eq!(d[0].status, Status::Suppressed);
        assert!(
            d[0].reason
                .as_deref()
                .unwrap_or_default()
                .contains("rate limit")
        );
    }
}
