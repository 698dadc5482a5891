//! The paging task: turns alarm events into planned pages (one row per step and repeat,
//! unique by key), takes due rows every 200 ms (and at once after an event or a delivery's
//! outcome), resolves each to the person on call, applies flood control and hands it to a
//! channel in a task of its own, so a slow gateway never holds up an acknowledgement's
//! cancel. A round is one transaction: the plans and outcomes gathered since the last one,
//! the due rows read, each claimed or settled, and the repeats planned; nothing is sent
//! before it commits, so a restart neither repeats nor skips a step. It tells the alarm engine which levels have nobody
//! on call, which raises the rota-gap alarms (`oncall.{level}_uncovered:nobody`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sitewatch_core::alarms::{Alarm, AlarmEvent, AlarmState, Priority, Transition};
use sitewatch_core::clock::Clock;
use sitewatch_core::incidents::IncidentState;
use sitewatch_core::oncall::{FloodDecision, FloodState, Past};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::PagingMetrics;
use super::send::{Channels, Message};
use super::{Contact, Paging, PagingInput, Receiver, text};
use crate::engine::EngineHandle;
use crate::notify::transport::SendError;
use crate::store::{NewPage, Outcome, PageRecord, PagesTx, Store, StoreError};

/// How often due pages are looked for.
const ROUND: StdDuration = StdDuration::from_millis(200);
/// Pages taken per round.
const BATCH: i64 = 256;
/// Pages handed to channels at once.
const IN_FLIGHT: usize = 32;

/// The task.
#[derive(Debug)]
pub struct PagingTask {
    paging: Arc<Paging>,
    input: Receiver,
    store: Store,
    engine: EngineHandle,
    channels: Arc<Channels>,
    metrics: PagingMetrics,
    clock: Arc<dyn Clock>,
    flood: FloodState,
    uncovered: BTreeMap<String, bool>,
    /// Pages to plan in the next round (kept when a round fails).
    pending: Vec<Plan>,
    /// Outcomes back from channels, recorded in the next round.
    done: Vec<Done>,
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    permits: Arc<Semaphore>,
}

/// A page to plan; `escalation` counts the level reached when it is new.
#[derive(Debug)]
struct Plan {
    page: NewPage,
    escalation: bool,
}

/// What one attempt came to, back from its delivery task.
#[derive(Debug)]
struct Done {
    id: i64,
    outcome: Outcome,
    at: DateTime<Utc>,
}

/// What to do once a round's transaction commits.
#[derive(Debug, Default)]
struct Round {
    escalations: Vec<String>,
    settled: Vec<&'static str>,
    sends: Vec<Delivery>,
}

/// What the task is built from.
#[derive(Debug)]
pub struct Parts {
    /// Shared decisions.
    pub paging: Arc<Paging>,
    /// The queue's end.
    pub input: Receiver,
    /// The database.
    pub store: Store,
    /// The engine, to re-read alarms after a restart or a full queue.
    pub engine: EngineHandle,
    /// Metrics.
    pub metrics: PagingMetrics,
    /// The engine's clock.
    pub clock: Arc<dyn Clock>,
}

fn key(alarm: &str, raised: DateTime<Utc>, level: &str, seq: i64) -> String {
    format!("{alarm}|{}|{level}|{seq}", raised.timestamp_millis())
}

fn priority(s: &str) -> Priority {
    match s {
        "emergency" => Priority::Emergency,
        "high" => Priority::High,
        "low" => Priority::Low,
        _ => Priority::Medium,
    }
}

impl PagingTask {
    /// A task over `parts`, sending through `config`'s transports.
    pub fn new(parts: Parts, config: &crate::config::Config) -> anyhow::Result<PagingTask> {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Ok(PagingTask {
            channels: Arc::new(Channels::new(config, parts.store.clone())?),
            paging: parts.paging,
            input: parts.input,
            store: parts.store,
            engine: parts.engine,
            metrics: parts.metrics,
            clock: parts.clock,
            flood: FloodState::default(),
            uncovered: BTreeMap::new(),
            pending: Vec::new(),
            done: Vec::new(),
            done_tx,
            done_rx,
            permits: Arc::new(Semaphore::new(IN_FLIGHT)),
        })
    }

