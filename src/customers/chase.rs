//! The periodic deadline check on service requests: once a minute of business time it
//! ticks every open request (a deadline past due breaches once and issues a chaser, 催办),
//! saves those that changed, and refreshes the service gauges.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sitewatch_core::clock::Clock;
use sitewatch_core::incidents::{RequestKind, RequestState, ServiceRequest};
use tokio_util::sync::CancellationToken;

use super::ServiceMetrics;
use crate::store::{Store, StoreError, kind_name};

/// How often the task looks at the clock.
const POLL: Duration = Duration::from_secs(1);
/// Business time between two checks.
const EVERY: chrono::Duration = chrono::Duration::seconds(60);
/// Window of the follow-up rate.
const RATE_WINDOW: chrono::Duration = chrono::Duration::days(30);

/// Runs until `cancel`: a check whenever a minute of the clock's time has passed. (A
/// manual clock moved ahead in tests triggers a check within a second.)
pub async fn run(
    store: Store,
    metrics: ServiceMetrics,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
) {
    let mut last: Option<DateTime<Utc>> = None;
    let mut poll = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = poll.tick() => {}
        }
        let now = clock.now();
        if last.is_some_and(|l| now - l < EVERY) {
            continue;
        }
        last = Some(now);
        if let Err(e) = check(&store, &metrics, now).await {
            tracing::warn!(error = %e, "service deadline check failed; trying again next minute");
        }
    }
}

/// Ticks every open request at `now`, stores chasers, and refreshes the gauges.
pub async fn check(
    store: &Store,
    metrics: &ServiceMetrics,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut overdue: Vec<(&str, i64)> = Vec::new();
    for mut stored in store.open_requests().await? {
        let kind = kind_name(stored.request.kind);
        let events = stored.request.tick(now);
        if !events.is_empty() {
            let chasers = events
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind,
                        sitewatch_core::incidents::RequestEventKind::ChaserIssued { .. }
                    )
                })
                .count();
            // A desk saving the same request meanwhile wins; the next check ticks again.
            if store
                .save_request(&stored.request, stored.version, now)
                .await?
            {
                metrics.chasers(kind, chasers);
            }
        }
        if stored.request.is_overdue(now) {
            overdue.push((kind, 1));
        }
    }
    metrics.set_requests(&store.request_counts().await?, &overdue);
    let recent = store.requests_updated_since(now - RATE_WINDOW).await?;
    let (followed, completed) = followup_rate(&recent, now);
    metrics.set_followup_rate(followed, completed);
    Ok(())
}

/// (followed up, completed) among repairs and complaints completed in the window.
fn followup_rate(requests: &[ServiceRequest], now: DateTime<Utc>) -> (usize, usize) {
    let completed: Vec<&ServiceRequest> = requests
        .iter()
        .filter(|r| !matches!(r.kind, RequestKind::Suggestion))
        .filter(|r| {
            r.completion
                .as_ref()
                .is_some_and(|c| now - c.at <= RATE_WINDOW)
        })
        .collect();
    let followed = completed.iter().filter(|r| r.follow_up.is_some()).count();
    (followed, completed.len())
}

/// Whether a request waits for its follow-up call.
pub fn awaits_follow_up(r: &ServiceRequest) -> bool {
    r.state == RequestState::Completed && !matches!(r.kind, RequestKind::Suggestion)
}
