//! Fuzz target `nfc_scan`: see `sitewatch::fuzzing::nfc_scan` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitewatch::fuzzing::nfc_scan(data));
