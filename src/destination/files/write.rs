//! Writing one table's rows to one Parquet file: written under a temporary
//! name, synced, then renamed into place, so a reader or a crash never sees
//! half a file. Memory stays bounded: rows go to Arrow builders in fixed
//! chunks and row groups are flushed by size.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::arrow::{arrow_schema, Builder};
use super::FileError;
use crate::schema::Table;
use crate::store::{Cell, Rows, Tables};

/// Rows per Arrow batch handed to the writer.
const BATCH_ROWS: usize = 8192;
/// A row group is flushed at this many rows or bytes, whichever first.
const ROW_GROUP_ROWS: usize = 65_536;
const ROW_GROUP_BYTES: usize = 8 << 20;
/// A column's dictionary falls back to plain encoding beyond this size.
const DICTIONARY_BYTES: usize = 256 << 10;

fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        // Dictionaries of the high-cardinality columns (ids, times) would
        // otherwise grow to 1 MiB each before falling back to plain.
        .set_dictionary_page_size_limit(DICTIONARY_BYTES)
        .set_created_by(concat!("huntr-sync ", env!("CARGO_PKG_VERSION")).into())
        .build()
}

/// A table file being written.
struct TableFile<'t> {
    table: &'t Table,
    schema: Arc<arrow_schema::Schema>,
    writer: ArrowWriter<File>,
    builders: Vec<Builder>,
    pending: usize,
    tmp: PathBuf,
}

impl<'t> TableFile<'t> {
    fn create(table: &'t Table, path: &Path) -> Result<Self, FileError> {
        let dir = path.parent().expect("table files live in a directory");
        std::fs::create_dir_all(dir).map_err(|e| FileError::io(dir, e))?;
        let tmp = tmp_path(path);
        let file = File::create(&tmp).map_err(|e| FileError::io(&tmp, e))?;
        let schema = Arc::new(arrow_schema(table));
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties()))
            .map_err(|e| FileError::parquet(&tmp, e))?;
        Ok(TableFile {
            table,
            schema,
            writer,
            builders: table.visible().map(|c| Builder::new(c.ty)).collect(),
            pending: 0,
            tmp,
        })
    }

    fn push(&mut self, cells: &[Cell<'_>]) -> Result<(), FileError> {
        for (b, cell) in self.builders.iter_mut().zip(cells) {
            b.push(*cell);
        }
        self.pending += 1;
        if self.pending == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), FileError> {
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|source| {
            FileError::Arrow {
                table: self.table.name.clone(),
                source,
            }
        })?;
        let pq = |e| FileError::parquet(&self.tmp, e);
        self.writer.write(&batch).map_err(pq)?;
        if self.writer.in_progress_size() > ROW_GROUP_BYTES {
            self.writer.flush().map_err(pq)?;
        }
        self.pending = 0;
        Ok(())
    }

    /// Closes the file and renames it to `path`.
    fn finish(mut self, total: u64, path: &Path) -> Result<(), FileError> {
        if self.pending > 0 || total == 0 {
            self.flush()?;
        }
        let tmp = self.tmp.clone();
        // `finish` writes the footer and flushes, keeping an I/O error as
        // one (`into_inner` would turn it into text, hiding a full disk).
        self.writer
            .finish()
            .map_err(|e| FileError::parquet(&tmp, e))?;
        self.writer
            .inner()
            .sync_all()
            .map_err(|e| FileError::io(&tmp, e))?;
        drop(self.writer);
        std::fs::rename(&tmp, path).map_err(|e| FileError::io(path, e))
    }
}

/// Streams the selected rows of `t` from the store into a Parquet file at
/// `path`. Returns the number of rows.
pub fn write_table(
    store: &Tables<'_>,
    t: &Table,
    rows: Rows,
    path: &Path,
) -> Result<u64, FileError> {
    let written = (|| {
        let mut file = TableFile::create(t, path)?;
        let total = store.scan(t, rows, |cells| file.push(cells))?;
        file.finish(total, path)?;
        Ok(total)
    })();
    if written.is_err() {
        // A half-written file would keep a full disk full.
        let _ = std::fs::remove_file(tmp_path(path));
    }
    written
}

/// Where the file for `path` is written before it is renamed into place.
fn tmp_path(path: &Path) -> PathBuf {
    let dir = path.parent().expect("table files live in a directory");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("table");
    dir.join(format!(".{name}.tmp"))
}

/// Writes one batch (a few bookkeeping rows) to a Parquet file at `path`.
pub fn write_batch_file(batch: &RecordBatch, path: &Path) -> Result<(), FileError> {
    let file = File::create(path).map_err(|e| FileError::io(path, e))?;
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties()))
        .map_err(|e| FileError::parquet(path, e))?;
    writer
        .write(batch)
        .map_err(|e| FileError::parquet(path, e))?;
    writer
        .close()
        .map(|_| ())
        .map_err(|e| FileError::parquet(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SCHEMA;
    use crate::store::{Store, StoreError};

    /// A disk that is full: the table's temporary file is `/dev/full`,
    /// which refuses every write with ENOSPC.
    #[test]
    fn a_full_disk_says_nothing_was_lost_and_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.db")).unwrap();
        let out = dir.path().join("jobs");
        std::fs::create_dir_all(&out).unwrap();
        let path = out.join("jobs.parquet");
        std::os::unix::fs::symlink("/dev/full", tmp_path(&path)).unwrap();
        let t = SCHEMA.get("jobs").unwrap();
        let err = write_table(&store.tables(), t, Rows::All, &path).unwrap_err();
        assert!(
            matches!(err, FileError::Store(StoreError::NoSpace { .. })),
            "{err:?}"
        );
        let line = err.to_string();
        assert!(line.contains("the disk is full"), "{line}");
        assert!(line.contains("nothing was lost"), "{line}");
        assert!(!tmp_path(&path).exists() && !path.exists());
    }
}
