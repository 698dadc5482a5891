//! What a page says, in zh-CN then English (the staff read Chinese; the gateway, a mail
//! client or a pager may not), with times in site time. The link is added when it goes out.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sitewatch_core::alarms::{AlarmEvent, Priority};

fn priority_zh(p: Priority) -> &'static str {
    match p {
        Priority::Emergency => "紧急",
        Priority::High => "高",
        Priority::Medium => "中",
        Priority::Low => "低",
    }
}

/// The text of a page about `ev`'s alarm, raised at `raised`.
pub fn alarm(site: &str, ev: &AlarmEvent, raised: DateTime<Utc>, tz: Tz) -> String {
    let at = raised.with_timezone(&tz).format("%m-%d %H:%M");
    let what = if ev.message.is_empty() {
        ev.alarm.as_str()
    } else {
        ev.message.as_str()
    };
    format!(
        "【{site}】{}级告警未确认：{what}（{}，{at}）\n[{site}] {} alarm not acknowledged: {what} ({}, {at})",
        priority_zh(ev.priority),
        ev.device,
        ev.priority.as_str(),
        ev.device,
    )
}

/// A summary of a person's held pages.
pub fn summary(site: &str, alarms: usize, emergency: usize, console: &str) -> String {
    format!(
        "【{site}】{alarms} 条告警，其中紧急 {emergency} 条；请打开控制台 {console}\n\
         [{site}] {alarms} alarms, {emergency} emergency; open the console {console}"
    )
}

/// The page with its link.
pub fn with_link(body: &str, link: &str) -> String {
    format!("{body}\n确认 / Acknowledge: {link}")
}

/// A short first line for a mail's subject.
pub fn subject(body: &str) -> String {
    body.lines()
        .next()
        .unwrap_or(body)
        .chars()
        .take(80)
        .collect()
}
