//! What the destinations made of files (Parquet, Delta) share: where the
//! files go and where their merge state lives, which tables a run must
//! write out, and writing one table of the store as one Parquet file.
//!
//! Merging (upserts, snapshots, deletions, mirrors) needs random access
//! that files do not give, so such a destination keeps its merge state in
//! a store and, after each run, rewrites every table that changed. Each
//! file is written whole into a local spool and then moved to its place
//! through the object-store layer (`storage`), the same way for a local
//! directory (a rename) and for a bucket (an upload): a reader or a crash
//! never sees half a file.

mod arrow;
mod write;

use std::path::{Path, PathBuf};

pub use arrow::arrow_schema;
pub use write::{write_batch_file, write_table};

use futures_util::future::BoxFuture;

use super::lease::{self, Spot, Terms, LEASE};
use super::storage::{self, Bucket, Location, StorageError, StorageOptions};
use super::{Claim, SettingError, Settings};
use crate::schema::SCHEMA;
use crate::store::{LockError, StoreError, Tables};

/// Why writing a file failed, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
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

impl FileError {
    /// A failed write of `path`; a full disk (or quota, or file size
    /// limit) reads as the state database's does: nothing was lost.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        if let Some(full) = no_space(path, &source) {
            return full;
        }
        FileError::Io {
            path: path.to_owned(),
            source,
        }
    }
    fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        if let parquet::errors::ParquetError::External(e) = &source {
            if let Some(full) = e
                .downcast_ref::<std::io::Error>()
                .and_then(|io| no_space(path, io))
            {
                return full;
            }
        }
        FileError::Parquet {
            path: path.to_owned(),
            source,
        }
    }
}

/// The "no space" error for a write the system refused for want of space.
fn no_space(path: &Path, e: &std::io::Error) -> Option<FileError> {
    let why = crate::store::no_space_why(e.raw_os_error()?)?;
    Some(FileError::Store(StoreError::NoSpace {
        path: path.to_owned(),
        why,
    }))
}

/// Where a destination of files writes, and where its merge state lives.
#[derive(Debug, Clone, PartialEq)]
pub struct Files {
    pub at: Location,
    /// The state database: inside a local directory; for a URL, on local
    /// disk beside the config file (or where the pipeline's `state` says).
    pub state: PathBuf,
    pub storage: StorageOptions,
}

/// Where a destination in a local directory keeps its merge state.
pub fn local_state_db(dir: &Path) -> PathBuf {
    dir.join("_huntr_sync").join("state.db")
}

impl Files {
    /// The location written after `parquet:` or `delta:`, with the
    /// pipeline's `state` and `endpoint`.
    pub fn new(path: &str, settings: &Settings) -> Result<Files, SettingError> {
        let at = Location::parse(path).map_err(|m| SettingError::new("destination", m))?;
        let state = match (&settings.state, &at) {
            (Some(state), _) => settings.base.join(state),
            (None, Location::Local(dir)) => local_state_db(dir),
            (None, Location::Remote(url)) => settings.base.join(default_remote_state(url)),
        };
        Ok(Files {
            at,
            state,
            storage: StorageOptions {
                endpoint: settings.endpoint.clone(),
            },
        })
    }

    /// The Parquet files as the outcome views read them: a directory's
    /// absolute path (tables with no file yet read as empty), or the URL.
    pub fn outcome_place(&self) -> crate::outcomes::Place {
        match &self.at {
            Location::Local(dir) => {
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
                let missing = SCHEMA
                    .tables
                    .iter()
                    .filter(|t| {
                        !dir.join(&t.name)
                            .join(format!("{}.parquet", t.name))
                            .exists()
                    })
                    .map(|t| t.name.clone())
                    .collect();
                crate::outcomes::Place::Parquet {
                    base: dir.display().to_string(),
                    missing,
                }
            }
            Location::Remote(url) => crate::outcomes::Place::Parquet {
                base: url.to_string(),
                missing: Vec::new(),
            },
        }
    }

    /// Opens the location.
    pub fn bucket(&self) -> Result<Bucket, StorageError> {
        storage::open(&self.at, &self.storage)
    }

    /// Where files are written before they are moved into place (created).
    pub fn spool(&self) -> Result<PathBuf, FileError> {
        let dir = self.state.parent().unwrap_or(Path::new(".")).join("spool");
        std::fs::create_dir_all(&dir).map_err(|e| FileError::io(&dir, e))?;
        Ok(dir)
    }

    /// Before a run writes anything: a remote location exists and its
    /// credentials may write there (a local one is created when written).
    pub async fn check_writable(&self) -> Result<(), StorageError> {
        match self.at {
            Location::Remote(_) => self.bucket()?.check_writable().await,
            Location::Local(_) => Ok(()),
        }
    }

    /// A bucket's lease for a run (`lease`); a local directory has none
    /// (the local lock covers it).
    pub fn claim<'a>(
        &'a self,
        what: &'a str,
    ) -> BoxFuture<'a, Result<Option<Box<dyn Claim>>, LockError>> {
        Box::pin(async move {
            if !self.at.is_remote() {
                return Ok(None);
            }
            let bucket = self.bucket().map_err(|e| LockError::Remote(e.0))?;
            let spot = Spot {
                key: bucket.key(LEASE),
                name: format!("{}/{LEASE}", bucket.name),
                store: bucket.store,
            };
            let held = lease::take(spot, Terms::new(what)).await?;
            Ok(Some(Box::new(held) as Box<dyn Claim>))
        })
    }
}

/// Where a remote destination's state goes unless the pipeline says:
/// beside the config file, named after the URL.
fn default_remote_state(url: &url::Url) -> PathBuf {
    super::state_beside_config(url.as_str().trim_end_matches('/'))
}

/// The tables to write: changed since they were last written, whose parent
/// is written, or missing from the destination (`present` says which are
/// there).
pub fn dirty_tables(
    tables: &Tables<'_>,
    present: impl Fn(&str) -> bool,
) -> Result<Vec<String>, StoreError> {
    let mut dirty: Vec<String> = Vec::new();
    for t in &SCHEMA.tables {
        let parent_dirty = t.parent.as_ref().is_some_and(|(p, _)| dirty.contains(p));
        let changed = match tables.published(&t.name)? {
            None => true,
            Some(run) => tables.last_change(t)? > run,
        };
        if changed || parent_dirty || !present(&t.name) {
            dirty.push(t.name.clone());
        }
    }
    Ok(dirty)
}

/// Removes files a killed run left in the spool.
pub fn clear_spool(spool: &Path) -> Result<(), FileError> {
    let io = |e| FileError::io(spool, e);
    for entry in std::fs::read_dir(spool).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
    Ok(())
}
