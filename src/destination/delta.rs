//! The Delta Lake destination: one Delta table per contract table, on a
//! local disk or an object store, for engines that read Delta (Spark and
//! Databricks, Fabric, Trino, DuckDB, Polars, external tables).
//!
//! Like the Parquet destination it keeps its merge state in a store and,
//! after each run, writes every changed table out whole. Each changed
//! table gets one commit (through delta-rs' own transaction log code): the
//! new Parquet file is added and the previous ones removed, so version N of
//! a table holds exactly the rows the run that made it saw, and
//! `VERSION AS OF` / `TIMESTAMP AS OF` show any earlier night. Every
//! commit carries the run id in its commit info (`huntr_sync_run_id`).
//! Commits of different tables cannot be one transaction, so the run then
//! appends, to the `_huntr_sync_runs` Delta table, one row per table with
//! the version current after the run: a reader who wants tables from one
//! run reads each at the version listed there. Files no longer referenced
//! are vacuumed after the retention (default 7 days).
//!
//! A crash between commits leaves every table at a committed version; the
//! store still marks the table changed, so the next run commits it again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake_core::kernel::{Action, Add, StructType};
use deltalake_core::logstore::{default_logstore, logstore_factories, LogStore, LogStoreFactory};
use deltalake_core::logstore::{ObjectStoreRef, StorageConfig};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaResult, DeltaTable, DeltaTableBuilder, DeltaTableError};
use url::Url;

use super::parquet::{arrow_schema, dirty_tables, write_batch_file, write_table};
use super::storage::{self, Bucket, StorageError};
use super::Files;
use super::{PublishError, Published, Publisher};
use crate::schema::{Table, SCHEMA};
use crate::store::{Rows, RunId, Store, StoreError};
use crate::timefmt::now_unix;

/// The table listing each run's version of every table.
pub const RUNS_TABLE: &str = "_huntr_sync_runs";
/// The commit-info key holding the run id.
pub const RUN_ID_KEY: &str = "huntr_sync_run_id";
/// Days a file no longer in the current version is kept (time travel).
pub const DEFAULT_RETENTION_DAYS: u32 = 7;

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
    Parquet(#[from] super::parquet::ParquetError),
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
        PublishError(Box::new(e))
    }
}

fn delta_err(table: &str) -> impl FnOnce(DeltaTableError) -> DeltaError + '_ {
    move |source| DeltaError::Delta {
        table: table.to_owned(),
        source,
    }
}

/// delta-rs finds a table's log store by URL scheme and knows only
/// `file://` and `memory://` by itself; the object stores we open
/// ourselves (see `storage`) use its default log store, whose commits are
/// put-if-absent (S3 conditional writes, Azure and GCS preconditions).
struct OurStores;

impl LogStoreFactory for OurStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

fn register_log_stores() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let registry = logstore_factories();
        for scheme in storage::SCHEMES {
            let url = Url::parse(&format!("{scheme}://")).expect("a scheme URL");
            registry.insert(url, Arc::new(OurStores));
        }
    });
}

/// Opens the Delta table at `rel` under the bucket (not yet loaded).
fn table_handle(bucket: &Bucket, rel: &str) -> Result<DeltaTable, DeltaError> {
    register_log_stores();
    // delta-rs refuses a local directory that does not exist yet.
    if let Ok(dir) = bucket.url_of(rel).to_file_path() {
        std::fs::create_dir_all(&dir).map_err(|source| DeltaError::Io { path: dir, source })?;
    }
    let url = bucket.url_of(rel);
    DeltaTableBuilder::from_url(url.clone())
        .and_then(|b| b.with_storage_backend(bucket.store.clone(), url).build())
        .map_err(delta_err(rel))
}

/// The table at `rel`, loaded at its latest version; `None` if there is no
/// Delta table there yet.
pub async fn load(bucket: &Bucket, rel: &str) -> Result<Option<DeltaTable>, DeltaError> {
    let mut table = table_handle(bucket, rel)?;
    match table.load().await {
        Ok(()) => Ok(Some(table)),
        Err(DeltaTableError::NotATable(_)) => Ok(None),
        Err(e) => Err(delta_err(rel)(e)),
    }
}

