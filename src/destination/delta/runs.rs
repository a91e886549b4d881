//! The `_huntr_sync_runs` Delta table: commits of different tables cannot
//! be one transaction, so after its commits a run appends one row per
//! table with the version current after it; a reader who wants every table
//! as one run left it reads each at the version listed there.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use deltalake_core::kernel::Action;
use deltalake_core::protocol::SaveMode;

use super::table::{add_file, commit, table_with_schema};
use super::{DeltaError, DeltaPublication, RUNS_TABLE};
use crate::destination::files::write_batch_file;
use crate::store::{RunId, Tables};
use crate::timefmt::now_unix;

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
pub(super) async fn append_run(
    p: &DeltaPublication,
    tables: &Tables<'_>,
    run_id: RunId,
) -> Result<u64, DeltaError> {
    // Only the contract tables' publications carry a version.
    let versions = tables.published_versions()?;
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
