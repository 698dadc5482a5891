//! One integration binary against real parts: the Modbus simulator over TCP, Mosquitto, SQLite
//! files and a PostgreSQL database per test, the daemon's HTTP API and the CLI.
#![allow(unreachable_pub, missing_debug_implementations)]

mod alarms;
mod auth;
mod auth_walk;
mod backup;
mod billing;
mod browser;
mod browser_desk;
mod cli;
mod customers;
mod docs;
mod duty;
mod files;
mod going_live;
mod grafana;
mod helpers;
mod incident_page;
mod modbus;
mod mqtt;
mod mqtt_out;
mod notices;
mod notify;
mod openapi;
mod patrol;
mod pg_server;
mod plant;
mod requests;
mod sparklines;
mod storage;
mod vacant;
