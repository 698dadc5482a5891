//! Commands down (issue 23): the centre acknowledges an alarm or dispatches an incident
//! by a core NATS request on `sitewatch.cmd.{site}`, on the server the forwarder uses.
//! The site builds the same `EngineCommand` its own HTTP routes build, with the actor
//! `central:{operator}`, and answers the engine's outcome: applied (the change is kept:
//! the engine's answer waits for the store), or refused with the status and stable code
//! the site's own route would answer. The journal entry it makes is a record like any
//! other, so it reaches the centre through the outbox.
//!
//! One command at a time: at most [`QUEUE`] wait; one more is answered `busy` (503)
//! at once, nothing done, and counted. A command id seen among the last [`REMEMBERED`]
//! answers its first outcome without running again (kept in memory: a restart forgets
//! them).
//!
//! A command carries its expiry: `expires_at_ms` (the centre's send time plus its
//! `[fleet] command_timeout`, by the centre's clock) and `ttl_ms` (that timeout). One taken
//! from the queue past either `expires_at_ms` by this site's clock, or `ttl_ms` after this
//! site received it, is refused `expired` (410, nothing done, counted, not remembered:
//! the same id sent again is a fresh try), because the centre has already answered it not
//! delivered. The second bound holds whatever the clocks say; the first also covers the
//! time the command spent before this site read it (a stalled process), and is only as
//! good as the two clocks agree (NTP on both; see docs/architecture.md).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use prometheus::{IntCounter, IntCounterVec};
use serde::{Deserialize, Serialize};
use sitewatch_core::alarms::AlarmCommand;
use sitewatch_core::clock::Clock;
use sitewatch_core::incidents::{IncidentAction, IncidentCommand, IncidentId};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use crate::engine::{CommandError, EngineHandle};
use crate::http::ApiError;
use crate::metrics::Registry;

/// The version of the command and reply shapes.
pub const VERSION: u32 = 1;
/// Commands waiting for the one being applied; one more is answered `busy`.
pub const QUEUE: usize = 64;
/// Messages the NATS client holds before the queue takes them; past that it drops them
/// (counted): the queue takes them as fast as they come, so only a stalled task fills it.
const CLIENT_QUEUE: usize = 1024;
/// Command ids whose outcome is kept for resends.
pub const REMEMBERED: usize = 1024;
/// Longest command id.
pub const MAX_ID: usize = 100;

/// The subject `site` takes commands on.
pub fn subject(site: &str) -> String {
    format!("sitewatch.cmd.{site}")
}

/// A command from the centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteCommand {
    /// [`VERSION`].
    pub v: u32,
    /// Chosen by the centre; a resend with the same id is applied once.
    pub command_id: String,
    /// The operator signed in at the centre.
    pub operator: String,
    /// What to do.
    pub action: Action,
    /// When the centre stops waiting (its send time plus its timeout, ms since the epoch
    /// by its clock); not applied after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
    /// The centre's timeout: not applied later than this after the site received it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}

/// What a command asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Acknowledge an alarm, with an optional comment for the journal.
    Acknowledge {
        /// The alarm id.
        alarm: String,
        /// The comment.
        #[serde(default)]
        comment: Option<String>,
    },
    /// Dispatch an incident to a person.
    Dispatch {
        /// The incident number.
        incident: IncidentId,
        /// Who is sent.
        to: String,
        /// A note for the timeline.
        #[serde(default)]
        note: String,
    },
}

/// How a command ended at the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The engine applied it and the store kept it.
    Applied,
    /// The engine (or the site's check of the command) refused it; nothing changed.
    Refused,
    /// The message is not a command this site reads.
    BadCommand,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Refused => "refused",
            Outcome::BadCommand => "bad_command",
        }
    }
}

/// The site's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// [`VERSION`].
    pub v: u32,
    /// The command's id (none when it could not be read).
    pub command_id: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// The status the site's own route would answer (200, 404, 409, 422, 503…).
    pub status: u16,
    /// The site API's stable code when refused (`not_found`, `conflict`, `invalid`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// For people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What the engine answered when applied (the alarm or incident events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<serde_json::Value>,
}

