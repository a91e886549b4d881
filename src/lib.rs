//! huntr-sync: keeps a local, query-ready copy of a Huntr organization.
//!
//! Layers, by module: `api` fetches (client, paging, retries), `resources`
//! describes what is fetched, `json` is the borrowed JSON tree pages are
//! parsed into, `flatten` turns it into rows of the tables
//! declared in `schema/`, `load` writes them, `sync` runs one sync,
//! `config` reads `pipelines.toml`, `cli` is the command line, and
//! `sandbox` (the huntr-sandbox crate) is the built-in fake organization.

pub mod api;
pub mod cli;
pub mod config;
pub mod flatten;
pub mod floor;
pub mod json;
pub mod load;
pub mod lock;
pub mod memory;
pub mod progress;
pub mod resources;
pub use huntr_sandbox as sandbox;
pub mod schema;
pub mod sync;
pub use huntr_protocol::timefmt;
pub mod webhook;
