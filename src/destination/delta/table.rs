//! Delta tables through delta-rs: opening one on our object stores,
//! creating it with the declared columns, adding a data file, committing,
//! replacing every row in one commit, and vacuuming old files.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Once};

use arrow_schema::Schema;
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake_core::kernel::{Action, Add, StructType};
use deltalake_core::logstore::{default_logstore, logstore_factories, LogStore, LogStoreFactory};
use deltalake_core::logstore::{ObjectStoreRef, StorageConfig};
use deltalake_core::protocol::{DeltaOperation, SaveMode};
use deltalake_core::{DeltaResult, DeltaTable, DeltaTableBuilder, DeltaTableError};
use url::Url;

use super::{delta_err, DeltaError, DeltaPublication, RUN_ID_KEY};
use crate::destination::files::{arrow_schema, write_table};
use crate::destination::storage::{self, Bucket};
use crate::schema::Table;
use crate::store::{Rows, RunId, Tables};
use crate::timefmt::now_unix;

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
pub(super) fn table_handle(bucket: &Bucket, rel: &str) -> Result<DeltaTable, DeltaError> {
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

/// The Delta schema of a declared table.
fn delta_schema(arrow: &Schema, table: &str) -> Result<StructType, DeltaError> {
    arrow.try_into_kernel().map_err(|e| DeltaError::Delta {
        table: table.to_owned(),
        source: DeltaTableError::from(e),
    })
}

/// Commit info naming the run.
pub(super) fn run_properties(run_id: RunId) -> CommitProperties {
    CommitProperties::default().with_metadata([(RUN_ID_KEY.to_owned(), serde_json::json!(run_id))])
}

/// The table at `rel` with `schema`: created if missing, its metadata
/// replaced if the declared columns changed (a new release).
pub(super) async fn table_with_schema(
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
/// returns its rows) into the spool and moved into the table's directory
/// through the object-store layer. Returns its `add` action and rows;
/// until the action is committed, readers never see the file.
pub(super) async fn add_file(
    p: &DeltaPublication,
    rel: &str,
    run_id: RunId,
    write: impl FnOnce(&Path) -> Result<u64, DeltaError>,
) -> Result<(Add, u64), DeltaError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!("part-{run_id:08}-{nanos:x}.zstd.parquet");
    let file = p.spool.join(format!("{rel}.parquet"));
    let rows = write(&file)?;
    let size = p
        .bucket
        .publish_file(&file, &format!("{rel}/{name}"))
        .await?;
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
pub(super) async fn commit(
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
pub(super) async fn replace_table(
    p: &DeltaPublication,
    tables: &Tables<'_>,
    t: &Table,
    run_id: RunId,
) -> Result<(DeltaTable, i64, u64), DeltaError> {
    let rel = t.name.as_str();
    let mut table = table_with_schema(&p.bucket, rel, &arrow_schema(t), run_id).await?;
    let (add, rows) = add_file(p, rel, run_id, |path| {
        Ok(write_table(tables, t, Rows::All, path)?)
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

/// Deletes the table's files that no version within the retention uses.
pub(super) async fn vacuum(
    table: DeltaTable,
    rel: &str,
    days: u32,
    run_id: RunId,
) -> Result<(), DeltaError> {
    table
        .vacuum()
        .with_retention_period(chrono::Duration::days(days.into()))
        .with_enforce_retention_duration(false)
        .with_commit_properties(run_properties(run_id))
        .await
        .map_err(delta_err(rel))?;
    Ok(())
}