    /// Runs until `cancel`. First the pages left in flight by a stop are queued again and
    /// the alarms re-read, so a step decided before the stop but never planned is paged now.
    pub async fn run(mut self, cancel: CancellationToken) {
        match self.store.requeue_sending_pages(self.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                pages = n,
                "pages left in flight by the last stop are queued again"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot requeue pages left in flight"),
        }
        self.restore_flood().await;
        self.reconcile().await;
        let mut tick = tokio::time::interval(ROUND);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                Some(first) = self.input.rx.recv() => {
                    self.on_event(first).await;
                    while let Ok(next) = self.input.rx.try_recv() {
                        self.on_event(next).await;
                    }
                }
                Some(first) = self.done_rx.recv() => {
                    self.done.push(first);
                    while let Ok(next) = self.done_rx.try_recv() {
                        self.done.push(next);
                    }
                }
                _ = tick.tick() => {}
            }
            if self.input.lost.swap(false, Ordering::AcqRel) {
                self.reconcile().await;
            }
            self.round(&cancel).await;
        }
        self.stop().await;
    }

    /// Records the outcomes already back; a delivery still out records its own.
    async fn stop(&mut self) {
        self.done_rx.close();
        while let Ok(next) = self.done_rx.try_recv() {
            self.done.push(next);
        }
        for d in std::mem::take(&mut self.done) {
            if let Err(e) = self.store.page_outcome(d.id, &d.outcome, d.at).await {
                tracing::warn!(error = %e, page = d.id, "cannot record a page's outcome at stop");
            }
        }
    }

    /// Rebuilds flood control from the record of the last hour and interval, so a restart
    /// gives nobody a fresh interval or a fresh hour.
    async fn restore_flood(&mut self) {
        let now = self.clock.now();
        let since = now - chrono::Duration::hours(1) - self.paging.flood.interval;
        let rows = match self.store.flood_record(since).await {
            Ok(rows) => rows,
            Err(e) => {
                return tracing::warn!(error = %e, "cannot read the page record; flood control starts afresh");
            }
        };
        for r in rows {
            let past = match (r.kind.as_str(), r.status.as_str()) {
                ("summary", _) if r.attempted => Past::Summary,
                ("alarm", "summarised") => Past::Summarised {
                    alarm: r.alarm,
                    emergency: r.emergency,
                },
                ("alarm", "held") => Past::Held { alarm: r.alarm },
                ("alarm", _) if r.attempted => Past::Sent {
                    alarm: r.alarm,
                    emergency: r.emergency,
                },
                _ => continue,
            };
            self.flood.replay(self.paging.flood, &r.person, past, r.at);
        }
    }

    async fn on_event(&mut self, input: PagingInput) {
        let ev = &input.event;
        let now = self.clock.now();
        let raised = input.raised_at.unwrap_or(ev.at);
        let levels: Vec<String> = match &ev.transition {
            Transition::Raised if ev.priority == Priority::Emergency => self.paging.levels.clone(),
            Transition::Escalated { role, .. } => vec![role.clone()],
            Transition::Acknowledged => {
                let secs = (ev.at - raised).num_milliseconds() as f64 / 1000.0;
                self.metrics
                    .acknowledged(ev.priority.as_str(), secs.max(0.0));
                let by = format!(
                    "acknowledged by {}",
                    ev.actor.as_deref().unwrap_or("system")
                );
                return self.cancel(&ev.alarm, &by, now).await;
            }
            Transition::Cleared => return self.cancel(&ev.alarm, "returned to normal", now).await,
            Transition::Shelved { .. } | Transition::Suppressed | Transition::OutOfService => {
                let by = format!(
                    "{} by {}",
                    kind(&ev.transition),
                    ev.actor.as_deref().unwrap_or("system")
                );
                return self.cancel(&ev.alarm, &by, now).await;
            }
            _ => return,
        };
        for level in levels {
            self.plan_step(ev, raised, &level, now);
        }
    }

    /// Plans step 0 of `level` for `ev`'s alarm, due now (nothing if already planned).
    fn plan_step(
        &mut self,
        ev: &AlarmEvent,
        raised: DateTime<Utc>,
        level: &str,
        now: DateTime<Utc>,
    ) {
        let page = NewPage {
            key: key(&ev.alarm, raised, level, 0),
            kind: "alarm",
            alarm: Some(ev.alarm.clone()),
            raised_at: Some(raised),
            priority: ev.priority.as_str().to_owned(),
            level: level.to_owned(),
            seq: 0,
            person: None,
            due: now,
            body: text::alarm(&self.paging.site, ev, raised, self.paging.tz),
        };
        self.pending.push(Plan {
            page,
            escalation: true,
        });
    }

    async fn cancel(&mut self, alarm: &str, by: &str, now: DateTime<Utc>) {
        self.pending
            .retain(|p| p.page.alarm.as_deref() != Some(alarm));
        match self.store.cancel_pages(alarm, by, now).await {
            Ok(n) => self.metrics.cancelled(n),
            Err(e) => {
                tracing::warn!(error = %e, alarm, "cannot cancel pages; the next round checks the alarm again")
            }
        }
    }

    /// Re-reads the alarms: every step an unacknowledged alarm has reached is planned
    /// (nothing if it is), and pages of alarms no longer unacknowledged are cancelled.
    async fn reconcile(&mut self) {
        let Some(alarms) = self.engine.alarms(false).await else {
            return;
        };
        let now = self.clock.now();
        let mut live = BTreeSet::new();
        for a in alarms
            .iter()
            .filter(|a| a.state == AlarmState::UnackActive && !a.is_masked())
        {
            let Some(raised) = a.raised_at else { continue };
            live.insert(a.id.clone());
            let ev = a.event(Transition::Raised, raised);
            for level in self.reached(a) {
                self.plan_step(&ev, raised, &level, now);
            }
        }
        let incidents: Vec<String> = self
            .engine
            .incidents(false)
            .await
            .unwrap_or_default()
            .iter()
            .filter(|i| crate::engine::paging_queue::paged(i) && i.state == IncidentState::Reported)
            .map(|i| super::incident_alarm(i.id))
            .collect();
        live.extend(incidents);
        let queued = self.store.queued_page_alarms().await.unwrap_or_default();
        for alarm in queued.iter().filter(|a| !live.contains(*a)) {
            self.cancel(alarm, "no longer unacknowledged", now).await;
        }
    }

    /// The levels an alarm's escalation has reached.
    fn reached(&self, a: &Alarm) -> Vec<String> {
        if a.priority == Priority::Emergency {
            return self.paging.levels.clone();
        }
        let chain = self.paging.chains.chain(a.priority);
        chain
            .iter()
            .take(a.escalation_level as usize)
            .map(|s| s.role.clone())
            .collect()
    }

    async fn round(&mut self, cancel: &CancellationToken) {
        let now = self.clock.now();
        self.coverage(now).await;
        self.plan_summaries(now);
        let plans = std::mem::take(&mut self.pending);
        let done = std::mem::take(&mut self.done);
        match self.write_round(&plans, &done, now, cancel).await {
            Ok(round) => {
                for level in &round.escalations {
                    self.metrics.escalation(level);
                }
                for status in round.settled {
                    self.metrics.page("none", status);
                }
                for delivery in round.sends {
                    self.hand_over(delivery).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot store a paging round; will retry");
                self.pending.splice(0..0, plans);
                self.done.splice(0..0, done);
            }
        }
        self.metrics.round();
    }

    /// The round's transaction: outcomes, plans, then every due page claimed or settled.
    async fn write_round(
        &mut self,
        plans: &[Plan],
        done: &[Done],
        now: DateTime<Utc>,
        cancel: &CancellationToken,
    ) -> Result<Round, StoreError> {
        let mut tx = self.store.pages_tx().await?;
        let mut round = Round::default();
        for d in done {
            tx.outcome(d.id, &d.outcome, d.at).await?;
        }
        for p in plans {
            if tx.plan(&p.page, now).await? && p.escalation {
                round.escalations.push(p.page.level.clone());
            }
        }
        for page in tx.due(now, BATCH).await? {
            if cancel.is_cancelled() {
                break;
            }
            self.take(&mut tx, &mut round, page, now).await?;
        }
        tx.commit().await?;
        Ok(round)
    }

    fn plan_summaries(&mut self, now: DateTime<Utc>) {
        for s in self.flood.due(self.paging.flood, now) {
            let page = NewPage {
                key: format!("summary|{}|{}", s.person, now.timestamp_millis()),
                kind: "summary",
                alarm: None,
                raised_at: None,
                priority: if s.emergency > 0 { "emergency" } else { "high" }.into(),
                level: "summary".into(),
                seq: 0,
                person: Some(s.person.clone()),
                due: now,
                body: text::summary(
                    &self.paging.site,
                    s.alarms,
                    s.emergency,
                    self.paging.links.base(),
                ),
            };
            self.pending.push(Plan {
                page,
                escalation: false,
            });
        }
    }

    /// Hands a claimed page to its channel in a task of its own.
    async fn hand_over(&self, delivery: Delivery) {
        let permit = self.permits.clone().acquire_owned().await;
        let in_flight = self.metrics.in_flight().clone();
        in_flight.inc();
        tokio::spawn(async move {
            let _permit = permit;
            delivery.run().await;
            in_flight.dec();
        });
    }

    /// People on call per level into the gauge, and to the alarm engine whether each level
    /// has nobody on call when that changes.
    async fn coverage(&mut self, now: DateTime<Utc>) {
        for level in self.paging.levels.clone() {
            let n = self.paging.rota.on_call(&level, now).len();
            self.metrics.on_call(&level, n);
            if self.uncovered.get(&level) == Some(&(n == 0)) {
                continue;
            }
            // The engine stopped: try again next round.
            if self.engine.coverage(&level, n == 0).await.is_ok() {
                self.uncovered.insert(level, n == 0);
            }
        }
    }

    /// One due page: plan its repeat, find its person, apply flood control, claim it and
    /// note it for its channel once the round commits.
    async fn take(
        &mut self,
        tx: &mut PagesTx,
        round: &mut Round,
        page: PageRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let first = page.attempts == 0 && page.channel_attempts == 0 && page.channel_index == 0;
        let prio = priority(&page.priority);
        if first && page.kind == "alarm" {
            self.plan_repeat(tx, &page, prio, now).await?;
        }
        let person = match page.person.clone() {
            Some(p) => p,
            None => match self
                .paging
                .rota
                .on_call(&page.level, now)
                .into_iter()
                .next()
            {
                Some(p) => p,
                None => return self.nobody(tx, round, &page, prio, now).await,
            },
        };
        let held = match first && page.kind == "alarm" {
            true => self.flood_holds(&page, &person, prio, now),
            false => None,
        };
        if let Some((status, reason)) = held {
            if tx
                .settle(page.id, status, Some(&person), &reason, now)
                .await?
            {
                round.settled.push(status);
            }
            return Ok(());
        }
        let Some(who) = self.paging.person(&person) else {
            let reason = format!("`{person}` is not one of [[people]]");
            tx.settle(page.id, "failed", Some(&person), &reason, now)
                .await?;
            return Ok(());
        };
        let index = usize::try_from(page.channel_index).unwrap_or(usize::MAX);
        let Some(contact) = who.contacts.get(index).cloned() else {
            tx.settle(
                page.id,
                "failed",
                Some(&person),
                "no channel left to try",
                now,
            )
            .await?;
            return Ok(());
        };
        if !tx
            .claim(page.id, &person, contact.channel(), &contact.shown(), now)
            .await?
        {
            return Ok(());
        }
        round.sends.push(Delivery {
            paging: self.paging.clone(),
            channels: self.channels.clone(),
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            clock: self.clock.clone(),
            done: self.done_tx.clone(),
            attempts_left: who.contacts.len() - index - 1,
            contact,
            name: who.name,
            channel_attempts: page.channel_attempts + 1,
            page,
        });
        Ok(())
    }

    async fn plan_repeat(
        &self,
        tx: &mut PagesTx,
        page: &PageRecord,
        prio: Priority,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (Some(alarm), Some(raised)) = (page.alarm.clone(), page.raised_at) else {
            return Ok(());
        };
        let seq = page.seq + 1;
        let next = NewPage {
            key: key(&alarm, raised, &page.level, seq),
            kind: "alarm",
            alarm: Some(alarm),
            raised_at: Some(raised),
            priority: page.priority.clone(),
            level: page.level.clone(),
            seq,
            person: None,
            due: page.due_at + self.paging.repeat_of(prio),
            body: page.body.clone(),
        };
        tx.plan(&next, now).await?;
        Ok(())
    }

    /// Nobody on call at the page's level: recorded failed, and the level above paged now
    /// (in the next round).
    async fn nobody(
        &self,
        tx: &mut PagesTx,
        round: &mut Round,
        page: &PageRecord,
        prio: Priority,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let above = self.paging.level_above(prio, &page.level);
        let reason = match &above {
            Some(up) => format!("nobody on call at {}; passed to {up}", page.level),
            None => format!("nobody on call at {} and no level above", page.level),
        };
        if !tx.settle(page.id, "failed", None, &reason, now).await? {
            return Ok(());
        }
        round.settled.push("nobody_on_call");
        let (Some(up), Some(alarm), Some(raised)) = (above, page.alarm.clone(), page.raised_at)
        else {
            return Ok(());
        };
        let next = NewPage {
            key: key(&alarm, raised, &up, 0),
            kind: "alarm",
            alarm: Some(alarm),
            raised_at: Some(raised),
            priority: page.priority.clone(),
            level: up.clone(),
            seq: 0,
            person: None,
            due: now,
            body: page.body.clone(),
        };
        if tx.plan(&next, now).await? {
            round.escalations.push(up);
        }
        Ok(())
    }

    /// Whether flood control holds the page back, and as what (`summarised`, `held`).
    fn flood_holds(
        &mut self,
        page: &PageRecord,
        person: &str,
        prio: Priority,
        now: DateTime<Utc>,
    ) -> Option<(&'static str, String)> {
        let alarm = page.alarm.as_deref().unwrap_or_default();
        let emergency = prio == Priority::Emergency;
        match self
            .flood
            .decide(self.paging.flood, person, alarm, emergency, now)
        {
            FloodDecision::Send => None,
            FloodDecision::Summarise => Some((
                "summarised",
                "in the person's summary for this interval".to_owned(),
            )),
            FloodDecision::RateLimited => Some((
                "held",
                format!(
                    "rate limit: {} pages to {person} in the last hour",
                    self.paging.flood.per_hour
                ),
            )),
        }
    }
}

