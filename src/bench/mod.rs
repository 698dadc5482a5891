//! Benchmarks (`sitewatch bench …`, run with `--release`): figures and ratios printed,
//! never asserted in tests.

pub mod alarms;
pub mod estate;
pub mod fleet;
pub mod modbus;
pub mod mqtt;
pub mod paging;
pub mod rss;

pub use modbus::{BenchOptions, run};
