//! The duty desk's clockwork: once a minute the KPI gauges of the current month are
//! refreshed from the engine's request book (§13.17). (Planned fire-system tests are put
//! in place by the engine's tick, `engine::due`.)

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sitewatch_core::clock::Clock;
use sitewatch_core::incidents::{Kpi, KpiTargets};
use tokio_util::sync::CancellationToken;

use crate::engine::EngineHandle;
use crate::engine::ServiceMetrics;

/// How often the task looks at the clock.
const POLL: Duration = Duration::from_secs(1);
/// Business time between two KPI refreshes.
const KPI_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// What the task works with.
#[derive(Debug, Clone)]
pub struct DutyTask {
    /// The engine, whose request book the KPIs count.
    pub engine: EngineHandle,
    /// The gauges.
    pub metrics: ServiceMetrics,
    /// The engine's clock.
    pub clock: Arc<dyn Clock>,
    /// `[kpis]`.
    pub targets: KpiTargets,
    /// The site's time zone (months start at local midnight).
    pub tz: Tz,
}

/// Runs until `cancel`.
pub async fn run(task: DutyTask, cancel: CancellationToken) {
    let mut last_kpis: Option<DateTime<Utc>> = None;
    let mut poll = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = poll.tick() => {}
        }
        let now = task.clock.now();
        if last_kpis.is_some_and(|l| (now - l).abs() < KPI_EVERY) {
            continue;
        }
        last_kpis = Some(now);
        if let Some(kpis) = month_kpis(&task.engine, &task.targets, task.tz, now).await {
            task.metrics.set_kpis(&kpis);
        }
    }
}

/// The KPIs of the month holding `now` (site time); `None` when the engine has stopped.
pub async fn month_kpis(
    engine: &EngineHandle,
    targets: &KpiTargets,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<Vec<Kpi>> {
    let local = now.with_timezone(&tz);
    let period = format!("{:04}-{:02}", local.year(), local.month());
    let (from, to) = month(&period, tz).unwrap_or((now, now));
    kpis(engine, targets, from, to).await
}

/// The KPIs of `[from, to)`, over the engine's request book; `None` when the engine has
/// stopped.
pub async fn kpis(
    engine: &EngineHandle,
    targets: &KpiTargets,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<Vec<Kpi>> {
    engine.kpis(from, to, *targets).await
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
