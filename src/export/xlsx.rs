//! Excel export: one workbook, a sheet per table. Timestamps are Excel
//! dates (UTC), booleans Excel booleans, numbers numbers; the header row
//! is bold and frozen, and each column is as wide as its header and first
//! rows need. A table with more rows than a sheet holds is left out with
//! a warning. Sheets are written in constant memory (rows stream to
//! temporary files), so a large organization does not fill the RAM.

use std::path::Path;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::{columns, each_row, tables, ExportError, Exported, Value};
use crate::store::{Rows, Tables};

/// Rows of a sheet, the header included (Excel's limit).
const MAX_ROWS: u64 = 1_048_576;
/// Rows looked at to fit a column's width.
const FIT_ROWS: u64 = 200;
/// Widest a fitted column gets, in characters.
const MAX_WIDTH: usize = 60;

struct Formats {
    header: Format,
    time: Format,
}

pub fn write(store: &Tables<'_>, path: &Path) -> Result<Exported, ExportError> {
    let xlsx = |error: XlsxError| ExportError::Xlsx {
        path: path.to_owned(),
        error,
    };
    let formats = Formats {
        header: Format::new().set_bold(),
        time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
    };
    let mut book = Workbook::new();
    let mut done = Exported::default();
    for t in tables() {
        let rows = store.count(t, Rows::All)?;
        if rows + 1 > MAX_ROWS {
            let why = format!(
                "{rows} rows: more than an Excel sheet holds ({}); export it as CSV",
                MAX_ROWS - 1
            );
            tracing::warn!("{}: left out of the workbook: {why}", t.name);
            done.skipped.push((t.name.clone(), why));
            continue;
        }
        let sheet = book.add_worksheet_with_constant_memory().map_err(xlsx)?;
        let n = fill(store, t, sheet, &formats).map_err(|e| match e {
            Fill::Xlsx(e) => xlsx(e),
            Fill::Store(e) => ExportError::Store(e),
        })?;
        done.tables.push((t.name.clone(), n));
    }
    let tmp = path.with_extension("xlsx.tmp");
    book.save(&tmp).map_err(xlsx)?;
    std::fs::rename(&tmp, path).map_err(|error| ExportError::Io {
        path: path.to_owned(),
        error,
    })?;
    Ok(done)
}

/// Longest text an Excel cell holds.
const MAX_CELL: usize = 32_767;

/// `s`, cut to what a cell holds (a long HTML description, say); the CSV
/// export keeps it whole.
fn cell_text(s: &str) -> &str {
    match s.char_indices().nth(MAX_CELL) {
        Some((at, _)) => {
            tracing::warn!("a text of over {MAX_CELL} characters was cut to fit an Excel cell");
            &s[..at]
        }
        None => s,
    }
}

/// The sheet of a table: its name, within Excel's 31 characters
/// (`organization_` shortened to `org_`, then cut).
pub fn sheet_name(table: &str) -> String {
    let name = if table.len() > 31 {
        table.replacen("organization_", "org_", 1)
    } else {
        table.to_owned()
    };
    name.chars().take(31).collect()
}

enum Fill {
    Xlsx(XlsxError),
    Store(crate::store::StoreError),
}

impl From<crate::store::StoreError> for Fill {
    fn from(e: crate::store::StoreError) -> Self {
        Fill::Store(e)
    }
}

impl From<XlsxError> for Fill {
    fn from(e: XlsxError) -> Self {
        Fill::Xlsx(e)
    }
}

/// Writes `t` into `sheet`; returns its rows.
fn fill(
    store: &Tables<'_>,
    t: &crate::schema::Table,
    sheet: &mut Worksheet,
    f: &Formats,
) -> Result<u64, Fill> {
    sheet.set_name(sheet_name(&t.name))?;
    let names: Vec<&str> = columns(t).into_iter().map(|(n, _)| n).collect();
    let mut widths: Vec<usize> = names.iter().map(|n| n.len()).collect();
    for (c, name) in names.iter().enumerate() {
        sheet.write_with_format(0, c as u16, *name, &f.header)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let mut r: u32 = 0;
    let n = each_row(store, t, |row| -> Result<(), Fill> {
        r += 1;
        for (c, v) in row.iter().enumerate() {
            let c16 = c as u16;
            let width = match v {
                Value::Empty => 0,
                Value::Text(s) => {
                    sheet.write(r, c16, cell_text(s))?;
                    s.chars().count()
                }
                Value::Int(i) => {
                    sheet.write(r, c16, *i as f64)?;
                    i.to_string().len()
                }
                Value::Float(x) => {
                    sheet.write(r, c16, *x)?;
                    x.to_string().len()
                }
                Value::Bool(b) => {
                    sheet.write(r, c16, *b)?;
                    5
                }
                Value::Time(ts, iso) => match ExcelDateTime::from_timestamp(*ts) {
                    Ok(dt) => {
                        sheet.write_with_format(r, c16, &dt, &f.time)?;
                        19
                    }
                    // Before 1900 or past 9999: Excel has no date for it.
                    Err(_) => {
                        sheet.write(r, c16, *iso)?;
                        iso.len()
                    }
                },
            };
            if u64::from(r) <= FIT_ROWS {
                widths[c] = widths[c].max(width);
            }
        }
        Ok(())
    })?;
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, (*w).min(MAX_WIDTH) as f64 + 2.0)?;
    }
    Ok(n)
}