impl Reply {
    fn refused(id: Option<String>, outcome: Outcome, (status, code, message): Refusal) -> Self {
        Reply {
            v: VERSION,
            command_id: id,
            outcome,
            status,
            code: Some(code.to_owned()),
            message: Some(message),
            events: None,
        }
    }
}

/// Status, stable code, message.
type Refusal = (u16, &'static str, String);

/// The site's figures for commands from the centre.
#[derive(Debug, Clone)]
pub struct CommandMetrics {
    received: IntCounterVec,
    dropped: IntCounter,
}

impl CommandMetrics {
    /// Creates and registers the families in `r`.
    pub fn register(r: &Registry) -> Self {
        let received = r.counter(
            "sitewatch_central_commands_received_total",
            "Commands from the centre by outcome: applied, refused, bad_command (not a \
             command; answered with an error), resent (a known id; its first outcome \
             answered again), busy (64 already waiting; answered busy, nothing done), \
             expired (taken after the centre stopped waiting; nothing done).",
            &["outcome"],
        );
        for outcome in [
            "applied",
            "refused",
            "bad_command",
            "resent",
            "busy",
            "expired",
        ] {
            received.with_label_values(&[outcome]);
        }
        Self {
            received,
            dropped: r.int_counter(
                "sitewatch_central_commands_dropped_total",
                "Times the NATS client dropped a command because the command task had not \
                 taken the 1,024 before it (the centre answers it not delivered).",
            ),
        }
    }

    fn received(&self, outcome: &str) {
        self.received.with_label_values(&[outcome]).inc();
    }
}

/// The task taking commands from the centre.
#[derive(Debug)]
pub struct CommandTask {
    /// The central NATS server (the forwarder's).
    pub url: String,
    /// This site's id at the centre.
    pub site: String,
    /// The engine the commands go to.
    pub engine: EngineHandle,
    /// Its figures.
    pub metrics: CommandMetrics,
    /// The site's clock (a command's expiry).
    pub clock: Arc<dyn Clock>,
}

/// A command as taken from NATS, with when this site received it.
type Taken = (async_nats::Message, DateTime<Utc>);

impl CommandTask {
    /// Answers commands one at a time until `cancel`; the client reconnects and
    /// subscribes again by itself when the server returns.
    pub async fn run(self, cancel: CancellationToken) {
        let dropped = self.metrics.dropped.clone();
        let options = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(2))
            .max_reconnects(None)
            .subscription_capacity(CLIENT_QUEUE)
            .event_callback(move |event| {
                if let async_nats::Event::SlowConsumer(_) = event {
                    dropped.inc();
                }
                async {}
            });
        let client = match options.connect(self.url.as_str()).await {
            Ok(c) => c,
            Err(e) => {
                return tracing::error!(error = %e, url = %self.url, "central NATS url refused");
            }
        };
        let commands = match client.subscribe(subject(&self.site)).await {
            Ok(s) => s,
            Err(e) => return tracing::error!(error = %e, "cannot take commands from the centre"),
        };
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::select! {
            () = cancel.cancelled() => {}
            () = self.take(&client, commands, queue) => {}
            () = self.work(&client, waiting) => {}
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), client.flush()).await;
    }

    /// Queues each command as it comes; one past [`QUEUE`] waiting is answered `busy`
    /// at once (nothing done) and counted.
    async fn take(
        &self,
        client: &async_nats::Client,
        mut commands: async_nats::Subscriber,
        queue: mpsc::Sender<Taken>,
    ) {
        while let Some(message) = commands.next().await {
            let taken = (message, self.clock.now());
            let Err(TrySendError::Full((message, _))) = queue.try_send(taken) else {
                continue;
            };
            self.metrics.received("busy");
            let id = serde_json::from_slice::<SiteCommand>(&message.payload)
                .ok()
                .map(|c| c.command_id);
            let why = (
                503,
                "busy",
                format!("{QUEUE} commands wait here; nothing done, send again"),
            );
            answer_to(
                client,
                message.reply,
                &Reply::refused(id, Outcome::Refused, why),
            )
            .await;
        }
    }

    /// Applies the queued commands one at a time, answering each.
    async fn work(&self, client: &async_nats::Client, mut waiting: mpsc::Receiver<Taken>) {
        let mut recent = Recent::default();
        while let Some((message, received)) = waiting.recv().await {
            let reply = self.answer(&message.payload, received, &mut recent).await;
            answer_to(client, message.reply, &reply).await;
        }
    }

    /// Reads, checks and applies one command (or finds its first outcome).
    async fn answer(&self, payload: &[u8], received: DateTime<Utc>, recent: &mut Recent) -> Reply {
        let command: SiteCommand = match serde_json::from_slice(payload) {
            Ok(c) => c,
            Err(e) => {
                self.metrics.received("bad_command");
                tracing::warn!(error = %e, "a command from the centre is not one; answered");
                let why = (400, "bad_command", format!("not a sitewatch command: {e}"));
                return Reply::refused(None, Outcome::BadCommand, why);
            }
        };
        if let Some(first) = recent.get(&command.command_id) {
            self.metrics.received("resent");
            return first.clone();
        }
        let id = Some(command.command_id.clone());
        // Not remembered: the centre answered it not delivered, so the same id sent again
        // is a fresh try.
        if let Some(why) = expired(&command, received, self.clock.now()) {
            self.metrics.received("expired");
            tracing::warn!(command = %command.command_id, operator = %command.operator,
                "a command from the centre came too late; refused");
            return Reply::refused(id, Outcome::Refused, why);
        }
        let reply = match check(&command) {
            Err(why) => Reply::refused(id, Outcome::BadCommand, why),
            Ok(()) => match self.apply(&command).await {
                Ok(events) => Reply {
                    v: VERSION,
                    command_id: id,
                    outcome: Outcome::Applied,
                    status: 200,
                    code: None,
                    message: None,
                    events: Some(events),
                },
                // The engine stopped: nothing changed, a resend may apply it.
                Err(CommandError::Unavailable) => {
                    self.metrics.received("refused");
                    let why = ApiError::Unavailable.refusal();
                    return Reply::refused(id, Outcome::Refused, why);
                }
                Err(e) => Reply::refused(id, Outcome::Refused, ApiError::from(e).refusal()),
            },
        };
        self.metrics.received(reply.outcome.label());
        tracing::info!(command = %command.command_id, operator = %command.operator,
            outcome = reply.outcome.label(), "command from the centre");
        recent.put(command.command_id, reply.clone());
        reply
    }

    /// Runs the command in the engine as the site's routes do; the events as JSON.
    async fn apply(&self, c: &SiteCommand) -> Result<serde_json::Value, CommandError> {
        let actor = format!("central:{}", c.operator.trim());
        let events = match &c.action {
            Action::Acknowledge { alarm, comment } => {
                let note = comment.clone().filter(|n| !n.trim().is_empty());
                let cmd = AlarmCommand::Acknowledge {
                    alarm: alarm.clone(),
                    actor,
                    note,
                };
                serde_json::to_value(self.engine.alarm(cmd).await?)
            }
            Action::Dispatch { incident, to, note } => {
                let cmd = IncidentCommand {
                    actor,
                    note: note.clone(),
                    action: IncidentAction::Dispatch {
                        to: Some(to.trim().to_owned()),
                    },
                };
                serde_json::to_value(self.engine.incident_step(*incident, cmd).await?)
            }
        };
        Ok(events.unwrap_or_default())
    }
}

