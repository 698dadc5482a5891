//! Periodic work that is not a core book's own clock: each `run_due(now)` is called by the
//! engine's tick, decides against the books, and hands what must be kept to the store as
//! records (the engine never waits on I/O). Planned fire-system tests are put in place
//! when their window begins (rules.md §13.15); the meters are read at the billing cut-off
//! (§13.10); overdue compliance items raise their alarms (§13.24); the month's KPI gauges are counted once a minute of business time (§13.17).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sitewatch_core::alarms::{AlarmCommand, AlarmEngine, AlarmEvent, SuppressScope};
use sitewatch_core::compliance::{
    ComplianceError, ComplianceItem, ComplianceState, overdue_by_kind, site_day,
};
use sitewatch_core::incidents::{Kpi, KpiTargets, RequestBook, service_kpis};
use sitewatch_core::points::{PointState, PointsHub};

use crate::billing::{Snapshot, due_period, is_meter};
use crate::config::BillingConfig;
use crate::estate::{Estate, MeterState, Register};
use crate::store::{FireTest, Record};

/// Fire-system tests announced by notices and not yet put in place.
#[derive(Debug, Default)]
pub struct FireTests {
    planned: Vec<FireTest>,
}

impl FireTests {
    /// The tests the store holds as planned (at start).
    pub fn new(planned: Vec<FireTest>) -> Self {
        Self { planned }
    }

    /// A test a notice just announced.
    pub fn plan(&mut self, test: FireTest) {
        self.planned.push(test);
    }

    /// Puts every test whose window has begun in place: each panel suppressed through
    /// the alarm engine's own command until the window ends (the engine lifts it by
    /// itself then). A test whose window passed while the daemon was down is dropped.
    pub fn run_due(
        &mut self,
        alarms: &mut AlarmEngine,
        now: DateTime<Utc>,
    ) -> (Vec<AlarmEvent>, Vec<Record>) {
        let (mut events, mut records) = (Vec::new(), Vec::new());
        self.planned.retain(|t| t.ends_at > now);
        let (due, later): (Vec<FireTest>, Vec<FireTest>) = std::mem::take(&mut self.planned)
            .into_iter()
            .partition(|t| t.starts_at <= now);
        self.planned = later;
        for test in due {
            for device in &test.devices {
                match alarms.command(suppression(&test, device), now) {
                    Ok(ev) => events.extend(ev),
                    Err(e) => {
                        tracing::warn!(test = test.id, device, error = %e, "fire-test suppression refused")
                    }
                }
            }
            tracing::info!(test = test.id, devices = ?test.devices, until = %test.ends_at, "fire-system test window begins; panel alarms suppressed");
            records.push(Record::FireTestApplied {
                id: test.id,
                at: now,
            });
        }
        (events, records)
    }
}

fn suppression(test: &FireTest, device: &str) -> AlarmCommand {
    AlarmCommand::Suppress {
        scope: SuppressScope::Device(device.to_owned()),
        reason: format!("fire-system test, notice {} (消防系统测试)", test.notice),
        actor: test.created_by.clone(),
        until: Some(test.ends_at),
    }
}

/// How long after start a due snapshot waits for every meter's first reading, so a
/// snapshot taken late (the daemon was down at the cut-off) holds readings, not blanks.
/// A meter that was asked and did not answer is not waited for: it is listed as unread.
const FIRST_READ_GRACE: Duration = Duration::from_secs(300);

/// The monthly meter reading at the cut-off (抄表).
#[derive(Debug)]
pub struct MeterReading {
    config: BillingConfig,
    tz: Tz,
    /// Periods already taken.
    taken: Vec<String>,
    /// The building unit each device serves, where configured.
    units: BTreeMap<String, String>,
    started: Instant,
    /// Unit meters with no reading in the last snapshot taken, for `/metrics`.
    unread: usize,
}

