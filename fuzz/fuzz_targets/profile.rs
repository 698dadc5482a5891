//! Fuzz target `profile`: see `sitewatch::fuzzing::profile` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitewatch::fuzzing::profile(data));
