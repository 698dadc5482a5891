//! On call (issue 21): who answers for each escalation level at a moment, and the pure
//! decisions of paging them. `rota` turns the site's shifts and per-day overrides into
//! "who is on call at `t`" and finds the rota's gaps and overlaps; `flood` decides whether
//! a page goes out now, joins a person's summary or is held by their rate limit. Nothing
//! here does I/O: the paging task (`sitewatch::paging`) asks with its clock's `now`.

pub mod flood;
pub mod rota;

pub use flood::{FloodDecision, FloodPolicy, FloodState, Past, Summary};
pub use rota::{Coverage, Rota, RotaEntry, RotaOverride, RotaProblem, ShiftTimes, Window};

#[cfg(test)]
mod tests;
