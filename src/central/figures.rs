//! The fleet's figures, per site, from what the sites sent: the latest book snapshots in
//! `central_state` (`alarms`, `incident:{id}`, `request:{id}`) and the patrol journal in
//! `central_records`. Service KPIs are computed here with the site's own function
//! (`service_kpis`) over the requests' snapshots, for the month in the site's time zone,
//! against the default targets (a site's own `[kpis]` targets do not travel).
//!
//! Link state: a site silent (nothing committed from it) for longer than
//! `[fleet] link_down_after` is cut off, an alarm at the centre since the moment the
//! threshold passed. A site named in `[[sites]]` but never heard from counts as silent
//! from the centre's start. Time comes from a clock, so tests move it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitewatch_core::incidents::{
    IncidentState, Kpi, KpiTargets, ServiceRequest, SlaClock, service_kpis,
};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::config::SiteEntry;
use crate::engine::month;

/// One site's row on the fleet page and in `GET /api/v1/fleet`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SiteRow {
    /// The site's id.
    pub site: String,
    /// Its name (`[[sites]] name`, else the id).
    pub name: String,
    /// Its own dashboard, if `[[sites]] url` names it.
    pub url: Option<String>,
    /// Its time zone.
    pub timezone: String,
    /// The time on site now (`YYYY-MM-DD HH:MM`).
    pub site_time: String,
    /// The month the figures cover, in site time (`YYYY-MM`).
    pub month: String,
    /// The link: last record, lag, cut off.
    pub link: Link,
    /// Standing alarms not in normal, by priority.
    pub open_alarms: BTreeMap<String, i64>,
    /// Incidents not closed or cancelled.
    pub incidents_open: i64,
    /// Of those, the ones with a clock past due unmet (breached).
    pub incidents_breached: i64,
    /// Service requests not closed or declined.
    pub requests_open: i64,
    /// Of those, the ones with a clock past due unmet.
    pub requests_overdue: i64,
    /// Patrol rounds closed this month and those on time.
    pub patrol: Share,
    /// The month's service KPIs, as the site's `/api/v1/kpis` computes them (default
    /// targets).
    pub kpis: Vec<Kpi>,
}

/// A site's link to the centre.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    /// When the centre last committed a record of it (ms since the epoch); `None`: never.
    pub last_received_ms: Option<i64>,
    /// The newest record's own time on site.
    pub last_record_ms: Option<i64>,
    /// Seconds since the last record was received (or since the centre started).
    pub silent_s: i64,
    /// How far behind the site the centre was at the last commit: receipt time less the
    /// newest record's time, seconds.
    pub lag_s: i64,
    /// The highest record id committed (the site purges its buffer behind it).
    pub watermark: i64,
    /// Silent longer than `[fleet] link_down_after`: an alarm at the centre.
    pub down: bool,
    /// Since when it is an alarm (ms since the epoch), while it is down.
    pub down_since_ms: Option<i64>,
    /// Records the site still held unsent when it sent its newest (the last known
    /// figure: a site cut off cannot update it); `None` from a site that does not say.
    pub backlog: Option<i64>,
}

/// A count out of a count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Share {
    /// What counts (rounds on time).
    pub count: i64,
    /// Out of how many (rounds closed).
    pub of: i64,
    /// `count / of`; `None` when there was nothing to count.
    pub ratio: Option<f64>,
}

impl Share {
    fn new(count: i64, of: i64) -> Share {
        #[allow(clippy::cast_precision_loss)] // round counts are far below 2^52
        let ratio = (of > 0).then(|| count as f64 / of as f64);
        Share { count, of, ratio }
    }
}

/// A site cut off from the centre, as `GET /api/v1/fleet/alarms` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkAlarm {
    /// The site's id.
    pub site: String,
    /// Its name.
    pub name: String,
    /// Always `link_down`.
    pub kind: &'static str,
    /// Since when it is an alarm: the last record received plus the threshold.
    pub since_ms: i64,
    /// When the last record was received; `None`: never.
    pub last_received_ms: Option<i64>,
}