/// Publishes the store's tables as Delta tables.
pub struct DeltaPublisher {
    files: Files,
}

impl DeltaPublisher {
    pub fn new(files: &Files) -> Self {
        DeltaPublisher {
            files: files.clone(),
        }
    }
}

impl Publisher for DeltaPublisher {
    fn publish(&mut self, store: &Store, run_id: RunId) -> Result<Published, PublishError> {
        let rt = tokio::runtime::Handle::current();
        let open = Open {
            bucket: storage::open(&self.files.at, &self.files.storage)?,
            spool: self.files.spool(),
            retention_days: self.files.retention_days,
        };
        Ok(rt.block_on(publish(&open, store, run_id))?)
    }
}

/// A publication under way: the destination opened.
struct Open {
    bucket: Bucket,
    spool: PathBuf,
    retention_days: u32,
}

async fn publish(p: &Open, store: &Store, run_id: RunId) -> Result<Published, DeltaError> {
    std::fs::create_dir_all(&p.spool).map_err(|source| DeltaError::Io {
        path: p.spool.clone(),
        source,
    })?;
    clear_spool(&p.spool)?;
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

/// Removes files a killed run left in the spool.
fn clear_spool(spool: &Path) -> Result<(), DeltaError> {
    let io = |source| DeltaError::Io {
        path: spool.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(spool).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

/// The highest run id recorded in the destination's commits (each table's
/// latest one), if it has any tables.
pub async fn highest_run_id(bucket: &Bucket) -> Result<Option<RunId>, DeltaError> {
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

/// The Delta schema of a declared table.
fn delta_schema(arrow: &Schema, table: &str) -> Result<StructType, DeltaError> {
    arrow.try_into_kernel().map_err(|e| DeltaError::Delta {
        table: table.to_owned(),
        source: DeltaTableError::from(e),
    })
}

/// Commit info naming the run.
fn run_properties(run_id: RunId) -> CommitProperties {
    CommitProperties::default().with_metadata([(RUN_ID_KEY.to_owned(), serde_json::json!(run_id))])
}

/// The table at `rel` with `schema`: created if missing, its metadata
/// replaced if the declared columns changed (a new release).
async fn table_with_schema(
    bucket: &Bucket,
    rel: &str,
    schema: &Schema,
    run_id: RunId,
) -> Result<DeltaTable, DeltaError> {
    let want = delta_schema(schema, rel)?;
    let existing = load(bucket, rel).await?;
    let mode = match &existing {
        Some(t) if *t.snapshot().map_err(delta_err(rel))?.schema() == want => {
            return Ok(existing.expect("checked"))
        }
        // The columns changed: the next commit replaces every row anyway.
        Some(_) => SaveMode::Overwrite,
        None => SaveMode::ErrorIfExists,
    };
    let handle = table_handle(bucket, rel)?;
    let mut builder = deltalake_core::operations::create::CreateBuilder::new()
        .with_log_store(handle.log_store())
        .with_table_name(rel)
        .with_columns(want.fields().cloned())
        .with_save_mode(mode)
        .with_commit_properties(run_properties(run_id));
    if mode == SaveMode::ErrorIfExists {
        builder = builder.with_comment("written by huntr-sync");
    }
    builder.await.map_err(delta_err(rel))
}

/// A new data file of the table at `rel`, written by `write` (which
/// returns its rows): in place in a local table's directory (`write` goes
/// through a temporary name), else in the spool and then uploaded. Returns
/// its `add` action and rows; until the action is committed, readers never
/// see the file.
async fn add_file(
    p: &Open,
    rel: &str,
    run_id: RunId,
    write: impl FnOnce(&Path) -> Result<u64, DeltaError>,
) -> Result<(Add, u64), DeltaError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!("part-{run_id:08}-{nanos:x}.zstd.parquet");
    let (rows, size) = match p.bucket.url_of(rel).to_file_path() {
        Ok(dir) => {
            let path = dir.join(&name);
            let rows = write(&path)?;
            let size = std::fs::metadata(&path)
                .map_err(|source| DeltaError::Io { path, source })?
                .len();
            (rows, size)
        }
        Err(()) => {
            let file = p.spool.join(format!("{rel}.parquet"));
            let rows = write(&file)?;
            let size = p.bucket.upload(&file, &format!("{rel}/{name}")).await;
            let _ = std::fs::remove_file(&file);
            (rows, size?)
        }
    };
    let add = Add {
        path: name,
        partition_values: HashMap::new(),
        size: size as i64,
        modification_time: now_unix() * 1000,
        data_change: true,
        stats: Some(serde_json::json!({ "numRecords": rows }).to_string()),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    };
    Ok((add, rows))
}

/// Commits `actions` to `table` as one write in `mode`; returns the version.
async fn commit(
    table: &DeltaTable,
    rel: &str,
    actions: Vec<Action>,
    mode: SaveMode,
    run_id: RunId,
) -> Result<i64, DeltaError> {
    let snapshot = table.snapshot().map_err(delta_err(rel))?;
    let done = CommitBuilder::from(run_properties(run_id))
        .with_actions(actions)
        .build(
            Some(snapshot),
            table.log_store(),
            DeltaOperation::Write {
                mode,
                partition_by: None,
                predicate: None,
            },
        )
        .await
        .map_err(delta_err(rel))?;
    Ok(done.version() as i64)
}

/// Makes a new file of all of table `t`'s rows the table's only file, in
/// one commit. Returns the table brought up to that commit, the version
/// committed and the rows.
async fn replace_table(
    p: &Open,
    store: &Store,
    t: &Table,
    run_id: RunId,
) -> Result<(DeltaTable, i64, u64), DeltaError> {
    let rel = t.name.as_str();
    let mut table = table_with_schema(&p.bucket, rel, &arrow_schema(t), run_id).await?;
    let (add, rows) = add_file(p, rel, run_id, |path| {
        Ok(write_table(store, t, Rows::All, path)?)
    })
    .await?;
    crate::memory::release_free_memory();
    let snapshot = table.snapshot().map_err(delta_err(rel))?;
    let mut actions: Vec<Action> = snapshot
        .log_data()
        .iter()
        .map(|f| Action::Remove(f.remove_action(true)))
        .collect();
    actions.push(Action::Add(add));
    let version = commit(&table, rel, actions, SaveMode::Overwrite, run_id).await?;
    // Only the new commit is read, not the whole log again.
    table
        .update_incremental(None)
        .await
        .map_err(delta_err(rel))?;
    Ok((table, version, rows))
}

/// The runs table's columns.
fn runs_schema() -> Schema {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Schema::new(vec![
        Field::new("run_id", DataType::Int64, false),
        Field::new("published_at", ts, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("version", DataType::Int64, false),
        Field::new("rows", DataType::Int64, false),
    ])
}

/// Appends one row per published table: the version current after `run_id`.
async fn append_run(p: &Open, store: &Store, run_id: RunId) -> Result<u64, DeltaError> {
    // Only the contract tables' publications carry a version.
    let versions = store.published_versions()?;
    let schema = Arc::new(runs_schema());
    let n = versions.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![run_id; n])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![now_unix() * 1_000_000; n]).with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(
            versions.iter().map(|v| v.0.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(versions.iter().map(|v| v.1))),
        Arc::new(Int64Array::from_iter_values(
            versions.iter().map(|v| v.2 as i64),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| DeltaError::Delta {
        table: RUNS_TABLE.into(),
        source: e.into(),
    })?;
    let table = table_with_schema(&p.bucket, RUNS_TABLE, &schema, run_id).await?;
    let (add, _) = add_file(p, RUNS_TABLE, run_id, |path| {
        write_batch_file(&batch, path)?;
        Ok(n as u64)
    })
    .await?;
    commit(
        &table,
        RUNS_TABLE,
        vec![Action::Add(add)],
        SaveMode::Append,
        run_id,
    )
    .await?;
    Ok(n as u64)
}

/// Deletes the table's files that no version within the retention uses.
async fn vacuum(table: DeltaTable, rel: &str, days: u32, run_id: RunId) -> Result<(), DeltaError> {
    table
        .vacuum()
        .with_retention_period(chrono::Duration::days(days.into()))
        .with_enforce_retention_duration(false)
        .with_commit_properties(run_properties(run_id))
        .await
        .map_err(delta_err(rel))?;
    Ok(())
}
