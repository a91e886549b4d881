//! Parquet under an object-store URL (`parquet:s3://bucket/prefix`).
//!
//! Object stores have no rename, but they make an upload visible only when
//! it completes, at once. So each table stays one object,
//! `<prefix>/<table>/<table>.parquet`, written to a local spool and then
//! uploaded over the old one: a reader gets the old table or the new one.
//! The changes export writes `_changes/run=<id>/<table>.parquet` and then,
//! last, `_changes/run=<id>/_manifest.json` listing those files: a run's
//! changes are complete once its manifest exists, and a reader reads only
//! the files a manifest lists.

use std::path::Path;

use tokio::runtime::Handle;

use super::{dirty_tables, write_table, ParquetError};
use crate::destination::storage::{self, Bucket};
use crate::destination::{Files, PublishError, Published};
use crate::schema::SCHEMA;
use crate::store::{Rows, RunId, Store};

/// The manifest that marks a run's changes complete.
pub const MANIFEST: &str = "_manifest.json";

pub fn publish(files: &Files, store: &Store, run_id: RunId) -> Result<Published, PublishError> {
    let rt = Handle::current();
    let bucket = storage::open(&files.at, &files.storage)?;
    let spool = files.spool();
    std::fs::create_dir_all(&spool).map_err(|e| ParquetError::io(&spool, e))?;
    let present = rt.block_on(bucket.dirs(""))?;
    let dirty = dirty_tables(store, |name| present.iter().any(|p| p == name))?;
    store.prepare_for_scans()?;
    for name in &dirty {
        let t = SCHEMA.get(name).expect("schema table");
        let file = spool.join(format!("{name}.parquet"));
        let rows = write_table(store, t, Rows::All, &file)?;
        crate::memory::release_free_memory();
        rt.block_on(bucket.upload(&file, &format!("{name}/{name}.parquet")))?;
        let _ = std::fs::remove_file(&file);
        store.mark_published(name, run_id, rows)?;
    }
    let changes_exported = if files.export_changes {
        export_changes(&rt, &bucket, &spool, store, run_id)?
    } else {
        0
    };
    Ok(Published {
        tables: dirty,
        changes_exported,
    })
}

/// Uploads the rows changed since the last export, then the manifest.
fn export_changes(
    rt: &Handle,
    bucket: &Bucket,
    spool: &Path,
    store: &Store,
    run_id: RunId,
) -> Result<u64, PublishError> {
    let since = store.published("_changes")?.unwrap_or(0);
    let rows = Rows::ChangedSince(since);
    let dir = format!("_changes/run={run_id}");
    let mut listed = Vec::new();
    let mut total = 0;
    for t in &SCHEMA.tables {
        if store.count(t, rows)? == 0 {
            continue;
        }
        let file = spool.join(format!("changes-{}.parquet", t.name));
        let n = write_table(store, t, rows, &file)?;
        let name = format!("{}.parquet", t.name);
        rt.block_on(bucket.upload(&file, &format!("{dir}/{name}")))?;
        let _ = std::fs::remove_file(&file);
        listed.push(serde_json::json!({"table": t.name, "file": name, "rows": n}));
        total += n;
    }
    if total > 0 {
        let manifest = serde_json::json!({"run_id": run_id, "files": listed});
        let bytes = serde_json::to_vec_pretty(&manifest).expect("JSON");
        rt.block_on(bucket.put(&format!("{dir}/{MANIFEST}"), bytes))?;
    }
    store.mark_published("_changes", run_id, total)?;
    Ok(total)
}
