//! The sender task: takes due messages from the store one at a time, marks each `sent`
//! before calling its transport and `delivered` (or queued again, or failed) after, so a
//! message accepted once is never picked again; a stop between the two leaves it `sent`,
//! and the next start queues it again (at least once, same idempotency key).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sitewatch_core::clock::Clock;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::NotifyMetrics;
use super::transport::{SendError, Transports};
use crate::config::{NotifyConfig, RetryConfig};
use crate::register::messages::Outgoing;
use crate::register::plan::Status;
use crate::store::Store;

/// How often the store is asked for due messages when nobody rang.
const POLL: Duration = Duration::from_millis(200);
/// Messages taken per round.
const BATCH: i64 = 32;

/// The sender task.
#[derive(Debug)]
pub struct Sender {
    transports: Transports,
    retry: RetryConfig,
    store: Store,
    metrics: NotifyMetrics,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
}

impl Sender {
    /// A sender for `[notify]`.
    pub fn new(
        config: &NotifyConfig,
        store: Store,
        metrics: NotifyMetrics,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        Ok(Sender {
            transports: Transports::new(config)?,
            retry: config.retry.clone(),
            store,
            metrics,
            clock,
            wake,
        })
    }

    /// Sends until `cancel`; a message in hand is left `sent`, queued again at the next start.
    pub async fn run(self, cancel: CancellationToken) {
        match self.store.requeue_in_flight(self.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                messages = n,
                "notice messages left in flight by the last stop are queued again"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot requeue notice messages left in flight"),
        }
        let mut tick = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = tick.tick() => {}
                () = self.wake.notified() => {}
            }
            self.round(&cancel).await;
        }
    }

    async fn round(&self, cancel: &CancellationToken) {
        let due = match self.store.due_messages(self.clock.now(), BATCH).await {
            Ok(due) => due,
            Err(e) => return tracing::warn!(error = %e, "notice messages unreadable; will retry"),
        };
        for m in due {
            if cancel.is_cancelled() {
                break;
            }
            if let Err(e) = self.deliver(&m, cancel).await {
                tracing::warn!(error = %e, message = m.id, "cannot record a notice message; will retry");
            }
        }
        if let Ok(waiting) = self.store.message_queue().await {
            self.metrics.queue(&waiting);
        }
    }

    async fn deliver(
        &self,
        m: &Outgoing,
        cancel: &CancellationToken,
    ) -> Result<(), crate::store::StoreError> {
        self.store.mark_message_sent(m.id, self.clock.now()).await?;
        // A slow server must not hold up shutdown: the message stays `sent` and the next
        // start queues it again.
        let result = tokio::select! {
            r = self.transports.send(m) => r,
            () = cancel.cancelled() => return Ok(()),
        };
        let notify = &self.metrics;
        notify.attempt(m.channel, result.is_ok());
        let now = self.clock.now();
        match result {
            Ok(()) => {
                self.record(m.id, cancel, || {
                    self.store.mark_message_delivered(m.id, now)
                })
                .await;
                notify.message(m.channel, Status::Delivered);
            }
            Err(e) => {
                let retry_at = self.retry_at(m, &e, now);
                self.record(m.id, cancel, || {
                    self.store
                        .mark_message_failed(m.id, &e.reason, retry_at, now)
                })
                .await;
                if retry_at.is_none() {
                    notify.message(m.channel, Status::Failed);
                }
                tracing::info!(message = m.id, reason = %e.reason, retry = ?retry_at, "notice message not accepted");
            }
        }
        Ok(())
    }

    /// The outcome must be recorded: a delivery not recorded would be sent again, a
    /// failure not recorded would sit `sent` until the next start. Keep trying (a stop in
    /// between leaves it `sent`, queued again at the next start).
    /// Writes an outcome, retrying while the database is away; a stop gives up (the
    /// message stays `sent` and is queued again at the next start, same idempotency key).
    async fn record<F, Fut>(&self, id: i64, cancel: &CancellationToken, write: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), crate::store::StoreError>>,
    {
        let mut wait = Duration::from_millis(100);
        while let Err(e) = write().await {
            tracing::warn!(error = %e, message = id, "cannot record a notice message's outcome; retrying");
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    /// When to try again, or `None` to give up.
    fn retry_at(&self, m: &Outgoing, e: &SendError, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let attempts = u32::try_from(m.attempts + 1).unwrap_or(u32::MAX);
        if e.permanent || attempts >= self.retry.attempts {
            return None;
        }
        let delay = chrono::Duration::from_std(self.retry.delay(attempts)).ok()?;
        Some(now + delay)
    }
}
