//! The Parquet destination: one directory per table, for warehouses and BI.
//!
//! Merging (upserts, snapshots, deletions, mirrors) needs random access
//! that Parquet files do not give, so a Parquet destination keeps its merge
//! state in a SQLite file inside the directory (`_huntr_sync/state.db`,
//! written exactly as a SQLite destination is) and, after each run,
//! publishes every table that changed as one Parquet file:
//! `DIR/<table>/<table>.parquet`, written aside and renamed into place, so
//! a reader or a crash never sees half a table. A table whose publication
//! was interrupted is published by the next run (`sync_published` records
//! which run each file reflects).
//!
//! The optional changes export writes, per run, only the rows inserted,
//! changed or deleted since the last export: `DIR/_changes/run=<id>/`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rusqlite::types::ValueRef;
use rusqlite::{params, OptionalExtension};

use super::sqlite::SqliteDest;
use crate::schema::{ColType, Column, Table, SCHEMA, UPD_RUN};
use crate::timefmt::{iso, now_unix, parse_iso};

/// Rows per Arrow batch handed to the writer.
const BATCH_ROWS: usize = 8192;
/// A row group is flushed at this many rows or bytes, whichever first.
const ROW_GROUP_ROWS: usize = 65_536;
const ROW_GROUP_BYTES: usize = 8 << 20;
/// A column's dictionary falls back to plain encoding beyond this size.
const DICTIONARY_BYTES: usize = 256 << 10;

#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
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
    #[error("reading the merge state for {table}: {source}")]
    Sql {
        table: String,
        source: rusqlite::Error,
    },
}

/// Where a Parquet destination keeps its merge state.
pub fn state_db(dir: &Path) -> PathBuf {
    dir.join("_huntr_sync").join("state.db")
}

pub fn table_file(dir: &Path, table: &str) -> PathBuf {
    dir.join(table).join(format!("{table}.parquet"))
}

/// What users see of a table: its declared columns and `_extra`.
fn columns(t: &Table) -> Vec<&Column> {
    t.visible().collect()
}

/// The Arrow schema of a table, from `schema/`.
pub fn arrow_schema(t: &Table) -> Schema {
    let fields: Vec<Field> = columns(t)
        .iter()
        .map(|c| {
            let ty = match c.ty {
                ColType::Text | ColType::Value => DataType::Utf8,
                ColType::Timestamp => {
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                }
                ColType::Bool => DataType::Boolean,
                ColType::Int => DataType::Int64,
                ColType::Float => DataType::Float64,
            };
            Field::new(&c.name, ty, true)
        })
        .collect();
    Schema::new(fields)
}

