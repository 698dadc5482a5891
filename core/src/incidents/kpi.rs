//! Service KPIs per period (rules.md §9, §13.17): follow-up rate (回访率), satisfaction
//! (满意率), repairs done in time (维修及时率) and responses in time, each as a count over a
//! count with its target. Pure: the caller hands in the requests and the period.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::service::{RequestKind, ServiceRequest};
use super::sla::{SlaClock, SlaKind};

/// Targets for the KPIs, as shares (0.95 = 95%). Editable in `[kpis]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpiTargets {
    /// 回访率: every finished repair and resolved complaint followed up, 100%. A product
    /// default in the manner of rules.md §14, not a manual's target: §9 gives none from a
    /// property manual (its one [PM] figure, 89%, is an estate's actual result, seed
    /// 003:421; the "100% (aim)" of seed 003:953 is an insurer's, [OFF]). It agrees with the
    /// [PM] practice 项项有回访, every item followed up (rules.md §3.3, seed 003:599).
    pub follow_up_rate: f64,
    /// 满意率: owner satisfaction ≈ 95% (rules.md §9 and §13.17, seed 003:209; the other
    /// manual's ≈ 85% is seed 003:815).
    pub satisfaction: f64,
    /// 维修及时率: the manuals give no figure (rules.md §9); product default 95%, as §14
    /// allows where the manuals are silent.
    pub repairs_in_time: f64,
    /// Responses (owner contacted, complaint acknowledged) in time: no manual figure
    /// (rules.md §9); product default 95% (§14).
    pub responses_in_time: f64,
}

impl Default for KpiTargets {
    fn default() -> Self {
        Self {
            follow_up_rate: 1.0,
            satisfaction: 0.95,
            repairs_in_time: 0.95,
            responses_in_time: 0.95,
        }
    }
}

/// One KPI over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Kpi {
    /// Stable name: `follow_up_rate`, `satisfaction`, `repairs_in_time`, `responses_in_time`.
    pub name: String,
    /// What counts (followed up, satisfied, in time).
    pub count: usize,
    /// Out of how many.
    pub of: usize,
    /// `count / of`; `None` when there was nothing to count.
    pub ratio: Option<f64>,
    /// The target share.
    pub target: f64,
    /// Whether the target is met; `None` when there was nothing to count.
    pub met: Option<bool>,
}

impl Kpi {
    fn new(name: &str, count: usize, of: usize, target: f64) -> Self {
        #[allow(clippy::cast_precision_loss)] // request counts are far below 2^52
        let ratio = (of > 0).then(|| count as f64 / of as f64);
        Self {
            name: name.to_owned(),
            count,
            of,
            ratio,
            target,
            met: ratio.map(|r| r >= target),
        }
    }
}

/// The KPIs of the period `[from, to)`:
/// - follow-up rate: repairs and complaints completed in the period that were followed up;
/// - satisfaction: follow-ups made in the period in which the owner was satisfied;
/// - repairs in time: repairs completed in the period whose work deadline (done, or made
///   safe for an emergency) was met on time;
/// - responses in time: repairs and complaints received in the period whose first
///   response deadline (owner contacted / acknowledged, or on site for an emergency) has
///   ended, met on time.
pub fn service_kpis<'a>(
    requests: impl IntoIterator<Item = &'a ServiceRequest>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    targets: &KpiTargets,
) -> Vec<Kpi> {
    let within = |at: DateTime<Utc>| from <= at && at < to;
    let work: Vec<&ServiceRequest> = requests
        .into_iter()
        .filter(|r| !matches!(r.kind, RequestKind::Suggestion))
        .collect();
    let completed: Vec<&&ServiceRequest> = work
        .iter()
        .filter(|r| r.completion.as_ref().is_some_and(|c| within(c.at)))
        .collect();
    let followed = completed.iter().filter(|r| r.follow_up.is_some()).count();
    let follow_ups: Vec<bool> = work
        .iter()
        .filter_map(|r| r.follow_up.as_ref())
        .filter(|f| within(f.at))
        .map(|f| f.satisfied)
        .collect();
    let satisfied = follow_ups.iter().filter(|s| **s).count();
    let repairs: Vec<Option<bool>> = completed
        .iter()
        .filter(|r| matches!(r.kind, RequestKind::Repair { .. }))
        .map(|r| work_clock(r).map(on_time))
        .collect();
    // A repair whose kind has no work clock (none configured) has no deadline to miss.
    let repairs_on_time = repairs.iter().filter(|r| **r != Some(false)).count();
    let responses: Vec<bool> = work
        .iter()
        .filter(|r| within(r.received_at))
        .filter_map(|r| response_clock(r))
        .filter(|c| c.met_at.is_some() || c.breached)
        .map(on_time)
        .collect();
    let responded = responses.iter().filter(|r| **r).count();
    vec![
        Kpi::new(
            "follow_up_rate",
            followed,
            completed.len(),
            targets.follow_up_rate,
        ),
        Kpi::new(
            "satisfaction",
            satisfied,
            follow_ups.len(),
            targets.satisfaction,
        ),
        Kpi::new(
            "repairs_in_time",
            repairs_on_time,
            repairs.len(),
            targets.repairs_in_time,
        ),
        Kpi::new(
            "responses_in_time",
            responded,
            responses.len(),
            targets.responses_in_time,
        ),
    ]
}

/// The deadline a repair's work is measured by: done (ordinary) or made safe (emergency).
fn work_clock(r: &ServiceRequest) -> Option<&SlaClock> {
    r.clock(SlaKind::Resolved)
        .or_else(|| r.clock(SlaKind::MadeSafe))
}

/// The first response deadline: contacted or acknowledged, else on site (emergency).
fn response_clock(r: &ServiceRequest) -> Option<&SlaClock> {
    r.clock(SlaKind::Acknowledged)
        .or_else(|| r.clock(SlaKind::OnSite))
}

fn on_time(c: &SlaClock) -> bool {
    !c.breached && c.met_at.is_some_and(|m| m <= c.due_at)
}
