//! Fuzz target `modbus_reply`: see `sitewatch::fuzzing::modbus_reply` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sitewatch::fuzzing::modbus_reply(data));
