//! Sending notices to owners and tenants (issue 5). Issuing a notice plans one message per
//! recipient (`register::plan`) in the notice's own transaction; the `sender` task delivers them by
//! SMTP (`lettre`) or to the SMS/WeChat gateway's webhook (`reqwest`), with retries and
//! exponential back-off, recording every outcome per recipient. Flood control (one message
//! per incident and contact, a per-contact rate limit) holds messages back as
//! `suppressed`, with the reason; nothing is dropped silently.

pub mod metrics;
pub mod sender;
pub(crate) mod transport;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::register::plan::Policy;
pub use metrics::NotifyMetrics;

/// What the HTTP side needs to plan messages: the policy (`None` without `[notify]`) and
/// the sender's doorbell.
#[derive(Debug, Clone, Default)]
pub struct Planner {
    /// From `[notify]`; `None`: nothing is sent.
    pub policy: Option<Policy>,
    /// Rung after messages are queued, so the sender need not wait for its next poll.
    pub wake: Arc<Notify>,
}
