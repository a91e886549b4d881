//! Prometheus metrics, so that a night's run can be watched without
//! reading its output: after every `sync` and `push` a file for
//! node_exporter's textfile collector (`metrics_file`), and `/metrics` on
//! `webhook serve` for a scrape.
//!
//! - `encode`: the text format (families, samples, escaping);
//! - `families`: what the metrics say, from a run and from the store;
//! - `file`: writing the file atomically;
//! - `serve`: the receiver's `/metrics` and `/healthz`.

pub mod encode;
pub mod families;
pub mod file;
pub mod serve;

pub use encode::{render, Family};
pub use families::{families, PushCounts, RunFacts, StoreFacts};
pub use file::{write_atomic, MetricsFileError};
