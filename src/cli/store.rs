//! The command line's own reads and writes of a destination's state file
//! (the summary's table totals, `state show`, `state reset`), gathered here
//! so that the storage type they go through is named in one file only.

use std::path::Path;

use super::exit::Failure;
use crate::load::sqlite::SqliteDest;
use crate::lock::DestLock;
use crate::resources::Resource;
use crate::sync::SyncError;

/// Rows per table, for the summary; none when the file cannot be read.
pub fn table_totals(db: &Path) -> Vec<(String, i64)> {
    SqliteDest::open(db)
        .map(|d| d.table_totals())
        .unwrap_or_default()
}

/// Each resource's state: resource, watermark, last full listing, updated.
pub fn state_rows(db: &Path) -> Result<Vec<[Option<String>; 4]>, Failure> {
    let dest = SqliteDest::open(db)?;
    Ok(dest.state_rows()?)
}

/// Forgets the watermark of `resource` (all when `None`) under the sync's
/// lock; returns how many were forgotten.
pub fn reset_state(db: &Path, resource: Option<Resource>) -> Result<usize, Failure> {
    let _lock = DestLock::acquire(&crate::sync::lock_path(db)).map_err(SyncError::from)?;
    let mut dest = SqliteDest::open(db)?;
    Ok(dest.reset_state(resource)?)
}