impl MeterReading {
    /// The reading at `config`'s cut-off in site time `tz`; `taken` periods are not taken
    /// again; `units` names the unit each device serves.
    pub fn new(
        config: BillingConfig,
        tz: Tz,
        taken: Vec<String>,
        units: BTreeMap<String, String>,
    ) -> Self {
        Self {
            config,
            tz,
            taken,
            units,
            started: Instant::now(),
            unread: 0,
        }
    }

    /// Starts with the last snapshot's count of unit meters with no reading (a restart).
    pub fn with_unread(mut self, unread: usize) -> Self {
        self.unread = unread;
        self
    }

    /// Counts the first-read grace from `started` instead of now (a daemon long running).
    pub fn running_since(mut self, started: Instant) -> Self {
        self.started = started;
        self
    }

    /// Unit meters with no reading at the last cut-off.
    pub fn unread(&self) -> usize {
        self.unread
    }

    /// The snapshots of a period whose cut-off has passed, once per period.
    pub fn run_due(&mut self, hub: &PointsHub, now: DateTime<Utc>) -> Option<Record> {
        self.run_due_with(hub, None, now)
    }

    /// As [`MeterReading::run_due`], with the estate's register meters read from its
    /// table beside the hub's meter points.
    pub fn run_due_with(
        &mut self,
        hub: &PointsHub,
        estate: Option<&Estate>,
        now: DateTime<Utc>,
    ) -> Option<Record> {
        let done = |p: &str| self.taken.iter().any(|t| t == p);
        let period = due_period(now, self.tz, self.config.cutoff_day, &done)?;
        let meters: Vec<&PointState> = hub.points().filter(|p| is_meter(&p.unit)).collect();
        let register = estate.map(Estate::register);
        let table = register.as_deref().map(Register::all).unwrap_or_default();
        if self.started.elapsed() < FIRST_READ_GRACE
            && (not_yet_asked(hub, &meters) || table.iter().any(|(_, _, s)| never_asked(s)))
        {
            return None;
        }
        let mut rows: Vec<Snapshot> = meters
            .into_iter()
            .map(|p| Snapshot {
                period: period.clone(),
                no_reading: Snapshot::unit_meter_unread(
                    self.units.get(&*p.device).map(String::as_str),
                    p.value,
                ),
                unit: self.units.get(&*p.device).cloned(),
                device: p.device.to_string(),
                point: p.id.to_string(),
                value: p.value,
                measure: p.unit.to_string(),
                quality: p.quality.as_str().to_owned(),
                read_at: p.updated_at,
                taken_at: now,
            })
            .collect();
        rows.extend(table.into_iter().map(|(_, m, s)| Snapshot {
            period: period.clone(),
            no_reading: s.value.is_none(),
            unit: Some(m.unit.to_string()),
            device: m.id.to_string(),
            point: m.point(),
            value: s.value,
            measure: m.measure().to_owned(),
            quality: s.quality().as_str().to_owned(),
            read_at: s.read_at,
            taken_at: now,
        }));
        tracing::info!(period, meters = rows.len(), "meter snapshot taken");
        let unread: Vec<&str> = (rows.iter())
            .filter(|r| r.no_reading)
            .filter_map(|r| r.unit.as_deref())
            .collect();
        if !unread.is_empty() {
            tracing::warn!(
                period,
                unread = unread.len(),
                first = ?&unread[..unread.len().min(20)],
                "unit meters with no reading at the cut-off"
            );
        }
        self.unread = unread.len();
        self.taken.push(period);
        Some(Record::MeterSnapshots(rows))
    }
}

/// A register meter neither read nor failed yet: its gateway's first sweep has not
/// reached it.
fn never_asked(s: &MeterState) -> bool {
    s.value.is_none() && s.misses == 0
}

