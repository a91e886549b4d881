//! Destinations: where a run's tables end up.
//!
//! Every destination keeps its merge state in a store (a SQLite state
//! database) and implements [`Destination`]: how it is named, where its
//! state lives, what its lock covers, how a remote one is held against
//! runs on other machines ([`Claim`]), how it proves it may be written,
//! the highest run id it already shows, and how it publishes a run. Each
//! one is a folder of its own (`sqlite/`, `parquet/`, `delta/`,
//! `postgres/`), and
//! `registry` is the one place that knows them all: it turns a
//! `KIND:WHERE` spelling and the pipeline's settings into a [`Target`].
//! The run lifecycle (`crate::lifecycle`) drives a target the same way
//! for `sync`, `push` and `webhook serve`; nothing else names a
//! destination's own types. See docs/EXTENDING.md to add one.
//!
//! `files` holds what the destinations made of files share, `storage`
//! the object-store layer under them (a local directory or a bucket), and
//! `lease` the hold such a destination in a bucket takes on itself.

pub mod delta;
pub mod files;
pub mod lease;
pub mod parquet;
pub mod postgres;
mod registry;
pub mod sqlite;
pub mod storage;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::runtime::Handle;

use crate::schema::TableId;
use crate::store::{lock_path, LockError, Marks, RunId, Store, StoreError, Tables};
pub use registry::forms;

/// One destination. Publishing is blocking (it scans the store) and runs
/// off the async threads; `rt` runs whatever I/O it does.
pub trait Destination: Send + Sync + std::fmt::Debug {
    /// How the summary and messages name it.
    fn describe(&self) -> String;

    /// The state database holding the merge state (for SQLite, the tables
    /// themselves).
    fn state_db(&self) -> &Path;

    /// The file whose lock lets one run at a time write: it covers the
    /// state database and, through it, everything published from it.
    fn lock_file(&self) -> PathBuf {
        lock_path(self.state_db())
    }

    /// Whether it writes somewhere other than this machine's disk, so that
    /// `check` proves it writable.
    fn is_remote(&self) -> bool {
        false
    }

    /// For a remote destination, which runs on other machines write too
    /// (the local lock cannot see them): takes the destination's own hold
    /// for a run, after the local lock, or refuses with
    /// `LockError::Held` naming its holder. `what` is the holder's
    /// purpose, as the local lock says it. `None`: the local lock is
    /// enough. Files in a bucket hold a lease in it (`lease`); PostgreSQL
    /// takes an advisory lock.
    fn claim<'a>(
        &'a self,
        what: &'a str,
    ) -> BoxFuture<'a, Result<Option<Box<dyn Claim>>, LockError>> {
        let _ = what;
        Box::pin(async { Ok(None) })
    }

    /// Before a run writes anything: the destination exists and accepts
    /// writes (one line naming the cause if not).
    fn check_writable(&self) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async { Ok(()) })
    }

    /// The highest run id the destination itself shows: a new state
    /// database numbers its runs after it, so a lost state never reuses a
    /// run id.
    fn highest_run_id(&self) -> BoxFuture<'_, Result<Option<RunId>, PublishError>> {
        Box::pin(async { Ok(None) })
    }

    /// How often, at most, a webhook receiver publishes what it stored.
    fn publish_every(&self) -> std::time::Duration {
        crate::defaults::WEBHOOK_PUBLISH_EVERY
    }

    /// Whether runs publish anything (not when the state database is the
    /// destination).
    fn publishes(&self) -> bool {
        true
    }

    /// Where the outcome views read this destination's tables
    /// (`crate::outcomes`): its schema, or its Parquet files; `None` for
    /// the SQLite file, whose views are in the state database itself.
    fn outcome_place(&self) -> Option<crate::outcomes::Place> {
        None
    }

    /// Whether it can publish part of a run while the run still reads
    /// ([`Destination::publish_ahead`]).
    fn publishes_ahead(&self) -> bool {
        false
    }

    /// While run `run_id` still reads, with everything it wrote so far
    /// committed to the state: begins, in the background, the publication
    /// that [`Destination::publish`] completes, with the tables already
    /// there, except the families (a table and its children) of `later`,
    /// which the rest of the run writes. `marks` are the state's
    /// [`Marks`] at that moment: `publish` publishes again whatever moved
    /// after them. Nothing becomes visible before `publish` commits; a
    /// failure here only leaves all of it to `publish`.
    fn publish_ahead(&self, run_id: RunId, marks: Marks, later: Vec<TableId>, rt: &Handle) {
        let _ = (run_id, marks, later, rt);
    }

    /// Publishes what changed since the last publication, for run
    /// `run_id`. Idempotent and resumable: what a crash interrupted is
    /// published by the next run (the store records what was written).
    fn publish(
        &self,
        tables: &Tables<'_>,
        run_id: RunId,
        rt: &Handle,
    ) -> Result<Published, PublishError>;
}