enum Builder {
    Str(StringBuilder),
    Ts(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
}

impl Builder {
    fn new(ty: ColType) -> Builder {
        match ty {
            ColType::Text | ColType::Value => Builder::Str(StringBuilder::new()),
            ColType::Timestamp => {
                Builder::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            ColType::Bool => Builder::Bool(BooleanBuilder::new()),
            ColType::Int => Builder::Int(Int64Builder::new()),
            ColType::Float => Builder::Float(Float64Builder::new()),
        }
    }

    /// Appends a SQLite cell, converting from its stored form.
    fn push(&mut self, v: ValueRef<'_>) {
        let text = |v: ValueRef<'_>| match v {
            ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Integer(i) => Some(i.to_string()),
            ValueRef::Real(f) => Some(f.to_string()),
            _ => None,
        };
        match self {
            Builder::Str(b) => b.append_option(text(v)),
            Builder::Ts(b) => b.append_option(match v {
                ValueRef::Text(t) => std::str::from_utf8(t)
                    .ok()
                    .and_then(parse_iso)
                    .map(|s| s * 1_000_000),
                ValueRef::Integer(i) => Some(i * 1_000_000),
                _ => None,
            }),
            Builder::Bool(b) => b.append_option(match v {
                ValueRef::Integer(i) => Some(i != 0),
                _ => None,
            }),
            Builder::Int(b) => b.append_option(match v {
                ValueRef::Integer(i) => Some(i),
                ValueRef::Real(f) => Some(f as i64),
                _ => None,
            }),
            Builder::Float(b) => b.append_option(match v {
                ValueRef::Real(f) => Some(f),
                ValueRef::Integer(i) => Some(i as f64),
                _ => None,
            }),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
        }
    }
}

/// Streams the rows `filter` selects from the merge state into a Parquet
/// file at `path` (written to a temporary name, then renamed). Returns the
/// number of rows.
fn write_table(
    dest: &SqliteDest,
    t: &Table,
    filter: &str,
    path: &Path,
) -> Result<u64, ParquetError> {
    let cols = columns(t);
    let schema = Arc::new(arrow_schema(t));
    let dir = path.parent().expect("table files live in a directory");
    std::fs::create_dir_all(dir).map_err(|source| ParquetError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("table")
    ));
    let io = |source| ParquetError::Io {
        path: tmp.clone(),
        source,
    };
    let pq = |source| ParquetError::Parquet {
        path: tmp.clone(),
        source,
    };
    let file = File::create(&tmp).map_err(io)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        // Dictionaries of the high-cardinality columns (ids, times) would
        // otherwise grow to 1 MiB each before falling back to plain.
        .set_dictionary_page_size_limit(DICTIONARY_BYTES)
        .set_created_by(concat!("huntr-sync ", env!("CARGO_PKG_VERSION")).into())
        .build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(pq)?;
    let sql_err = |source| ParquetError::Sql {
        table: t.name.clone(),
        source,
    };
    let select: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE {filter} ORDER BY {}",
        select.join(", "),
        t.name,
        t.key.join(", ")
    );
    let mut stmt = dest.conn().prepare(&sql).map_err(sql_err)?;
    let mut rows = stmt.query([]).map_err(sql_err)?;
    let mut builders: Vec<Builder> = cols.iter().map(|c| Builder::new(c.ty)).collect();
    let mut pending = 0usize;
    let mut total = 0u64;
    let flush = |builders: &mut Vec<Builder>,
                 writer: &mut ArrowWriter<File>|
     -> Result<(), ParquetError> {
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        let batch =
            RecordBatch::try_new(schema.clone(), arrays).map_err(|source| ParquetError::Arrow {
                table: t.name.clone(),
                source,
            })?;
        writer.write(&batch).map_err(pq)?;
        if writer.in_progress_size() > ROW_GROUP_BYTES {
            writer.flush().map_err(pq)?;
        }
        Ok(())
    };
    while let Some(row) = rows.next().map_err(sql_err)? {
        for (i, b) in builders.iter_mut().enumerate() {
            b.push(row.get_ref(i).map_err(sql_err)?);
        }
        pending += 1;
        total += 1;
        if pending == BATCH_ROWS {
            flush(&mut builders, &mut writer)?;
            pending = 0;
        }
    }
    if pending > 0 || total == 0 {
        flush(&mut builders, &mut writer)?;
    }
    let file = writer.into_inner().map_err(pq)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|source| ParquetError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(total)
}

const PUBLISHED: &str = "CREATE TABLE IF NOT EXISTS sync_published (
  name TEXT PRIMARY KEY,
  run_id INTEGER NOT NULL,
  rows INTEGER,
  published_at TEXT
)";