/// What the centre knows of one site's link, from `central_sites`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Heard {
    /// Last commit time, ms.
    pub received_ms: Option<i64>,
    /// Newest record time, ms.
    pub record_ms: Option<i64>,
    /// Watermark.
    pub watermark: i64,
    /// The site's backlog as its newest record said.
    pub backlog: Option<i64>,
}

/// The link as of `now`: silent since the last receipt (or `started`), down after
/// `threshold`.
pub fn link(heard: Heard, started: DateTime<Utc>, now: DateTime<Utc>, threshold: Duration) -> Link {
    let now_ms = now.timestamp_millis();
    let silent_from = heard.received_ms.unwrap_or(started.timestamp_millis());
    let since = silent_from + i64::try_from(threshold.as_millis()).unwrap_or(i64::MAX / 2);
    let down = now_ms > since;
    Link {
        last_received_ms: heard.received_ms,
        last_record_ms: heard.record_ms,
        silent_s: (now_ms - silent_from).max(0) / 1000,
        lag_s: match (heard.received_ms, heard.record_ms) {
            (Some(r), Some(d)) => (r - d).max(0) / 1000,
            _ => 0,
        },
        watermark: heard.watermark,
        down,
        down_since_ms: down.then_some(since),
        backlog: heard.backlog,
    }
}

/// Whether a clock is past due unmet at `now` (the site marks it breached on its next
/// tick; a site cut off cannot, so the centre reads the deadline itself).
fn overdue(c: &SlaClock, now: DateTime<Utc>) -> bool {
    c.breached || (c.met_at.is_none() && c.due_at < now)
}

/// The parts of an incident's snapshot the fleet counts.
#[derive(Debug, Deserialize)]
struct IncidentBrief {
    state: IncidentState,
    clocks: Vec<SlaClock>,
}

/// One site's counts from its snapshots.
#[derive(Debug, Default)]
struct Books {
    alarms: BTreeMap<String, i64>,
    incidents_open: i64,
    incidents_breached: i64,
    requests: Vec<ServiceRequest>,
    patrol: Share,
}

/// Every site's row as of `now`: the sites heard from and those `[[sites]]` names.
pub async fn rows(
    pool: &PgPool,
    entries: &[SiteEntry],
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    threshold: Duration,
) -> Result<Vec<SiteRow>, sqlx::Error> {
    let heard = heard(pool).await?;
    let mut ids: Vec<String> = heard.keys().cloned().collect();
    ids.extend(entries.iter().map(|e| e.id.clone()));
    ids.sort();
    ids.dedup();
    let sites: Vec<SiteEntry> = ids
        .iter()
        .map(|id| {
            entries
                .iter()
                .find(|e| &e.id == id)
                .cloned()
                .unwrap_or_else(|| SiteEntry::unnamed(id))
        })
        .collect();
    let months: Vec<(DateTime<Utc>, DateTime<Utc>)> =
        sites.iter().map(|s| this_month(s, now)).collect();
    let earliest = months.iter().map(|m| m.0).min().unwrap_or(now);
    let mut books = books(pool, &sites, &months, earliest, now).await?;
    let targets = KpiTargets::default();
    Ok(sites
        .into_iter()
        .zip(months)
        .map(|(entry, (from, to))| {
            let b = books.remove(&entry.id).unwrap_or_default();
            let h = heard.get(&entry.id).copied().unwrap_or_default();
            let local = now.with_timezone(&entry.tz());
            let open: Vec<&ServiceRequest> =
                b.requests.iter().filter(|r| r.state.is_open()).collect();
            SiteRow {
                name: entry.name.clone().unwrap_or_else(|| entry.id.clone()),
                site_time: local.format("%Y-%m-%d %H:%M").to_string(),
                month: local.format("%Y-%m").to_string(),
                link: link(h, started, now, threshold),
                open_alarms: b.alarms,
                incidents_open: b.incidents_open,
                incidents_breached: b.incidents_breached,
                requests_open: open.len() as i64,
                requests_overdue: open
                    .iter()
                    .filter(|r| r.clocks.iter().any(|c| overdue(c, now)))
                    .count() as i64,
                patrol: b.patrol,
                kpis: service_kpis(&b.requests, from, to, &targets),
                site: entry.id,
                url: entry.url,
                timezone: entry.timezone,
            }
        })
        .collect())
}

