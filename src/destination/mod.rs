//! Destinations: where a sync's tables end up. Every destination keeps its
//! merge state in a [`Store`]; a SQLite destination *is* that store, and
//! any other one is a [`Publisher`] that, after each run, writes what the
//! store holds to its own format. `sync` and `webhook` only ever see a
//! [`Target`], a store and a list of publishers, so a new destination
//! plugs in here (a variant, its state file, its publisher) and nowhere
//! else.

pub mod export;
pub mod parquet;

use std::path::PathBuf;

use crate::store::{RunId, Store, StoreError};

/// Where a sync writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Sqlite(PathBuf),
    /// A directory of Parquet files; its merge state lives inside it.
    Parquet {
        dir: PathBuf,
        export_changes: bool,
    },
}

impl Target {
    /// Reads `sqlite:PATH` or `parquet:DIR` (the changes export off).
    pub fn parse(s: &str) -> Result<Target, String> {
        let (kind, path) = s
            .split_once(':')
            .ok_or_else(|| format!("destination `{s}` must be sqlite:PATH or parquet:DIR"))?;
        if path.is_empty() {
            return Err(format!("destination `{s}` has no path"));
        }
        match kind {
            "sqlite" => Ok(Target::Sqlite(path.into())),
            "parquet" => Ok(Target::Parquet {
                dir: path.into(),
                export_changes: false,
            }),
            _ => Err(format!(
                "destination `{s}`: unknown kind `{kind}` (use sqlite:PATH or parquet:DIR)"
            )),
        }
    }

    /// Turns the changes export on; only a Parquet destination has one.
    pub fn export_changes(&mut self) -> Result<(), &'static str> {
        match self {
            Target::Parquet { export_changes, .. } => {
                *export_changes = true;
                Ok(())
            }
            Target::Sqlite(_) => Err("only applies to parquet:DIR destinations"),
        }
    }

    /// The state database that holds the merge state (and, for SQLite, the
    /// tables).
    pub fn state_db(&self) -> PathBuf {
        match self {
            Target::Sqlite(p) => p.clone(),
            Target::Parquet { dir, .. } => parquet::state_db(dir),
        }
    }

    /// How the summary names it.
    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite(p) => p.display().to_string(),
            Target::Parquet { dir, .. } => format!("{} (Parquet)", dir.display()),
        }
    }

    /// What runs after each sync to write the store out.
    pub fn publishers(&self) -> Vec<Box<dyn Publisher>> {
        match self {
            Target::Sqlite(_) => Vec::new(),
            Target::Parquet {
                dir,
                export_changes,
            } => vec![Box::new(parquet::ParquetPublisher::new(
                dir,
                *export_changes,
            ))],
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