fn kind(t: &Transition) -> &'static str {
    match t {
        Transition::Shelved { .. } => "shelved",
        Transition::Suppressed => "suppressed",
        _ => "taken out of service",
    }
}

/// One attempt at one channel, in its own task.
struct Delivery {
    paging: Arc<Paging>,
    channels: Arc<Channels>,
    store: Store,
    metrics: PagingMetrics,
    clock: Arc<dyn Clock>,
    /// Where the outcome goes: the task records it in its next round.
    done: mpsc::UnboundedSender<Done>,
    page: PageRecord,
    contact: Contact,
    name: String,
    /// Attempts on this channel, this one included.
    channel_attempts: i64,
    /// Channels after this one.
    attempts_left: usize,
}

impl Delivery {
    async fn run(self) {
        let sent_at = self.clock.now();
        let link = self.paging.links.link(self.page.id, sent_at);
        let text = text::with_link(&self.page.body, &link);
        let message = Message {
            page: self.page.id,
            name: &self.name,
            text: &text,
            link: &link,
        };
        let result = self.channels.send(&self.contact, &message, sent_at).await;
        let now = self.clock.now();
        let outcome = match result {
            Ok(()) => Outcome::Delivered,
            Err(e) => self.after_failure(e, now),
        };
        let label = match &outcome {
            Outcome::Delivered => "delivered",
            Outcome::Retry { .. } => "retry",
            Outcome::Failed(_) => "failed",
        };
        self.metrics.page(self.contact.channel(), label);
        let done = Done {
            id: self.page.id,
            outcome,
            at: now,
        };
        // The task has stopped: record it here.
        if let Err(mpsc::error::SendError(done)) = self.done.send(done) {
            self.record(&done).await;
        }
    }

