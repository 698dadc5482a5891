//! Fuzz target `http_request`: see `sitewatch::fuzzing::http_request` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitewatch::fuzzing::http_request(data));