/// Whether a meter has neither a reading nor a failed poll: its first sweep has not
/// reached it yet, so a snapshot now would list it unread for no reason.
fn not_yet_asked(hub: &PointsHub, meters: &[&PointState]) -> bool {
    let unread = meters.iter().filter(|p| p.value.is_none());
    let mut unread = unread.peekable();
    if unread.peek().is_none() {
        return false;
    }
    let failed: std::collections::HashSet<&str> = (hub.devices())
        .filter(|d| d.misses > 0 || !d.up)
        .map(|d| d.id.as_str())
        .collect();
    unread.any(|p| !failed.contains(&*p.device))
}

/// Business time between two counts of the month's KPIs.
const KPI_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// The KPIs of the current month for the gauges, counted over the request book.
#[derive(Debug)]
pub struct MonthKpis {
    targets: KpiTargets,
    tz: Tz,
    last: Option<DateTime<Utc>>,
}

impl MonthKpis {
    /// Counted against `targets`; months start at local midnight in `tz`.
    pub fn new(targets: KpiTargets, tz: Tz) -> Self {
        Self {
            targets,
            tz,
            last: None,
        }
    }

    /// The KPIs of the month holding `now`, at most once a minute of business time (a
    /// clock set back counts as a minute passed too).
    pub fn run_due(&mut self, requests: &RequestBook, now: DateTime<Utc>) -> Option<Vec<Kpi>> {
        if self.last.is_some_and(|l| (now - l).abs() < KPI_EVERY) {
            return None;
        }
        self.last = Some(now);
        let period = now.with_timezone(&self.tz).format("%Y-%m").to_string();
        let (from, to) = month(&period, self.tz).unwrap_or((now, now));
        Some(service_kpis(requests.all(), from, to, &self.targets))
    }
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

/// The compliance register's book (rules.md §13.24, §13.15): items put and inspections
/// recorded are decided here and kept by the store writer with their journal entry
/// (`Record::ComplianceItems`, `Record::ComplianceDone`); read back from the store's
/// tables at start. Its tick raises or clears one `compliance_overdue` alarm per kind.
#[derive(Debug)]
pub struct Compliance {
    items: BTreeMap<String, ComplianceItem>,
    tz: Tz,
}

impl Compliance {
    /// The stored register, judged in site time `tz`.
    pub fn new(items: Vec<ComplianceItem>, tz: Tz) -> Self {
        let mut c = Self {
            items: BTreeMap::new(),
            tz,
        };
        c.put(items);
        c
    }

    /// Items added or changed.
    pub fn put(&mut self, items: Vec<ComplianceItem>) {
        for item in items {
            self.items.insert(item.id.clone(), item);
        }
    }

    /// An inspection done on the site-local day `on` (not after today): the item as it
    /// now stands, its next date one interval later.
    pub fn done(
        &mut self,
        id: &str,
        on: NaiveDate,
        certificate: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<ComplianceItem, ComplianceError> {
        if on > site_day(now, self.tz) {
            return Err(ComplianceError::Future(on));
        }
        let item =
            (self.items.get_mut(id)).ok_or_else(|| ComplianceError::UnknownItem(id.to_owned()))?;
        item.done(on, certificate);
        Ok(item.clone())
    }

    /// Every item, by id.
    pub fn items(&self) -> impl Iterator<Item = &ComplianceItem> {
        self.items.values()
    }

    /// How many items stand in `state` at `now` (for `/metrics`).
    pub fn count(&self, state: ComplianceState, now: DateTime<Utc>) -> usize {
        let today = site_day(now, self.tz);
        self.items
            .values()
            .filter(|i| i.state(today) == state)
            .count()
    }

    /// Raises the alarm of each kind with an item overdue today, clears the others (the
    /// alarm engine ignores a condition that did not change).
    pub fn run_due(&self, alarms: &mut AlarmEngine, now: DateTime<Utc>) -> Vec<AlarmEvent> {
        let items: Vec<ComplianceItem> = self.items.values().cloned().collect();
        overdue_by_kind(&items, site_day(now, self.tz))
            .into_iter()
            .flat_map(|(kind, overdue)| alarms.on_compliance(kind.as_str(), overdue, now))
            .collect()
    }
}
