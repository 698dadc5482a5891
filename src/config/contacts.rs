//! How a person is reached: one channel and its address, written `sms:+8613800000000`.

use std::fmt;

/// One channel of a person.
#[derive(Clone, PartialEq, Eq)]
pub enum Contact {
    /// A text message through the notice gateway's webhook.
    Sms(String),
    /// A voice call through the same gateway (it reads the text out).
    Voice(String),
    /// A WeChat Work group robot's webhook URL.
    WeChat(String),
    /// A DingTalk robot's webhook URL.
    DingTalk(String),
    /// A mail through `[notify.smtp]`.
    Email(String),
    /// An MQTT topic (a site's own pager or app), through the outbox.
    Mqtt(String),
}

impl Contact {
    /// Reads `kind:address`.
    pub fn parse(s: &str) -> Result<Contact, String> {
        let (kind, addr) = s
            .split_once(':')
            .ok_or_else(|| format!("channel `{s}`: write it as `sms:+8613800000000`"))?;
        let addr = addr.trim().to_owned();
        if addr.is_empty() {
            return Err(format!("channel `{s}` has no address"));
        }
        let url = |addr: String| {
            if addr.starts_with("https://") || addr.starts_with("http://") {
                Ok(addr)
            } else {
                Err(format!("channel `{s}`: the webhook must be an http(s) URL"))
            }
        };
        match kind.trim() {
            "sms" => Ok(Contact::Sms(addr)),
            "voice" => Ok(Contact::Voice(addr)),
            "wechat" => url(addr).map(Contact::WeChat),
            "dingtalk" => url(addr).map(Contact::DingTalk),
            "email" if addr.contains('@') => Ok(Contact::Email(addr)),
            "email" => Err(format!("channel `{s}`: not an e-mail address")),
            "mqtt" => Ok(Contact::Mqtt(addr)),
            other => Err(format!(
                "unknown channel `{other}`, expected sms, voice, wechat, dingtalk, email or mqtt"
            )),
        }
    }

    /// The channel's stable name (record, metric label).
    pub fn channel(&self) -> &'static str {
        match self {
            Contact::Sms(_) => "sms",
            Contact::Voice(_) => "voice",
            Contact::WeChat(_) => "wechat",
            Contact::DingTalk(_) => "dingtalk",
            Contact::Email(_) => "email",
            Contact::Mqtt(_) => "mqtt",
        }
    }

    /// The address for the record: a robot webhook's URL carries its key, so only its
    /// host is kept.
    pub fn shown(&self) -> String {
        match self {
            Contact::WeChat(u) | Contact::DingTalk(u) => u
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or_default()
                .to_owned(),
            Contact::Sms(a) | Contact::Voice(a) | Contact::Email(a) | Contact::Mqtt(a) => a.clone(),
        }
    }
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.channel(), self.shown())
    }
}

#[cfg(test)]
mod tests {
    use super::Contact;

    #[test]
    fn channels_read_and_robot_keys_stay_out_of_the_record() {
        let c =
            Contact::parse("wechat:https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret")
                .expect("valid");
        assert_eq!(c.channel(), "wechat");
        assert_eq!(c.shown(), "qyapi.weixin.qq.com");
        assert!(Contact::parse("pigeon:roof").is_err());
        assert!(Contact::parse("email:nobody").is_err());
        assert!(Contact::parse("dingtalk:oapi").is_err());
        assert_eq!(
            Contact::parse("sms:+8613800000000").map(|c| c.shown()),
            Ok("+8613800000000".into())
        );
    }
}
