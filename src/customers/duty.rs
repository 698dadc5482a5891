//! The duty desk's clockwork: planned fire-system tests are put in place when their window
//! begins (the fire panel's alarms suppressed until the window ends, rules.md §13.15), and
//! once a minute the KPI gauges of the current month are refreshed (§13.17).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sitewatch_core::alarms::{AlarmCommand, SuppressScope};
use sitewatch_core::clock::Clock;
use sitewatch_core::incidents::{Kpi, KpiTargets, service_kpis};
use tokio_util::sync::CancellationToken;

use super::ServiceMetrics;
use crate::engine::{EngineHandle, Output};
use crate::store::{FireTest, Store, StoreError};

/// How often the task looks at the clock.
const POLL: Duration = Duration::from_secs(1);
/// Business time between two KPI refreshes.
const KPI_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// What the task works with.
#[derive(Debug, Clone)]
pub struct DutyTask {
    /// The database.
    pub store: Store,
    /// The gauges.
    pub metrics: ServiceMetrics,
    /// The engine, for suppressions.
    pub engine: EngineHandle,
    /// The engine's clock.
    pub clock: Arc<dyn Clock>,
    /// `[kpis]`.
    pub targets: KpiTargets,
    /// The site's time zone (months start at local midnight).
    pub tz: Tz,
}

/// Runs until `cancel`. (A manual clock moved into a test window acts within a second.)
pub async fn run(task: DutyTask, cancel: CancellationToken) {
    let mut last_kpis: Option<DateTime<Utc>> = None;
    let mut poll = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = poll.tick() => {}
        }
        let now = task.clock.now();
        if let Err(e) = start_fire_tests(&task, now).await {
            tracing::warn!(error = %e, "fire-system tests not put in place; trying again");
        }
        if last_kpis.is_some_and(|l| (now - l).abs() < KPI_EVERY) {
            continue;
        }
        last_kpis = Some(now);
        match month_kpis(&task.store, &task.targets, task.tz, now).await {
            Ok(kpis) => task.metrics.set_kpis(&kpis),
            Err(e) => tracing::warn!(error = %e, "KPI refresh failed; trying again next minute"),
        }
    }
}

/// The KPIs of the month holding `now` (site time).
pub async fn month_kpis(
    store: &Store,
    targets: &KpiTargets,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Vec<Kpi>, StoreError> {
    let local = now.with_timezone(&tz);
    let period = format!("{:04}-{:02}", local.year(), local.month());
    let (from, to) = month(&period, tz).unwrap_or((now, now));
    kpis(store, targets, from, to).await
}

/// The KPIs of `[from, to)`.
pub async fn kpis(
    store: &Store,
    targets: &KpiTargets,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Kpi>, StoreError> {
    let requests: Vec<_> = store
        .requests(None, None)
        .await?
        .into_iter()
        .map(|s| s.request)
        .collect();
    Ok(service_kpis(&requests, from, to, targets))
}

/// The month `YYYY-MM` in site time as `[first midnight, next first midnight)`.
pub fn month(period: &str, tz: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if period.len() != 7 {
        return None;
    }
    let first = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let midnight = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    Some((midnight(first)?, midnight(next)?))
}

/// Puts every fire test whose window has begun in place: each panel suppressed until the
/// window ends (the engine lifts it by itself then).
async fn start_fire_tests(task: &DutyTask, now: DateTime<Utc>) -> Result<(), StoreError> {
    for test in task.store.due_fire_tests(now).await? {
        if suppress(&task.engine, &test).await {
            task.store.mark_fire_test_applied(test.id, now).await?;
            tracing::info!(test = test.id, devices = ?test.devices, until = %test.ends_at, "fire-system test window begins; panel alarms suppressed");
        }
    }
    Ok(())
}

/// Suppresses each device of `test` through the alarm engine's own command; false when
/// the engine has stopped or refused.
async fn suppress(engine: &EngineHandle, test: &FireTest) -> bool {
    let mut ok = true;
    for device in &test.devices {
        let cmd = AlarmCommand::Suppress {
            scope: SuppressScope::Device(device.clone()),
            reason: format!("fire-system test, notice {} (消防系统测试)", test.notice),
            actor: test.created_by.clone(),
            until: Some(test.ends_at),
        };
        let done = engine
            .act(move |b, now| match b.alarms.command(cmd, now) {
                Ok(events) => {
                    let out = events.into_iter().map(|e| Output::Alarm(Box::new(e)));
                    (true, out.collect())
                }
                Err(e) => {
                    tracing::warn!(error = %e, "fire-test suppression refused");
                    (false, Vec::new())
                }
            })
            .await;
        ok &= done == Some(true);
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_from_local_midnight_to_the_next_months() {
        let (from, to) = month("2026-11", chrono_tz::Asia::Shanghai).expect("month");
        assert_eq!(from.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        let (_, to) = month("2026-12", chrono_tz::Asia::Shanghai).expect("month");
        assert_eq!(to.to_rfc3339(), "2026-12-31T16:00:00+00:00");
        assert!(month("2026-13", chrono_tz::Asia::Shanghai).is_none());
        assert!(month("2026-1", chrono_tz::Asia::Shanghai).is_none());
    }
}
