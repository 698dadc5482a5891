//! One integration binary against real parts: the Modbus simulator over TCP, Mosquitto, SQLite
//! files and a PostgreSQL database per test, the daemon's HTTP API and the CLI.
#![allow(unreachable_pub, missing_debug_implementations)]

mod alarms;
mod auth;
mod auth_guard_page;
mod auth_outage;
mod auth_walk;
mod billing;
mod browser;
mod browser_desk;
mod cli;
mod customers;
mod duty;
mod files;
mod grafana;
mod helpers;
mod incident_page;
mod modbus;
mod mqtt;
mod mqtt_edges;
mod mqtt_out;
mod notices;
mod notify;
mod openapi;
mod outage;
mod outbox_outage;
mod patrol;
mod pg_server;
mod plant;
mod refusals;
mod requests;
mod sparklines;
mod storage;
mod vacant;