/// The sites that have sent something, by id.
async fn heard(pool: &PgPool) -> Result<BTreeMap<String, Heard>, sqlx::Error> {
    let rows: Vec<(String, i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "select site_id, last_received_ms, last_record_ms, watermark, backlog from central_sites",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(site, received, record, watermark, backlog)| {
            let heard = Heard {
                received_ms: Some(received),
                record_ms: Some(record),
                watermark,
                backlog,
            };
            (site, heard)
        })
        .collect())
}

/// The current month in the site's time zone.
fn this_month(site: &SiteEntry, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let tz = site.tz();
    let period = now.with_timezone(&tz).format("%Y-%m").to_string();
    month(&period, tz).unwrap_or((now, now))
}

/// Every site's books: alarms by priority, incidents, the requests the month's KPIs and
/// the open counts need, and the month's patrol rounds.
async fn books(
    pool: &PgPool,
    sites: &[SiteEntry],
    months: &[(DateTime<Utc>, DateTime<Utc>)],
    earliest: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, Books>, sqlx::Error> {
    let mut out: BTreeMap<String, Books> = BTreeMap::new();
    let alarms: Vec<(String, String, i64)> = sqlx::query_as(
        "select st.site_id, coalesce(a->>'priority', 'unknown'), count(*) from central_state st, \
         jsonb_array_elements(st.body->'alarms') a \
         where st.name = 'alarms' and a->>'state' <> 'normal' group by 1, 2",
    )
    .fetch_all(pool)
    .await?;
    for (site, priority, n) in alarms {
        out.entry(site).or_default().alarms.insert(priority, n);
    }
    let incidents: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select site_id, body from central_state where name like 'incident:%' \
         and body->>'state' not in ('closed', 'cancelled')",
    )
    .fetch_all(pool)
    .await?;
    for (site, body) in incidents {
        let Ok(i) = serde_json::from_value::<IncidentBrief>(body) else {
            tracing::warn!(site = %site, "an incident snapshot the centre cannot read; not counted");
            continue;
        };
        let b = out.entry(site).or_default();
        if i.state.is_open() {
            b.incidents_open += 1;
            b.incidents_breached += i64::from(i.clocks.iter().any(|c| overdue(c, now)));
        }
    }
    // A request the month's KPIs count changed this month (received, completed or
    // followed up), so its snapshot is this month's; open ones count whatever their age.
    let requests: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select site_id, body from central_state where name like 'request:%' \
         and (at >= to_timestamp($1) or body->>'state' not in ('closed', 'declined'))",
    )
    .bind(seconds(earliest))
    .fetch_all(pool)
    .await?;
    for (site, body) in requests {
        match serde_json::from_value::<ServiceRequest>(body) {
            Ok(r) => out.entry(site).or_default().requests.push(r),
            Err(e) => {
                tracing::warn!(site = %site, error = %e, "a request snapshot the centre cannot read; not counted")
            }
        }
    }
    for (site, share) in patrol(pool, sites, months).await? {
        out.entry(site).or_default().patrol = share;
    }
    Ok(out)
}

