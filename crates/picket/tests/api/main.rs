//! Integration tests: the real server on port 0, a fresh database per test. With
//! `PICKET_TEST_DATABASE_URL=postgres://…` every test runs on PostgreSQL (each in its own schema),
//! otherwise on SQLite.

mod helpers;

mod about;
mod admin_cli;
mod alerts;
mod assets;
mod auth;
mod bootstrap;
mod console;
mod counts;
mod cross_tenant;
mod engine;
mod errors;
mod events_corpus;
mod events_feeds;
mod events_keyword;
mod events_map;
mod incidents;
mod jobs;
mod module_graph;
mod netmon_alerts;
mod netmon_data;
mod netmon_devices;
mod netmon_networks;
mod netmon_services;
mod notify;
mod openapi;
mod ops;
mod partitions;
mod relevance;
mod reports;
mod scaleout;
mod schema;
mod scoping;
mod sensor_agent;
mod sensor_detect;
mod sensor_detect_e2e;
mod sensor_ingest;
mod sensor_intel;
mod sensor_listener;
mod sensor_retention;
mod text_search;
mod threats;
