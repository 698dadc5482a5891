//! Fuzz target `config`: see `sitewatch::fuzzing::config` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitewatch::fuzzing::config(data));