/// The last run that changed `t`: recorded with the change itself; a
/// merge state written before that bookkeeping existed is scanned once.
fn last_change(dest: &SqliteDest, t: &Table) -> Result<i64, ParquetError> {
    let sql = |source| ParquetError::Sql {
        table: t.name.clone(),
        source,
    };
    let recorded: Option<i64> = dest
        .conn()
        .query_row(
            "SELECT run_id FROM sync_table_changes WHERE name = ?",
            [&t.name],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    match recorded {
        Some(run) => Ok(run),
        None => dest
            .conn()
            .query_row(
                &format!("SELECT COALESCE(MAX({UPD_RUN}), 0) FROM {}", t.name),
                [],
                |r| r.get(0),
            )
            .map_err(sql),
    }
}

fn published(dest: &SqliteDest, name: &str) -> Result<Option<i64>, ParquetError> {
    let sql = |source| ParquetError::Sql {
        table: name.to_owned(),
        source,
    };
    dest.conn().execute(PUBLISHED, []).map_err(sql)?;
    dest.conn()
        .query_row(
            "SELECT run_id FROM sync_published WHERE name = ?",
            [name],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)
}

fn mark_published(
    dest: &SqliteDest,
    name: &str,
    run_id: i64,
    rows: u64,
) -> Result<(), ParquetError> {
    dest.conn()
        .execute(
            "INSERT INTO sync_published (name, run_id, rows, published_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id, rows = excluded.rows,
               published_at = excluded.published_at",
            params![name, run_id, rows as i64, iso(now_unix())],
        )
        .map_err(|source| ParquetError::Sql {
            table: name.to_owned(),
            source,
        })?;
    Ok(())
}

/// Publishes every table changed since its file was last written (and any
/// missing file). Returns the tables published.
pub fn publish(dest: &SqliteDest, dir: &Path, run_id: i64) -> Result<Vec<String>, ParquetError> {
    let mut dirty: Vec<String> = Vec::new();
    for t in &SCHEMA.tables {
        let last = published(dest, &t.name)?;
        let parent_dirty = t.parent.as_ref().is_some_and(|(p, _)| dirty.contains(p));
        let changed = match last {
            None => true,
            Some(run) => last_change(dest, t)? > run,
        };
        if changed || parent_dirty || !table_file(dir, &t.name).exists() {
            dirty.push(t.name.clone());
        }
    }
    // Publishing scans tables in key order: a small page cache does, and
    // the sync's 16 MiB of cached pages would only add to the peak RSS.
    dest.conn()
        .execute_batch("PRAGMA cache_size = -2048; PRAGMA shrink_memory;")
        .map_err(|source| ParquetError::Sql {
            table: "(page cache)".into(),
            source,
        })?;
    crate::memory::release_free_memory();
    for name in &dirty {
        let t = SCHEMA.get(name).expect("schema table");
        let rows = write_table(dest, t, "1", &table_file(dir, name))?;
        crate::memory::release_free_memory();
        mark_published(dest, name, run_id, rows)?;
    }
    Ok(dirty)
}

/// Writes the rows changed since the last export into
/// `DIR/_changes/run=<run_id>/<table>.parquet` (a new directory, renamed
/// into place when complete). Child tables hold every child of a changed
/// parent: replace children by parent key. Returns the rows written.
pub fn export_changes(dest: &SqliteDest, dir: &Path, run_id: i64) -> Result<u64, ParquetError> {
    let since = published(dest, "_changes")?.unwrap_or(0);
    let root = dir.join("_changes");
    let tmp = root.join(format!(".run={run_id}.tmp"));
    let done = root.join(format!("run={run_id}"));
    let io = |path: &Path, source| ParquetError::Io {
        path: path.to_owned(),
        source,
    };
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    }
    let mut total = 0;
    for t in &SCHEMA.tables {
        let filter = match &t.parent {
            None => format!("{UPD_RUN} > {since}"),
            Some((parent, col)) => {
                let p = SCHEMA.get(parent).expect("parent table");
                format!(
                    "{col} IN (SELECT {} FROM {parent} WHERE {UPD_RUN} > {since})",
                    p.key[0]
                )
            }
        };
        let n: i64 = dest
            .conn()
            .query_row(
                &format!("SELECT COUNT(*) FROM {} WHERE {filter}", t.name),
                [],
                |r| r.get(0),
            )
            .map_err(|source| ParquetError::Sql {
                table: t.name.clone(),
                source,
            })?;
        if n > 0 {
            total += write_table(dest, t, &filter, &tmp.join(format!("{}.parquet", t.name)))?;
        }
    }
    if total > 0 {
        if done.exists() {
            std::fs::remove_dir_all(&done).map_err(|e| io(&done, e))?;
        }
        std::fs::rename(&tmp, &done).map_err(|e| io(&done, e))?;
    }
    mark_published(dest, "_changes", run_id, total)?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_committed_by_a_run_that_never_published_is_published_next() {
        use crate::flatten::{record, Mode, Op};
        let dir = tempfile::tempdir().unwrap();
        let mut dest = SqliteDest::open(&state_db(dir.path())).unwrap();
        let employer = |name: &str, as_of| {
            let v = serde_json::json!({"id": "e1", "name": name});
            Op::Upsert(record(
                crate::schema::tables::employers::TABLE,
                crate::json::Node::from_value(&v).as_object().unwrap(),
                Mode::Full,
                as_of,
            ))
        };
        let run1 = dest.begin_run(0, "employers").unwrap();
        dest.apply(&[employer("Acme", 10)], run1, None, 0).unwrap();
        let first = publish(&dest, dir.path(), run1).unwrap();
        assert!(first.contains(&"employers".to_owned()));
        let run2 = dest.begin_run(0, "employers").unwrap();
        assert!(publish(&dest, dir.path(), run2).unwrap().is_empty());
        // Run 3 commits a change and dies before publishing...
        let run3 = dest.begin_run(0, "employers").unwrap();
        dest.apply(&[employer("Acme Inc", 20)], run3, None, 0)
            .unwrap();
        // ...so run 4, which changes nothing, publishes it.
        let run4 = dest.begin_run(0, "employers").unwrap();
        assert_eq!(publish(&dest, dir.path(), run4).unwrap(), vec!["employers"]);
        assert!(publish(&dest, dir.path(), run4 + 1).unwrap().is_empty());
    }

    #[test]
    fn timestamps_are_utc_timestamps() {
        let jobs = arrow_schema(SCHEMA.get("jobs").unwrap());
        let created = jobs.field_with_name("created_at").unwrap();
        assert_eq!(
            created.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(
            jobs.field_with_name("location_lat").unwrap().data_type(),
            &DataType::Float64
        );
        assert!(jobs.field_with_name("_extra").is_ok());
        assert!(
            jobs.field_with_name("_as_of").is_err(),
            "bookkeeping stays inside"
        );
    }
}