/// A remote destination's hold for one run (see [`Destination::claim`]),
/// kept while the run lasts.
pub trait Claim: Send + Sync {
    /// Why the hold was lost while the run held it (another run took it
    /// over): the run must publish nothing more.
    fn lost(&self) -> Option<String>;

    /// Gives the hold up, if it is still this run's; failures are logged
    /// (a hold left behind lapses).
    fn release(&self) -> BoxFuture<'_, ()>;
}

/// What a pipeline may say about its destination besides where it is.
/// Each destination accepts some of them (the registry refuses the rest,
/// naming the destinations they apply to).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// The directory a relative `state` (and a remote destination's
    /// default state) is under: the config file's.
    pub base: PathBuf,
    /// Where the state database lives.
    pub state: Option<PathBuf>,
    /// An S3-compatible endpoint.
    pub endpoint: Option<String>,
    /// Also write each run's changes apart.
    pub export_changes: bool,
    /// Days a file no longer current is kept.
    pub retention_days: Option<u32>,
}

impl Settings {
    /// The names (as in `pipelines.toml`) of the settings given.
    fn given(&self) -> Vec<&'static str> {
        [
            ("state", self.state.is_some()),
            ("endpoint", self.endpoint.is_some()),
            ("export_changes", self.export_changes),
            ("retention_days", self.retention_days.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }
}

/// A refused destination or setting: the key (as in `pipelines.toml`)
/// and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SettingError {
    pub key: &'static str,
    pub message: String,
}

impl SettingError {
    pub fn new(key: &'static str, message: impl Into<String>) -> Self {
        SettingError {
            key,
            message: message.into(),
        }
    }
}

/// Where a run writes: one destination, shared by the run's parts.
#[derive(Debug, Clone)]
pub struct Target(Arc<dyn Destination>);

impl Target {
    /// Reads `KIND:WHERE` (see [`forms`]) with no other settings.
    pub fn parse(spec: &str) -> Result<Target, String> {
        Target::with_settings(spec, &Settings::default()).map_err(|e| e.message)
    }

    /// Reads `KIND:WHERE` with the pipeline's settings.
    pub fn with_settings(spec: &str, settings: &Settings) -> Result<Target, SettingError> {
        registry::open(spec, settings).map(Target)
    }

    /// A SQLite file.
    pub fn sqlite(path: &Path) -> Target {
        Target::local("sqlite", path)
    }

    /// A local Parquet directory.
    pub fn parquet(dir: &Path) -> Target {
        Target::local("parquet", dir)
    }

    /// A local Delta directory.
    pub fn delta(dir: &Path) -> Target {
        Target::local("delta", dir)
    }

    fn local(kind: &str, path: &Path) -> Target {
        Target::parse(&format!("{kind}:{}", path.display()))
            .unwrap_or_else(|e| panic!("a local {kind} destination: {e}"))
    }

    /// Opens the state database (creating and migrating it).
    pub fn open_store(&self) -> Result<Store, StoreError> {
        Store::open(self.0.state_db())
    }

    /// Opens the existing state database for reading only (see
    /// [`Store::open_read`]).
    pub fn read_store(&self) -> Result<Store, StoreError> {
        Store::open_read(self.0.state_db())
    }
}

impl std::ops::Deref for Target {
    type Target = dyn Destination;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// Where a destination away from this disk keeps its state unless the
/// pipeline says: `.huntr-sync/<place, as a file name>/state.db`,
/// relative to the config file's directory.
pub fn state_beside_config(place: &str) -> PathBuf {
    let slug: String = place
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

/// What a publication wrote.
#[derive(Debug, Default, Clone)]
pub struct Published {
    /// Tables (re)written.
    pub tables: Vec<String>,
    /// Rows written to a changes export.
    pub changes_exported: u64,
}

impl Published {
    /// Adds another publication of the same run.
    pub fn add(&mut self, other: Published) {
        self.tables.extend(other.tables);
        self.changes_exported += other.changes_exported;
    }
}

/// Why publishing failed: the destination's own error, with the path or
/// object it concerns in its message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PublishError(pub Box<dyn std::error::Error + Send + Sync>);

impl PublishError {
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        PublishError(Box::new(e))
    }
}

impl From<storage::StorageError> for PublishError {
    fn from(e: storage::StorageError) -> Self {
        PublishError::new(e)
    }
}

impl From<StoreError> for PublishError {
    fn from(e: StoreError) -> Self {
        PublishError::new(e)
    }
}

impl From<files::FileError> for PublishError {
    fn from(e: files::FileError) -> Self {
        PublishError::new(e)
    }
}
