//! Building the core's books at start: from the config, with the state each had when the
//! daemon last stopped, and with scans an older version stored but never judged judged now.

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sitewatch_core::alarms::{AlarmEngine, AlarmRule};
use sitewatch_core::compliance::ComplianceKind;
use sitewatch_core::incidents::{HandoverBook, IncidentBook, RequestBook};
use sitewatch_core::inspections::{VacantBook, VacantState};
use sitewatch_core::maintenance::MaintenanceBook;
use sitewatch_core::patrol::{PatrolBook, PatrolState};
use sitewatch_core::points::PointsHub;

use crate::config::Config;
use crate::devices;
use crate::engine::{
    AlarmSnapshot, Books, Compliance, EstateBook, FireTests, MeterReading, MonthKpis,
};
use crate::estate::Estate;
use crate::store::Store;

/// The books as they stood when the daemon last stopped.
pub(super) async fn load(
    config: &Config,
    store: &Store,
    estate: &Arc<Estate>,
    now: DateTime<Utc>,
) -> anyhow::Result<Books> {
    let (mut device_specs, mut point_specs) = devices::specs(&config.devices);
    if let Some((device, point)) = devices::mqtt::broker::specs(config) {
        device_specs.push(device);
        point_specs.push(point);
    }
    let mut rules = config.alarm_rules.clone();
    rules.extend(oncall_rules(config));
    rules.extend(central_rules(config));
    rules.extend(ComplianceKind::ALL.map(AlarmRule::compliance_overdue));
    rules.push(AlarmRule::keys_overdue());
    let mut alarm_categories = config.alarm_categories.clone();
    for rule in config.patrol.missed_rules() {
        alarm_categories.insert(rule.id.clone(), config.patrol.missed_category.clone());
        rules.push(rule);
    }
    let mut alarms =
        AlarmEngine::new(rules, config.alarms.clone()).context("Failed to build alarm rules")?;
    // The register meters' rules before the alarms are restored: theirs are among them.
    let mut estate = EstateBook::new(estate.clone());
    estate.sync(&mut alarms);
    if let Some(snap) = restore::<AlarmSnapshot>(store, "alarms").await? {
        alarms.restore_suppressions(snap.suppressions);
        alarms.restore(snap.alarms);
    }
    let mut incidents = IncidentBook::new(config.incidents.clone())
        .map_err(|e| anyhow::anyhow!("incidents: {e:?}"))?;
    incidents.restore(snapshots(store, "incident:").await?);
    let patrol = match restore::<PatrolState>(store, "patrol").await? {
        Some(state) => PatrolBook::restore(config.patrol.clone(), state),
        None => PatrolBook::new(config.patrol.clone()),
    }
    .map_err(|e| anyhow::anyhow!("patrol: {e}"))?;
    let vacant_state = restore::<VacantState>(store, "vacant")
        .await?
        .unwrap_or_default();
    let mut vacant = VacantBook::new(config.inspections.clone(), vacant_state)
        .map_err(|e| anyhow::anyhow!("inspections: {e}"))?;
    vacant.remember(store.inspection_ids().await?);
    let mut requests = RequestBook::new(config.service.clone(), config.site.tz());
    requests.restore(snapshots(store, "request:").await?);
    let mut handovers = HandoverBook::restore(numbered(store, "handover:").await?);
    handovers.resume_log_after(store.last_duty_entry().await?);
    let mut books = Books {
        hub: PointsHub::new(device_specs, point_specs),
        patrol,
        vacant,
        incidents,
        requests,
        handovers,
        alarms,
        alarm_categories,
        fire_tests: FireTests::new(store.planned_fire_tests(now).await?),
        compliance: Compliance::new(store.compliance_items().await?, config.site.tz()),
        maintenance: restore::<MaintenanceBook>(store, "maintenance")
            .await?
            .unwrap_or_default(),
        tz: config.site.tz(),
        meters: meter_reading(config, store).await,
        estate,
        kpis: MonthKpis::new(config.kpis, config.site.tz()),
    };
    let vacant_units = crate::customers::vacancy::vacant_units(store).await?;
    // At start the unit register is the truth; the alarm events it causes are not news.
    let _ = crate::engine::set_vacant(&mut books, vacant_units, now);
    judge_pending_scans(&mut books, store, now).await?;
    Ok(books)
}

/// The meter reading at the cut-off, knowing the periods already taken.
async fn meter_reading(config: &Config, store: &Store) -> MeterReading {
    let tz = config.site.tz();
    // As before the reading moved into the engine: an unreadable list is taken as empty
    // (a period stored already keeps its first rows).
    let taken = store.snapshot_periods().await.unwrap_or_default();
    let units = (config.devices.iter())
        .filter_map(|d| Some((d.config.id.to_string(), d.config.unit.clone()?)))
        .collect();
    // The last cut-off's unit meters with no reading stay in `/metrics` over a restart.
    let unread = match taken.last() {
        Some(period) => (store.snapshots(period).await.unwrap_or_default().iter())
            .filter(|r| r.no_reading)
            .count(),
        None => 0,
    };
    MeterReading::new(config.billing.clone(), tz, taken, units).with_unread(unread)
}

async fn restore<T: DeserializeOwned>(store: &Store, name: &str) -> anyhow::Result<Option<T>> {
    let Some(body) = store.state(name).await? else {
        return Ok(None);
    };
    match serde_json::from_str(&body) {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            // A snapshot from an older build must not stop the site; say so and start fresh.
            tracing::error!(book = name, error = %e, "stored state unreadable; starting this book empty");
            Ok(None)
        }
    }
}

/// The books kept one record a row (`incident:12`, `request:40`): every readable one.
async fn snapshots<T: DeserializeOwned>(store: &Store, prefix: &str) -> anyhow::Result<Vec<T>> {
    Ok(numbered(store, prefix)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect())
}

/// As [`snapshots`], each with the number its row is named by.
async fn numbered<T: DeserializeOwned>(
    store: &Store,
    prefix: &str,
) -> anyhow::Result<Vec<(i64, T)>> {
    let rows = store.states_with_prefix(prefix).await?;
    Ok(rows
        .iter()
        .filter_map(|(name, body)| {
            let id = name.strip_prefix(prefix)?.parse().ok()?;
            match serde_json::from_str(body) {
                Ok(v) => Some((id, v)),
                Err(e) => {
                    tracing::error!(record = %name, error = %e, "stored record unreadable; skipped");
                    None
                }
            }
        })
        .collect())
}

async fn judge_pending_scans(
    books: &mut Books,
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for scan in store.pending_scans().await? {
        let outcome = books.patrol.scan(scan, now);
        store.set_scan_result(&outcome.record).await?;
    }
    Ok(())
}

/// With `[central]`: the alarm raised while the forward buffer is 80 % full.
fn central_rules(config: &Config) -> Vec<AlarmRule> {
    config
        .central
        .iter()
        .map(|_| AlarmRule::forward_buffer())
        .collect()
}

/// With `[paging]`: per escalation level, the alarm raised while nobody is on call there
/// (the rota's gap, at run time), fed by the paging task.
fn oncall_rules(config: &Config) -> Vec<AlarmRule> {
    if config.oncall.paging.is_none() {
        return Vec::new();
    }
    crate::config::paging::levels(&config.alarms)
        .iter()
        .map(|l| AlarmRule::nobody_on_call(l))
        .collect()
}
