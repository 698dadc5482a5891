//! Fuzz target `mqtt_payload`: see `sitewatch::fuzzing::mqtt_payload` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitewatch::fuzzing::mqtt_payload(data));