/// Per site, the patrol rounds closed in its month (`tour_completed`, `tour_incomplete`
/// in the journal) and those on time.
async fn patrol(
    pool: &PgPool,
    sites: &[SiteEntry],
    months: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<Vec<(String, Share)>, sqlx::Error> {
    let ids: Vec<String> = sites.iter().map(|s| s.id.clone()).collect();
    let from: Vec<f64> = months.iter().map(|m| seconds(m.0)).collect();
    let to: Vec<f64> = months.iter().map(|m| seconds(m.1)).collect();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "with m (site_id, f, t) as (select * from unnest($1::text[], $2::float8[], $3::float8[])) \
         select r.site_id, \
                count(*) filter (where r.body->>'kind' = 'tour_completed' and r.body->>'on_time' = 'true'), \
                count(*) \
         from central_records r join m on m.site_id = r.site_id \
         where r.kind = 'patrol' and r.at >= to_timestamp(m.f) and r.at < to_timestamp(m.t) \
           and r.body->>'kind' in ('tour_completed', 'tour_incomplete') \
         group by r.site_id",
    )
    .bind(&ids)
    .bind(&from)
    .bind(&to)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(site, on_time, of)| (site, Share::new(on_time, of)))
        .collect())
}

/// A time as seconds since the epoch, for `to_timestamp` (the store binds no chrono).
#[allow(clippy::cast_precision_loss)] // ms since the epoch are far below 2^52
fn seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// The sites cut off, from their rows.
pub fn alarms(rows: &[SiteRow]) -> Vec<LinkAlarm> {
    rows.iter()
        .filter_map(|r| {
            Some(LinkAlarm {
                site: r.site.clone(),
                name: r.name.clone(),
                kind: "link_down",
                since_ms: r.link.down_since_ms?,
                last_received_ms: r.link.last_received_ms,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn a_site_is_down_only_past_the_threshold_and_since_then() {
        let heard = Heard {
            received_ms: Some(at("2026-12-07T10:00:00Z").timestamp_millis()),
            record_ms: Some(at("2026-12-07T09:59:58Z").timestamp_millis()),
            watermark: 9,
            backlog: Some(3),
        };
        let started = at("2026-12-07T08:00:00Z");
        let five = Duration::from_secs(300);
        let up = link(heard, started, at("2026-12-07T10:05:00Z"), five);
        assert!(!up.down);
        assert_eq!((up.silent_s, up.lag_s), (300, 2));
        let down = link(heard, started, at("2026-12-07T10:05:01Z"), five);
        assert!(down.down);
        assert_eq!(down.backlog, Some(3), "the last backlog known stays shown");
        assert_eq!(
            down.down_since_ms,
            Some(at("2026-12-07T10:05:00Z").timestamp_millis())
        );
    }

    #[test]
    fn a_site_never_heard_from_is_silent_since_the_centre_started() {
        let started = at("2026-12-07T08:00:00Z");
        let l = link(
            Heard::default(),
            started,
            at("2026-12-07T08:10:00Z"),
            Duration::from_secs(60),
        );
        assert!(l.down);
        assert_eq!(l.silent_s, 600);
        assert_eq!(
            l.down_since_ms,
            Some(at("2026-12-07T08:01:00Z").timestamp_millis())
        );
    }

    #[test]
    fn a_met_clock_is_not_overdue_and_an_unmet_one_is_after_its_deadline() {
        let clock: SlaClock = serde_json::from_value(serde_json::json!({
            "sla": "acknowledged", "started_at": "2026-12-07T10:00:00Z",
            "due_at": "2026-12-07T10:30:00Z", "met_at": null, "breached": false
        }))
        .expect("clock");
        assert!(!overdue(&clock, at("2026-12-07T10:29:00Z")));
        assert!(overdue(&clock, at("2026-12-07T10:31:00Z")));
        let met = SlaClock {
            met_at: Some(at("2026-12-07T10:10:00Z")),
            ..clock
        };
        assert!(!overdue(&met, at("2026-12-07T11:00:00Z")));
    }
}
