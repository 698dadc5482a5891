//! The pure decision core of sitewatch. Everything here is plain synchronous Rust: state
//! machines fed events and `now`, returning the events they produced. No I/O, no locks,
//! no async runtime, so it is fast, deterministic and tested without sleeps.

pub mod alarms;
pub mod clock;
pub mod compliance;
pub mod incidents;
pub mod inspections;
pub mod maintenance;
pub mod oncall;
pub mod patrol;
pub mod points;