    async fn record(&self, done: &Done) {
        let mut wait = StdDuration::from_millis(100);
        for _ in 0..20 {
            match self
                .store
                .page_outcome(done.id, &done.outcome, done.at)
                .await
            {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, page = self.page.id, "cannot record a page's outcome; retrying")
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(StdDuration::from_secs(5));
        }
    }

    /// Back off and try the same channel while attempts are left and the error is not
    /// permanent; then the person's next channel; then give up.
    fn after_failure(&self, e: SendError, now: DateTime<Utc>) -> Outcome {
        let index = self.page.channel_index;
        let reason = format!("{}: {}", self.contact.channel(), e.reason);
        let attempts = i64::from(self.paging.attempts);
        if !e.permanent && self.channel_attempts < attempts {
            let factor = 1_i32 << (self.channel_attempts - 1).clamp(0, 10);
            return Outcome::Retry {
                due: now + self.paging.backoff * factor,
                index,
                channel_attempts: self.channel_attempts,
                reason,
            };
        }
        if self.attempts_left > 0 {
            return Outcome::Retry {
                due: now,
                index: index + 1,
                channel_attempts: 0,
                reason: format!("{reason}; next channel"),
            };
        }
        Outcome::Failed(reason)
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("page", &self.page.id)
            .finish_non_exhaustive()
    }
}
