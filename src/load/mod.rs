//! Loaders: the single writer that owns a destination.
//!
//! Fetchers never touch the destination; they send batches of [`Op`]s to
//! the writer, which applies each batch in one transaction together with
//! the sync-state change it completes (a watermark, a finished listing).

pub mod parquet;
pub mod sqlite;

use crate::resources::Resource;

/// Sync-state change committed atomically with a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum StateUpdate {
    /// Every record created before `value` has been loaded for `resource`.
    Watermark { resource: Resource, value: i64 },
    /// `resource` was listed completely in this run.
    Listed { resource: Resource },
}

/// Counters kept by a loader for the run summary.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct TableCounts {
    /// Rows created by the run.
    pub inserted: u64,
    /// Existing rows whose values the run changed.
    pub updated: u64,
    /// Rows the run marked deleted (`deleted_at`).
    pub deleted: u64,
    /// Rows the run marked removed (`removed_at`): no longer listed.
    pub removed: u64,
}
