//! One integration binary against real parts: the Modbus simulator over TCP, Mosquitto, SQLite
//! files and a PostgreSQL database per test, the daemon's HTTP API and the CLI.
#![allow(unreachable_pub, missing_debug_implementations)]

mod alarms;
mod auth;
mod auth_walk;
mod billing;
mod browser;
mod cli;
mod customers;
mod files;
mod grafana;
mod helpers;
mod modbus;
mod mqtt;
mod mqtt_out;
mod notices;
mod openapi;
mod patrol;
mod plant;
mod requests;
mod storage;
mod vacant;
