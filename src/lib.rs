//! sitewatch: a building-operations daemon. Sources (Modbus, MQTT, HTTP) produce facts;
//! the pure core in `sitewatch-core` decides; sinks (store, metrics, live views) report.

pub mod access;
pub mod accounts;
pub mod app;
pub mod backup;
pub mod bench;
pub mod billing;
pub mod broker;
pub mod central;
pub mod cli;
pub mod config;
pub mod customers;
pub mod dburl;
pub mod devices;
pub mod engine;
pub mod estate;
pub mod fuzzing;
pub mod health;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod paging;
pub mod register;
pub mod scans;
pub mod shutdown;
pub mod store;
pub mod telemetry;

pub use sitewatch_core as core;
