//! `huntr-sync export`: the destination's tables for people without a
//! warehouse. CSV (one RFC 4180 file per table, UTF-8 with a header row,
//! ISO-8601 UTC timestamps) or one Excel workbook (a sheet per table,
//! timestamps as Excel dates, a bold frozen header row, widths fitted to
//! the first rows). Both read the store through its read interface, the
//! same rows a Parquet destination publishes.

mod csv;
mod xlsx;

use std::path::Path;

use crate::schema::{ColType, Table, SCHEMA};
use crate::store::{Cell, Rows, Store, StoreError, Tables};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

/// What an export wrote: rows per table, and tables left out (with why).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Exported {
    pub tables: Vec<(String, u64)>,
    pub skipped: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write {path}: {error}")]
    Io {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write the workbook {path}: {error}")]
    Xlsx {
        path: std::path::PathBuf,
        error: rust_xlsxwriter::XlsxError,
    },
}

/// One cell as an export writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Empty,
    Text(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Unix seconds, with the ISO text it was stored as.
    Time(i64, &'a str),
}

/// A stored cell of a column of type `ty`, typed for export.
pub fn value<'a>(ty: ColType, cell: &Cell<'a>) -> Value<'a> {
    let text = |t: &'a [u8]| std::str::from_utf8(t).unwrap_or("");
    match (ty, cell) {
        (_, Cell::Null) => Value::Empty,
        (ColType::Bool, Cell::Int(i)) => Value::Bool(*i != 0),
        (ColType::Timestamp, Cell::Text(t)) => {
            let s = text(t);
            crate::timefmt::parse_iso(s).map_or(Value::Text(s), |ts| Value::Time(ts, s))
        }
        (_, Cell::Int(i)) => Value::Int(*i),
        (_, Cell::Real(f)) => Value::Float(*f),
        (_, Cell::Text(t)) => Value::Text(text(t)),
    }
}

/// Writes every table of the store to `to` in `format`: a directory of
/// CSV files, or one `.xlsx` file.
pub fn export(store: &Store, format: Format, to: &Path) -> Result<Exported, ExportError> {
    let store = &store.tables();
    store.prepare_for_scans()?;
    match format {
        Format::Csv => csv::write(store, to),
        Format::Xlsx => xlsx::write(store, to),
    }
}

/// The tables an export writes, in the schema's order.
fn tables() -> impl Iterator<Item = &'static Table> {
    SCHEMA.tables.iter()
}

/// Each visible column's name and type.
fn columns(t: &Table) -> Vec<(&str, ColType)> {
    t.visible().map(|c| (c.name.as_str(), c.ty)).collect()
}

/// Reads every row of `t` with its cells typed.
fn each_row<E: From<StoreError>>(
    store: &Tables<'_>,
    t: &Table,
    mut f: impl FnMut(&[Value<'_>]) -> Result<(), E>,
) -> Result<u64, E> {
    let types: Vec<ColType> = columns(t).into_iter().map(|(_, ty)| ty).collect();
    store.scan(t, Rows::All, |cells| {
        let row: Vec<Value<'_>> = types
            .iter()
            .zip(cells)
            .map(|(ty, c)| value(*ty, c))
            .collect();
        f(&row)
    })
}

#[cfg(test)]
mod tests;
