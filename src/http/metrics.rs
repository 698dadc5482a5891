//! What the HTTP side shows in `/metrics`, and the registry it renders: refused log-ins,
//! API errors by code (counted by one layer from the code each error answer carries),
//! and handles to the service and notice figures its handlers move.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::IntCounterVec;

use super::AppState;
use crate::engine::ServiceMetrics;
use crate::metrics::Registry;
use crate::notify::NotifyMetrics;

/// Cheap-clone handle to the HTTP side's metrics and the registry `/metrics` renders.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    registry: Registry,
    service: ServiceMetrics,
    notify: NotifyMetrics,
    login_failures: IntCounterVec,
    api_errors: IntCounterVec,
}

/// The code of an error answer (`invalid`, `not_found`, …), put on the response by
/// `ApiError` for [`count_errors`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorCode(pub &'static str);

impl HttpMetrics {
    /// Registers the HTTP families in `r`; `service` and `notify` are the figures the
    /// handlers move, registered by their owners.
    pub fn register(r: &Registry, service: ServiceMetrics, notify: NotifyMetrics) -> Self {
        let login_failures = r.counter(
            "sitewatch_login_failures_total",
            "Refused log-ins, by reason (bad_credentials, rate_limited, unavailable).",
            &["reason"],
        );
        for reason in ["bad_credentials", "rate_limited", "unavailable"] {
            login_failures.with_label_values(&[reason]);
        }
        Self {
            registry: r.clone(),
            service,
            notify,
            login_failures,
            api_errors: r.counter(
                "sitewatch_api_errors_total",
                "API requests refused, by error code (invalid, bad_body, not_found, conflict, …).",
                &["code"],
            ),
        }
    }

    /// Prometheus text exposition of every metric of the daemon.
    pub fn render(&self) -> String {
        self.registry.render()
    }

    /// The estate's gateways and building totals.
    pub fn estate(&self) -> &crate::metrics::EstateTable {
        self.registry.estate()
    }

    /// Service-request, notice and follow-up metrics.
    pub fn service(&self) -> &ServiceMetrics {
        &self.service
    }

    /// Notice message metrics.
    pub fn notify(&self) -> &NotifyMetrics {
        &self.notify
    }

    /// A refused log-in (`bad_credentials`, `rate_limited`, `unavailable`).
    pub fn login_failure(&self, reason: &str) {
        self.login_failures.with_label_values(&[reason]).inc();
    }
}

/// Counts every error answer by its code, whichever handler or layer gave it.
pub(super) async fn count_errors(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    if let Some(ErrorCode(code)) = resp.extensions().get::<ErrorCode>() {
        s.metrics.api_errors.with_label_values(&[code]).inc();
    }
    resp
}
