//! huntr-sync: keeps a local, query-ready copy of a Huntr organization.
//!
//! Layers, by module: `api` fetches (client, paging, retries), `resources`
//! describes what is fetched, `json` is the borrowed JSON tree pages are
//! parsed into, `rows` are the rows of the tables declared in `schema/` and
//! the operations that carry them, `flatten` turns JSON into rows, `store`
//! owns the state database and writes rows to it (one writer for every
//! caller; it knows rows, not JSON), `destination` publishes the store to
//! other formats, `sync` runs one sync, `webhook` applies actions as they
//! happen, `push` writes to the organization from a CSV or Parquet file,
//! exactly once, `config` reads `pipelines.toml` (and the token),
//! `outcomes` defines the ready-made outcome views, `report` draws the
//! status page, `defaults` holds every default value once, `cli` is the
//! command line,
//! and `sandbox` (its own crate) is the built-in fake organization.

pub mod api;
pub mod cli;
pub mod config;
pub mod defaults;
pub mod destination;
pub mod export;
pub mod flatten;
pub mod freshness;
pub mod json;
pub mod kill_points;
pub mod lifecycle;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod outcome;
pub mod outcomes;
pub mod progress;
pub mod push;
pub mod report;
pub mod resources;
pub mod rows;
pub use huntr_sandbox as sandbox;
pub mod schema;
pub mod store;
pub mod sync;
pub use huntr_protocol::timefmt;
pub mod webhook;
