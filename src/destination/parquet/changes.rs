//! The changes export, for warehouse loads: per run, only the rows
//! inserted, changed or deleted since the last export, as
//! `_changes/run=<id>/<table>.parquet`, and last `_manifest.json` listing
//! those files. Child tables hold every child of a changed parent, so a
//! loader replaces children by parent key. A run's changes are complete
//! once its manifest exists (on local disk the whole directory appears at
//! once, by a rename; in a bucket the manifest is uploaded last).

use std::path::Path;

use tokio::runtime::Handle;

use crate::destination::files::{write_table, FileError};
use crate::destination::storage::Bucket;
use crate::destination::PublishError;
use crate::schema::SCHEMA;
use crate::store::{Rows, RunId, Tables};

/// The file that marks a run's changes complete.
pub const MANIFEST: &str = "_manifest.json";

/// Writes and publishes the rows changed since the last export; returns
/// how many.
pub fn export(
    rt: &Handle,
    bucket: &Bucket,
    spool: &Path,
    tables: &Tables<'_>,
    run_id: RunId,
) -> Result<u64, PublishError> {
    let since = tables.published("_changes")?.unwrap_or(0);
    let rows = Rows::ChangedSince(since);
    let dir = spool.join(format!("changes-run={run_id}"));
    std::fs::create_dir_all(&dir).map_err(|e| FileError::io(&dir, e))?;
    let mut listed = Vec::new();
    let mut total = 0;
    for t in &SCHEMA.tables {
        if tables.count(t, rows)? == 0 {
            continue;
        }
        let name = format!("{}.parquet", t.name);
        let n = write_table(tables, t, rows, &dir.join(&name))?;
        listed.push(serde_json::json!({"table": t.name, "file": name, "rows": n}));
        total += n;
    }
    if total > 0 {
        let manifest = serde_json::json!({"run_id": run_id, "files": listed});
        let path = dir.join(MANIFEST);
        let bytes = serde_json::to_vec_pretty(&manifest).expect("JSON");
        std::fs::write(&path, bytes).map_err(|e| FileError::io(&path, e))?;
        rt.block_on(bucket.publish_dir(&dir, &format!("_changes/run={run_id}"), MANIFEST))?;
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    tables.mark_published("_changes", run_id, total)?;
    Ok(total)
}
