//! Fuzz target `units_csv`: see `sitewatch::fuzzing::units_csv` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitewatch::fuzzing::units_csv(data));
