//! Destinations: where a sync's tables end up. Every destination keeps its
//! merge state in a [`Store`]; a SQLite destination *is* that store, and
//! any other one is a [`Publisher`] that, after each run, writes what the
//! store holds to its own format. `sync` and `webhook` only ever see a
//! [`Target`], a store and a list of publishers, so a new destination
//! plugs in here (a variant, its state file, its publisher) and nowhere
//! else.

pub mod delta;
pub mod export;
pub mod parquet;
pub mod storage;

use std::path::{Path, PathBuf};

use crate::store::{RunId, Store, StoreError};
use storage::{Location, StorageError, StorageOptions};

/// Where a sync writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Sqlite(PathBuf),
    /// Parquet files, one per table, in a directory or under a URL.
    Parquet(Files),
    /// Delta Lake tables, one per table, in a directory or under a URL.
    Delta(Files),
}

/// A destination of files: where they go and where its merge state lives.
#[derive(Debug, Clone, PartialEq)]
pub struct Files {
    pub at: Location,
    /// The state database: inside a local directory; for a URL, on local
    /// disk beside the config file (or where the pipeline's `state` says).
    pub state: PathBuf,
    pub storage: StorageOptions,
    /// Parquet: also write each run's changes to `_changes/run=<id>/`.
    pub export_changes: bool,
    /// Delta: days a file no longer current is kept for time travel.
    pub retention_days: u32,
}

impl Files {
    fn new(at: Location) -> Files {
        let state = match &at {
            Location::Local(dir) => parquet::state_db(dir),
            Location::Remote(url) => default_remote_state(url),
        };
        Files {
            at,
            state,
            storage: StorageOptions::default(),
            export_changes: false,
            retention_days: delta::DEFAULT_RETENTION_DAYS,
        }
    }

    /// Local files on their way to the destination.
    pub fn spool(&self) -> PathBuf {
        let dir = self.state.parent().unwrap_or(Path::new("."));
        dir.join("spool")
    }
}

/// Where a remote destination's state goes unless the pipeline says:
/// `.huntr-sync/<the URL, as a file name>/state.db`, relative to the
/// config file's directory (the resolver puts it there).
fn default_remote_state(url: &url::Url) -> PathBuf {
    let slug: String = url
        .as_str()
        .trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(".huntr-sync").join(slug).join("state.db")
}

impl Target {
    /// Reads `sqlite:PATH`, `parquet:DIR_OR_URL` or `delta:DIR_OR_URL` (the
    /// changes export off).
    pub fn parse(s: &str) -> Result<Target, String> {
        let (kind, path) = s.split_once(':').ok_or_else(|| {
            format!("destination `{s}` must be sqlite:PATH, parquet:DIR_OR_URL or delta:DIR_OR_URL")
        })?;
        if path.is_empty() {
            return Err(format!("destination `{s}` has no path"));
        }
        match kind {
            "sqlite" => Ok(Target::Sqlite(path.into())),
            "parquet" => Ok(Target::Parquet(Files::new(Location::parse(path)?))),
            "delta" => Ok(Target::Delta(Files::new(Location::parse(path)?))),
            _ => Err(format!(
                "destination `{s}`: unknown kind `{kind}` (use sqlite:PATH, parquet:DIR_OR_URL or delta:DIR_OR_URL)"
            )),
        }
    }

    /// A local Parquet directory.
    pub fn parquet(dir: &Path) -> Target {
        Target::Parquet(Files::new(Location::Local(dir.to_owned())))
    }

    /// A local Delta directory.
    pub fn delta(dir: &Path) -> Target {
        Target::Delta(Files::new(Location::Local(dir.to_owned())))
    }

    /// The files destination, if this is one.
    pub fn files_mut(&mut self) -> Option<&mut Files> {
        match self {
            Target::Parquet(f) | Target::Delta(f) => Some(f),
            Target::Sqlite(_) => None,
        }
    }

    /// Turns the changes export on; only a Parquet destination has one.
    pub fn export_changes(&mut self) -> Result<(), &'static str> {
        match self {
            Target::Parquet(f) => {
                f.export_changes = true;
                Ok(())
            }
            _ => Err("only applies to parquet: destinations"),
        }
    }

    /// The state database that holds the merge state (and, for SQLite, the
    /// tables).
    pub fn state_db(&self) -> PathBuf {
        match self {
            Target::Sqlite(p) => p.clone(),
            Target::Parquet(f) | Target::Delta(f) => f.state.clone(),
        }
    }

    /// How the summary names it.
    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite(p) => p.display().to_string(),
            Target::Parquet(f) => format!("{} (Parquet)", f.at.describe()),
            Target::Delta(f) => format!("{} (Delta Lake)", f.at.describe()),
        }
    }

    /// Whether it writes to an object store.
    pub fn is_remote(&self) -> bool {
        matches!(self, Target::Parquet(f) | Target::Delta(f) if f.at.is_remote())
    }

    /// Before a run writes anything: a remote destination exists and its
    /// credentials may write there (one line naming the cause if not).
    pub async fn check_writable(&self) -> Result<(), StorageError> {
        match self {
            Target::Parquet(f) | Target::Delta(f) if f.at.is_remote() => {
                storage::open(&f.at, &f.storage)?.check_writable().await
            }
            _ => Ok(()),
        }
    }

    /// The highest run id the destination itself shows (Delta commits, the
    /// changes export's `run=` directories): a new state database numbers
    /// its runs after it, so a lost state never reuses a run id.
    pub async fn highest_run_id(&self) -> Result<Option<RunId>, PublishError> {
        match self {
            Target::Sqlite(_) => Ok(None),
            Target::Parquet(f) => {
                let bucket = storage::open(&f.at, &f.storage)?;
                Ok(parquet::highest_run_id(&bucket).await?)
            }
            Target::Delta(f) => {
                let bucket = storage::open(&f.at, &f.storage)?;
                Ok(delta::highest_run_id(&bucket).await?)
            }
        }
    }

    /// What runs after each sync to write the store out.
    pub fn publishers(&self) -> Vec<Box<dyn Publisher>> {
        match self {
            Target::Sqlite(_) => Vec::new(),
            Target::Parquet(f) => vec![Box::new(parquet::ParquetPublisher::new(f))],
            Target::Delta(f) => vec![Box::new(delta::DeltaPublisher::new(f))],
        }
    }

    /// Opens the state database (creating and migrating it).
    pub fn open_store(&self) -> Result<Store, StoreError> {
        Store::open(&self.state_db())
    }
}

/// What a publisher wrote in one run.
#[derive(Debug, Default, Clone)]
pub struct Published {
    /// Tables (re)written.
    pub tables: Vec<String>,
    /// Rows written to a changes export.
    pub changes_exported: u64,
}

/// Why publishing failed: the destination's own error, with the path or
/// object it concerns in its message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PublishError(pub Box<dyn std::error::Error + Send + Sync>);

impl From<StorageError> for PublishError {
    fn from(e: StorageError) -> Self {
        PublishError(Box::new(e))
    }
}

impl From<StoreError> for PublishError {
    fn from(e: StoreError) -> Self {
        PublishError(Box::new(e))
    }
}

/// Writes the store's tables to a destination after a run. Publishing is
/// idempotent and resumable: what a crash interrupted is published by the
/// next run (the store records what each publisher last wrote).
pub trait Publisher: Send {
    /// Publishes what changed since the last publication, for run `run_id`.
    /// A partial run publishes too: what it committed is current.
    fn publish(&mut self, store: &Store, run_id: RunId) -> Result<Published, PublishError>;
}
