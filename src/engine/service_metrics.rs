//! Service metrics: requests by kind and state, overdue requests, chasers issued (all
//! moved by the engine's request book), notices issued (the notice desk), the follow-up
//! rate (回访率, rules.md §13.17) over 30 days and the month's KPIs (counted by the engine tick, `engine::due::MonthKpis`).

use prometheus::{Gauge, GaugeVec, IntCounterVec, IntGaugeVec};
use sitewatch_core::incidents::Kpi;

use crate::metrics::Registry;

/// The service gauges and counters, registered once with the daemon's registry.
#[derive(Debug, Clone)]
pub struct ServiceMetrics {
    requests: IntGaugeVec,
    overdue: IntGaugeVec,
    chasers: IntCounterVec,
    notices: IntCounterVec,
    followup_rate: Gauge,
    kpi: GaugeVec,
    kpi_target: GaugeVec,
}

/// Kinds every gauge is set for, so a zero shows as zero.
const KINDS: [&str; 3] = ["repair", "complaint", "suggestion"];

impl ServiceMetrics {
    /// Creates and registers every service metric in `r`.
    pub fn register(r: &Registry) -> Self {
        let int_gauge = |name: &str, help: &str, labels: &[&str]| r.int_gauge(name, help, labels);
        let counter = |name: &str, help: &str, labels: &[&str]| r.counter(name, help, labels);
        let followup_rate = r.one_gauge(
            "sitewatch_followup_rate_ratio",
            "Completed repairs and complaints of the last 30 days that were followed up (回访率).",
        );
        let gauge = |name: &str, help: &str| r.gauge(name, help, &["kpi"]);
        Self {
            kpi: gauge(
                "sitewatch_kpi_ratio",
                "Service KPIs of the current month (follow_up_rate, satisfaction, repairs_in_time, responses_in_time); NaN when nothing was counted.",
            ),
            kpi_target: gauge(
                "sitewatch_kpi_target_ratio",
                "Targets of the service KPIs (rules.md §9, §13.17; editable in [kpis]).",
            ),
            requests: int_gauge(
                "sitewatch_service_requests",
                "Service requests by kind (repair, complaint, suggestion) and state.",
                &["kind", "state"],
            ),
            overdue: int_gauge(
                "sitewatch_service_overdue",
                "Open service requests with a deadline past due.",
                &["kind"],
            ),
            chasers: counter(
                "sitewatch_service_chasers_total",
                "Chasers (催办) issued for overdue service requests.",
                &["kind"],
            ),
            notices: counter(
                "sitewatch_notices_total",
                "Notices issued to owners by level (notice, important, urgent).",
                &["level"],
            ),
            followup_rate,
        }
    }

    /// Sets the request gauges from `(kind, state, count)` rows and overdue counts.
    pub fn set_requests(&self, counts: &[(String, String, i64)], overdue: &[(&str, i64)]) {
        self.requests.reset();
        for (kind, state, n) in counts {
            self.requests.with_label_values(&[kind, state]).set(*n);
        }
        for kind in KINDS {
            let n = overdue
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, n)| n)
                .sum();
            self.overdue.with_label_values(&[kind]).set(n);
        }
    }

    /// Chasers issued for a request of `kind`.
    pub fn chasers(&self, kind: &str, n: usize) {
        self.chasers.with_label_values(&[kind]).inc_by(n as u64);
    }

    /// A notice issued.
    pub fn notice(&self, level: &str) {
        self.notices.with_label_values(&[level]).inc();
    }

    /// The follow-up rate; unset (left as is) when nothing was completed.
    pub fn set_followup_rate(&self, followed: usize, completed: usize) {
        if completed > 0 {
            self.followup_rate.set(followed as f64 / completed as f64);
        }
    }

    /// The KPIs of the current month and their targets.
    pub fn set_kpis(&self, kpis: &[Kpi]) {
        for k in kpis {
            let ratio = k.ratio.unwrap_or(f64::NAN);
            self.kpi.with_label_values(&[&k.name]).set(ratio);
            self.kpi_target.with_label_values(&[&k.name]).set(k.target);
        }
    }
}
