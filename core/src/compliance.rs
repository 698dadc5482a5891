//! The compliance register (rules.md §13.24, §13.15, §7.7): lifts, fire systems, pressure
//! vessels, water-tank cleaning, lightning protection and the annual fire drill, each with
//! its last inspection, next due date, certificate and contractor. An item is due soon
//! within [`DUE_SOON_DAYS`] of its date and overdue the day after it; recording an
//! inspection moves the date on by the item's interval. Dates are site-local days.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Days ahead of its date an item shows on the duty board (the 30 days).
pub const DUE_SOON_DAYS: i64 = 30;

/// What an item is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceKind {
    /// Lift statutory inspection (电梯年检).
    Lift,
    /// Fire-system inspection (消防设施检测).
    FireSystem,
    /// Pressure vessel inspection (压力容器检验).
    PressureVessel,
    /// Water-tank cleaning (水箱清洗).
    WaterTank,
    /// Lightning-protection test (防雷检测).
    LightningProtection,
    /// The annual fire drill (消防演习, §13.15).
    FireDrill,
}

impl ComplianceKind {
    /// Every kind, in a stable order (one alarm rule each).
    pub const ALL: [ComplianceKind; 6] = [
        ComplianceKind::Lift,
        ComplianceKind::FireSystem,
        ComplianceKind::PressureVessel,
        ComplianceKind::WaterTank,
        ComplianceKind::LightningProtection,
        ComplianceKind::FireDrill,
    ];

    /// The name in files and alarm ids.
    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceKind::Lift => "lift",
            ComplianceKind::FireSystem => "fire_system",
            ComplianceKind::PressureVessel => "pressure_vessel",
            ComplianceKind::WaterTank => "water_tank",
            ComplianceKind::LightningProtection => "lightning_protection",
            ComplianceKind::FireDrill => "fire_drill",
        }
    }

    /// The kind in words, (English, Chinese), for alarm messages.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            ComplianceKind::Lift => ("lift inspection", "电梯年检"),
            ComplianceKind::FireSystem => ("fire-system inspection", "消防设施检测"),
            ComplianceKind::PressureVessel => ("pressure-vessel inspection", "压力容器检验"),
            ComplianceKind::WaterTank => ("water-tank cleaning", "水箱清洗"),
            ComplianceKind::LightningProtection => ("lightning-protection test", "防雷检测"),
            ComplianceKind::FireDrill => ("annual fire drill", "年度消防演习"),
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One register line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComplianceItem {
    /// Stable id (the plant tag, e.g. `lift-A1`).
    pub id: String,
    /// What it is.
    pub kind: ComplianceKind,
    /// Plain name.
    pub name: String,
    /// Last inspection done, site-local day.
    pub last_inspected: Option<NaiveDate>,
    /// Days between inspections.
    pub interval_days: u32,
    /// Next inspection due, site-local day.
    pub next_due: NaiveDate,
    /// The certificate file (upload API id).
    pub certificate: Option<i64>,
    /// Responsible contractor.
    pub contractor: String,
}

/// Where an item stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceState {
    /// Not due within [`DUE_SOON_DAYS`].
    Ok,
    /// Due within [`DUE_SOON_DAYS`] (on the duty board).
    DueSoon,
    /// Past its date (an alarm).
    Overdue,
}

impl ComplianceItem {
    /// Where the item stands on `today`.
    pub fn state(&self, today: NaiveDate) -> ComplianceState {
        if today > self.next_due {
            ComplianceState::Overdue
        } else if self.next_due - today <= Duration::days(DUE_SOON_DAYS) {
            ComplianceState::DueSoon
        } else {
            ComplianceState::Ok
        }
    }

    /// An inspection done on `on`: the next is due one interval later; a new certificate
    /// replaces the old.
    pub fn done(&mut self, on: NaiveDate, certificate: Option<i64>) {
        self.last_inspected = Some(on);
        self.next_due = on + Duration::days(i64::from(self.interval_days));
        if certificate.is_some() {
            self.certificate = certificate;
        }
    }
}

/// Why a register step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComplianceError {
    /// No item with this id.
    #[error("compliance item {0}")]
    UnknownItem(String),
    /// An inspection dated after today.
    #[error("an inspection cannot be done in the future ({0})")]
    Future(NaiveDate),
}

/// The site-local day holding `now`.
pub fn site_day(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// Per kind, whether any item of it is overdue on `today` (every kind listed).
pub fn overdue_by_kind(
    items: &[ComplianceItem],
    today: NaiveDate,
) -> BTreeMap<ComplianceKind, bool> {
    let mut out: BTreeMap<ComplianceKind, bool> = ComplianceKind::ALL
        .into_iter()
        .map(|k| (k, false))
        .collect();
    for item in items {
        if item.state(today) == ComplianceState::Overdue {
            out.insert(item.kind, true);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::clock::{Clock, ManualClock};

    fn lift(next_due: NaiveDate) -> ComplianceItem {
        ComplianceItem {
            id: "lift-A1".into(),
            kind: ComplianceKind::Lift,
            name: "Lift A1".into(),
            last_inspected: None,
            interval_days: 365,
            next_due,
            certificate: None,
            contractor: "Otis".into(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn an_item_is_due_soon_within_thirty_days_and_overdue_the_day_after_its_date() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // 2026-05-01 00:30 in Shanghai is still 30 April in UTC.
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 4, 30, 16, 30, 0).unwrap());
        let item = lift(day(2026, 6, 1));
        assert_eq!(site_day(clock.now(), tz), day(2026, 5, 1));
        assert_eq!(item.state(site_day(clock.now(), tz)), ComplianceState::Ok);
        clock.advance(Duration::days(1));
        assert_eq!(
            item.state(site_day(clock.now(), tz)),
            ComplianceState::DueSoon
        );
        clock.set(Utc.with_ymd_and_hms(2026, 6, 1, 15, 59, 0).unwrap());
        assert_eq!(
            item.state(site_day(clock.now(), tz)),
            ComplianceState::DueSoon
        );
        clock.advance(Duration::minutes(1));
        assert_eq!(
            item.state(site_day(clock.now(), tz)),
            ComplianceState::Overdue
        );
        let by_kind = overdue_by_kind(&[item], site_day(clock.now(), tz));
        assert!(by_kind[&ComplianceKind::Lift]);
        assert!(!by_kind[&ComplianceKind::FireDrill]);
    }

    #[test]
    fn an_inspection_done_moves_the_due_date_by_the_interval() {
        let mut item = lift(day(2026, 6, 1));
        item.certificate = Some(3);
        item.done(day(2026, 6, 10), None);
        assert_eq!(item.last_inspected, Some(day(2026, 6, 10)));
        assert_eq!(item.next_due, day(2027, 6, 10));
        assert_eq!(item.certificate, Some(3));
        assert_eq!(item.state(day(2026, 6, 11)), ComplianceState::Ok);
        item.done(day(2027, 6, 1), Some(9));
        assert_eq!(item.certificate, Some(9));
    }
}
