//! One integration binary against real parts: the Modbus simulator over TCP, SQLite
//! files and a PostgreSQL database per test, the daemon's HTTP API and the CLI.
#![allow(unreachable_pub, missing_debug_implementations)]

mod cli;
mod helpers;
mod modbus;
mod plant;
mod storage;
