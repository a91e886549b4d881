//! End-to-end tests, in one binary (one link instead of one per file):
//! against wiremock, the sandbox organization, and the built binary.

mod common;
mod pg_server;

mod api_goals;
mod api_portal;
mod api_wiremock;
mod capture;
mod cleared;
mod cli;
mod crash;
mod current_a;
mod delta;
mod flatten_store;
mod layout;
mod lease;
mod messages;
mod monitoring;
mod notify;
mod operator;
mod outcomes;
mod outcomes_pg;
mod outcomes_truth;
mod parquet;
mod postgres;
mod postgres_ahead;
mod postgres_early;
mod postgres_faults;
mod push;
mod push_files;
mod reach;
mod readme;
mod relist;
mod resilience;
mod sandbox_api;
mod sandbox_sync;
mod status_page;
mod storage;
mod sync_wiremock;
mod upgrade;
mod webhook;
mod webhook_publish;