/// Publishes `reply` to the requester's inbox, when it gave one.
async fn answer_to(client: &async_nats::Client, to: Option<async_nats::Subject>, reply: &Reply) {
    let Some(to) = to else { return };
    let body = serde_json::to_vec(reply).unwrap_or_default();
    if let Err(e) = client.publish(to, body.into()).await {
        tracing::warn!(error = %e, "cannot answer the centre's command");
    }
}

/// What needs no engine: the version, the id, who and to whom.
fn check(c: &SiteCommand) -> Result<(), Refusal> {
    let invalid = |field: &'static str, m: &str| Err((422, "invalid", format!("{field}: {m}")));
    if c.v != VERSION {
        return Err((
            400,
            "bad_command",
            format!("version {} is not {VERSION}", c.v),
        ));
    }
    if c.command_id.trim().is_empty() || c.command_id.len() > MAX_ID {
        return invalid("command_id", "must be 1 to 100 characters");
    }
    if c.operator.trim().is_empty() {
        return invalid("operator", "who is doing this must be given");
    }
    match &c.action {
        Action::Dispatch { to, .. } if to.trim().is_empty() => {
            invalid("to", "who is sent must be given")
        }
        _ => Ok(()),
    }
}

/// Why a command taken at `now` is too late: past its `expires_at_ms` by this site's
/// clock, or `ttl_ms` after this site `received` it.
fn expired(c: &SiteCommand, received: DateTime<Utc>, now: DateTime<Utc>) -> Option<Refusal> {
    let now_ms = now.timestamp_millis();
    let by_centre = c.expires_at_ms.filter(|&at| now_ms > at).map(|at| {
        format!(
            "the centre stopped waiting {} ms ago by this site's clock; nothing done",
            now_ms - at
        )
    });
    let waited = u64::try_from((now - received).num_milliseconds()).unwrap_or(0);
    let by_wait = c.ttl_ms.filter(|&ttl| waited > ttl).map(|ttl| {
        format!("waited {waited} ms here, longer than the centre's {ttl} ms; nothing done")
    });
    by_centre.or(by_wait).map(|why| (410, "expired", why))
}

