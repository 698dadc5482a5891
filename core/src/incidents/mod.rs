//! Incident workflow and SLA clocks (issue 5).
