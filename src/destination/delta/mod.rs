//! The Delta Lake destination: one Delta table per contract table, on a
//! local disk or an object store, for engines that read Delta (Spark and
//! Databricks, Fabric, Trino, DuckDB, Polars, external tables).
//!
//! Like the Parquet destination it keeps its merge state in a store and,
//! after each run, writes every changed table out whole. Each changed
//! table gets one commit (through delta-rs' own transaction log code,
//! `table`): the new Parquet file is added and the previous ones removed,
//! so version N of a table holds exactly the rows the run that made it
//! saw, and `VERSION AS OF` / `TIMESTAMP AS OF` show any earlier night.
//! Every commit carries the run id in its commit info
//! (`huntr_sync_run_id`). Commits of different tables cannot be one
//! transaction, so the run then appends, to the `_huntr_sync_runs` Delta
//! table (`runs`), one row per table with the version current after the
//! run. Files no longer referenced are vacuumed after the retention.
//!
//! A crash between commits leaves every table at a committed version; the
//! store still marks the table changed, so the next run commits it again.

mod runs;
mod table;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use deltalake_core::DeltaTableError;
use futures_util::future::BoxFuture;
use tokio::runtime::Handle;

use super::files::{self, dirty_tables, Files};
use super::storage::{Bucket, StorageError};
use super::{Claim, Destination, PublishError, Published, SettingError, Settings};
use crate::schema::SCHEMA;
use crate::store::{LockError, RunId, StoreError, Tables};
use runs::append_run;
use table::{load, replace_table, vacuum};

/// The table listing each run's version of every table.
pub const RUNS_TABLE: &str = "_huntr_sync_runs";
/// The commit-info key holding the run id.
pub const RUN_ID_KEY: &str = "huntr_sync_run_id";

#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error("Delta table {table}: {source}")]
    Delta {
        table: String,
        source: DeltaTableError,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    File(#[from] crate::destination::files::FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<DeltaError> for PublishError {
    fn from(e: DeltaError) -> Self {
        PublishError::new(e)
    }
}

fn delta_err(table: &str) -> impl FnOnce(DeltaTableError) -> DeltaError + '_ {
    move |source| DeltaError::Delta {
        table: table.to_owned(),
        source,
    }
}

/// Delta tables, in a directory or under a URL.
#[derive(Debug)]
pub struct DeltaDestination {
    files: Files,
    /// Days a file no longer current is kept for time travel.
    retention_days: u32,
}

impl DeltaDestination {
    pub fn open(place: &str, settings: &Settings) -> Result<Arc<dyn Destination>, SettingError> {
        Ok(Arc::new(DeltaDestination {
            files: Files::new(place, settings)?,
            retention_days: settings
                .retention_days
                .unwrap_or(crate::defaults::DELTA_RETENTION_DAYS),
        }))
    }
}

impl Destination for DeltaDestination {
    fn describe(&self) -> String {
        format!("{} (Delta Lake)", self.files.at.describe())
    }

    fn state_db(&self) -> &Path {
        &self.files.state
    }

    fn is_remote(&self) -> bool {
        self.files.at.is_remote()
    }

    fn claim<'a>(
        &'a self,
        what: &'a str,
    ) -> BoxFuture<'a, Result<Option<Box<dyn Claim>>, LockError>> {
        self.files.claim(what)
    }

    fn check_writable(&self) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async { Ok(self.files.check_writable().await?) })
    }

    fn highest_run_id(&self) -> BoxFuture<'_, Result<Option<RunId>, PublishError>> {
        Box::pin(async { Ok(highest_run_id(&self.files.bucket()?).await?) })
    }

    fn publish(
        &self,
        tables: &Tables<'_>,
        run_id: RunId,
        rt: &Handle,
    ) -> Result<Published, PublishError> {
        let open = DeltaPublication {
            bucket: self.files.bucket()?,
            spool: self.files.spool()?,
            retention_days: self.retention_days,
        };
        Ok(rt.block_on(publish(&open, tables, run_id))?)
    }
}

/// A publication under way: the destination opened.
struct DeltaPublication {
    bucket: Bucket,
    spool: PathBuf,
    retention_days: u32,
}

async fn publish(
    p: &DeltaPublication,
    store: &Tables<'_>,
    run_id: RunId,
) -> Result<Published, DeltaError> {
    files::clear_spool(&p.spool)?;
    let present = p.bucket.dirs("").await?;
    // A table whose last commit was not recorded (a crash) goes again.
    let known: Vec<String> = store
        .published_versions()?
        .into_iter()
        .map(|v| v.0)
        .collect();
    let dirty = dirty_tables(store, |name| {
        present.iter().any(|p| p == name) && known.iter().any(|k| k == name)
    })?;
    store.prepare_for_scans()?;
    for name in &dirty {
        let t = SCHEMA.get(name).expect("schema table");
        store.forget_version(name)?;
        let (table, version, rows) = replace_table(p, store, t, run_id).await?;
        store.mark_published_version(name, run_id, rows, version)?;
        vacuum(table, name, p.retention_days, run_id).await?;
    }
    // The runs table is due after any commit it does not list yet (one
    // this run made, or one of a run killed before listing it).
    let listed = store.published(RUNS_TABLE)?.unwrap_or(0);
    let mut latest = 0;
    for t in &SCHEMA.tables {
        latest = latest.max(store.published(&t.name)?.unwrap_or(0));
    }
    if latest > listed {
        let n = append_run(p, store, run_id).await?;
        store.mark_published(RUNS_TABLE, run_id, n)?;
    }
    Ok(Published {
        tables: dirty,
        changes_exported: 0,
    })
}

/// The highest run id recorded in the destination's commits (each table's
/// latest one), if it has any tables.
async fn highest_run_id(bucket: &Bucket) -> Result<Option<RunId>, DeltaError> {
    use futures_util::{stream, StreamExt, TryStreamExt};
    let names = bucket.dirs("").await?;
    let ids: Vec<Option<RunId>> = stream::iter(names)
        .map(|name| async move {
            let Some(table) = load(bucket, &name).await? else {
                return Ok(None);
            };
            let last = table.history(Some(1)).next().await;
            Ok::<_, DeltaError>(
                last.and_then(Result::ok)
                    .and_then(|c| c.info.get(RUN_ID_KEY).and_then(|v| v.as_i64())),
            )
        })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    Ok(ids.into_iter().flatten().max())
}
