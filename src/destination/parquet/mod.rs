//! The Parquet destination: one directory per table, for warehouses and BI.
//!
//! Merging (upserts, snapshots, deletions, mirrors) needs random access
//! that Parquet files do not give, so a Parquet destination keeps its merge
//! state in a store inside the directory (`_huntr_sync/state.db`) and,
//! after each run, publishes every table that changed as one Parquet file:
//! `DIR/<table>/<table>.parquet`, written aside and renamed into place, so
//! a reader or a crash never sees half a table. A table whose publication
//! was interrupted is published by the next run (the store records which
//! run each file reflects).
//!
//! The optional changes export writes, per run, only the rows inserted,
//! changed or deleted since the last export: `DIR/_changes/run=<id>/`.
//!
//! Under an object-store URL (`remote`) the same files are written to a
//! local spool and uploaded: each table is one object, replaced by one
//! upload, which the store shows whole or not at all.

mod arrow;
mod file;
mod remote;

use std::path::{Path, PathBuf};

use super::storage::Location;
use super::{Files, PublishError, Published, Publisher};
use crate::schema::SCHEMA;
use crate::store::{Rows, RunId, Store, StoreError};
pub use arrow::arrow_schema;
pub use file::{write_batch_file, write_table};

#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write Parquet file {path}: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("cannot build Arrow data for {table}: {source}")]
    Arrow {
        table: String,
        source: arrow_schema::ArrowError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ParquetError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ParquetError::Io {
            path: path.to_owned(),
            source,
        }
    }
    fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        ParquetError::Parquet {
            path: path.to_owned(),
            source,
        }
    }
}

impl From<ParquetError> for PublishError {
    fn from(e: ParquetError) -> Self {
        PublishError(Box::new(e))
    }
}

/// Where a destination in a local directory (Parquet or Delta) keeps its
/// merge state.
pub fn state_db(dir: &Path) -> PathBuf {
    dir.join("_huntr_sync").join("state.db")
}

pub fn table_file(dir: &Path, table: &str) -> PathBuf {
    dir.join(table).join(format!("{table}.parquet"))
}

/// Publishes Parquet files (and the optional changes export).
pub struct ParquetPublisher {
    files: Files,
}

impl ParquetPublisher {
    pub fn new(files: &Files) -> Self {
        ParquetPublisher {
            files: files.clone(),
        }
    }
}

impl Publisher for ParquetPublisher {
    fn publish(&mut self, store: &Store, run_id: RunId) -> Result<Published, PublishError> {
        let Location::Local(dir) = &self.files.at else {
            return remote::publish(&self.files, store, run_id);
        };
        let tables = publish(store, dir, run_id)?;
        let changes_exported = if self.files.export_changes {
            export_changes(store, dir, run_id)?
        } else {
            0
        };
        Ok(Published {
            tables,
            changes_exported,
        })
    }
}

/// The tables to write: changed since they were last written, whose parent
/// is written, or missing from the destination (`present` says which are
/// there).
pub(crate) fn dirty_tables(
    store: &Store,
    present: impl Fn(&str) -> bool,
) -> Result<Vec<String>, StoreError> {
    let mut dirty: Vec<String> = Vec::new();
    for t in &SCHEMA.tables {
        let parent_dirty = t.parent.as_ref().is_some_and(|(p, _)| dirty.contains(p));
        let changed = match store.published(&t.name)? {
            None => true,
            Some(run) => store.last_change(t)? > run,
        };
        if changed || parent_dirty || !present(&t.name) {
            dirty.push(t.name.clone());
        }
    }
    Ok(dirty)
}

/// Publishes every table changed since its file was last written (and any
/// missing file). Returns the tables published.
pub fn publish(store: &Store, dir: &Path, run_id: RunId) -> Result<Vec<String>, ParquetError> {
    let dirty = dirty_tables(store, |name| table_file(dir, name).exists())?;
    store.prepare_for_scans()?;
    for name in &dirty {
        let t = SCHEMA.get(name).expect("schema table");
        let rows = write_table(store, t, Rows::All, &table_file(dir, name))?;
        crate::memory::release_free_memory();
        store.mark_published(name, run_id, rows)?;
    }
    Ok(dirty)
}

/// Writes the rows changed since the last export into
/// `DIR/_changes/run=<run_id>/<table>.parquet` (a new directory, renamed
/// into place when complete). Child tables hold every child of a changed
/// parent: replace children by parent key. Returns the rows written.
pub fn export_changes(store: &Store, dir: &Path, run_id: RunId) -> Result<u64, ParquetError> {
    let since = store.published("_changes")?.unwrap_or(0);
    let root = dir.join("_changes");
    let tmp = root.join(format!(".run={run_id}.tmp"));
    let done = root.join(format!("run={run_id}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| ParquetError::io(&tmp, e))?;
    }
    let rows = Rows::ChangedSince(since);
    let mut total = 0;
    for t in &SCHEMA.tables {
        if store.count(t, rows)? > 0 {
            total += write_table(store, t, rows, &tmp.join(format!("{}.parquet", t.name)))?;
        }
    }
    if total > 0 {
        if done.exists() {
            std::fs::remove_dir_all(&done).map_err(|e| ParquetError::io(&done, e))?;
        }
        std::fs::rename(&tmp, &done).map_err(|e| ParquetError::io(&done, e))?;
    }
    store.mark_published("_changes", run_id, total)?;
    Ok(total)
}

/// The highest run id among the changes exports under `bucket`.
pub async fn highest_run_id(
    bucket: &super::storage::Bucket,
) -> Result<Option<RunId>, super::storage::StorageError> {
    Ok(bucket
        .dirs("_changes")
        .await?
        .iter()
        .filter_map(|d| d.strip_prefix("run=")?.parse().ok())
        .max())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_committed_by_a_run_that_never_published_is_published_next() {
        use crate::flatten::record;
        use crate::rows::{Mode, Op};
        let dir = tempfile::tempdir().unwrap();
        let mut dest = Store::open(&state_db(dir.path())).unwrap();
        let employer = |name: &str, as_of| {
            let v = serde_json::json!({"id": "e1", "name": name});
            Op::Upsert(record(
                crate::schema::tables::employers::TABLE,
                crate::json::Node::from_value(&v).as_object().unwrap(),
                Mode::Full,
                as_of,
            ))
        };
        let run1 = dest.begin_run(0, "employers").unwrap();
        dest.apply(&[employer("Acme", 10)], run1, None).unwrap();
        let first = publish(&dest, dir.path(), run1).unwrap();
        assert!(first.contains(&"employers".to_owned()));
        let run2 = dest.begin_run(0, "employers").unwrap();
        assert!(publish(&dest, dir.path(), run2).unwrap().is_empty());
        // Run 3 commits a change and dies before publishing...
        let run3 = dest.begin_run(0, "employers").unwrap();
        dest.apply(&[employer("Acme Inc", 20)], run3, None).unwrap();
        // ...so run 4, which changes nothing, publishes it.
        let run4 = dest.begin_run(0, "employers").unwrap();
        assert_eq!(publish(&dest, dir.path(), run4).unwrap(), vec!["employers"]);
        assert!(publish(&dest, dir.path(), run4 + 1).unwrap().is_empty());
    }
}