/// The last [`REMEMBERED`] command ids and their first outcome.
#[derive(Debug, Default)]
struct Recent {
    replies: HashMap<String, Reply>,
    order: VecDeque<String>,
}

impl Recent {
    fn get(&self, id: &str) -> Option<&Reply> {
        self.replies.get(id)
    }

    fn put(&mut self, id: String, reply: Reply) {
        if self.order.len() == REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.replies.remove(&oldest);
        }
        self.order.push_back(id.clone());
        self.replies.insert(id, reply);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_reads_from_its_json_and_a_stranger_field_is_refused() {
        let text = r#"{"v":1,"command_id":"c1","operator":"li","action":
            {"type":"acknowledge","alarm":"pump_1.fault","comment":"seen"}}"#;
        let c: SiteCommand = serde_json::from_str(text).expect("a command");
        assert_eq!(
            c.action,
            Action::Acknowledge {
                alarm: "pump_1.fault".into(),
                comment: Some("seen".into())
            }
        );
        let stranger = text.replace("\"comment\"", "\"coment\"");
        assert!(serde_json::from_str::<SiteCommand>(&stranger).is_err());
        let v2 = SiteCommand { v: 2, ..c };
        assert_eq!(check(&v2).expect_err("refused").1, "bad_command");
    }

    #[test]
    fn a_command_past_its_expiry_or_its_wait_is_refused_expired() {
        let text = r#"{"v":1,"command_id":"c1","operator":"li","action":
            {"type":"acknowledge","alarm":"a"},"expires_at_ms":1000000,"ttl_ms":3000}"#;
        let c: SiteCommand = serde_json::from_str(text).expect("a command");
        let at = |ms| DateTime::from_timestamp_millis(ms).expect("a time");
        assert_eq!(expired(&c, at(999_000), at(1_000_000)), None);
        let late = expired(&c, at(999_000), at(1_000_001)).expect("too late");
        assert_eq!((late.0, late.1), (410, "expired"));
        // The centre's clock ahead of the site's: the wait here still bounds it.
        let ahead = SiteCommand {
            expires_at_ms: Some(5_000_000),
            ..c.clone()
        };
        assert_eq!(expired(&ahead, at(100_000), at(103_000)), None);
        assert_eq!(
            expired(&ahead, at(100_000), at(103_001)).expect("late").1,
            "expired"
        );
        // From a centre that sends no expiry: never expired.
        let old = SiteCommand {
            expires_at_ms: None,
            ttl_ms: None,
            ..c
        };
        assert_eq!(expired(&old, at(0), at(9_000_000)), None);
    }

    #[test]
    fn the_oldest_outcome_is_forgotten_first() {
        let mut recent = Recent::default();
        let reply = Reply::refused(None, Outcome::Refused, (409, "conflict", String::new()));
        for i in 0..=REMEMBERED {
            recent.put(i.to_string(), reply.clone());
        }
        assert!(recent.get("0").is_none());
        assert!(recent.get("1").is_some());
        assert_eq!(recent.replies.len(), REMEMBERED);
    }
}
