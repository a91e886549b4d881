//! Reads a push's input file (CSV or Parquet) into one shape, a header and
//! rows of strings with the line each came from, so planning never cares
//! which format the operator exported and every message can name a line.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The input file as strings. Header names are trimmed; rows whose cells
/// are all empty are left out; every row has one cell per column.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputTable {
    pub columns: Vec<String>,
    /// (line, cells): the CSV line the row starts on (the header is line
    /// 1), or for Parquet the row index + 2, as if it had a header line.
    pub rows: Vec<(usize, Vec<String>)>,
}

impl InputTable {
    /// The index of the column named exactly `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// A problem with the file as a whole: nothing in it is planned.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{}: cannot tell the file's format from its name; name it .csv or .parquet", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("cannot open {}: {source}; check the path", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Csv { path: PathBuf, message: String },
    #[error("{}: cannot read it as Parquet ({source}); check that it is a Parquet file, or export CSV", path.display())]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("{}: cannot read a Parquet row group ({source}); export the file again, or as CSV", path.display())]
    Arrow {
        path: PathBuf,
        source: arrow_schema::ArrowError,
    },
    #[error("{}: column `{column}` has type {data_type}, which cannot be read; store it as text, a whole or decimal number, a boolean or a date", path.display())]
    UnsupportedType {
        path: PathBuf,
        column: String,
        data_type: String,
    },
    #[error("{}: the file is empty; its first line must name the columns", path.display())]
    NoHeader { path: PathBuf },
    #[error("{}: the header names `{column}` twice; rename or delete one of the two columns", path.display())]
    DuplicateColumn { path: PathBuf, column: String },
    #[error("{}: column {position} has no name in the header but line {line} has a value in it; name the column or delete it", path.display())]
    UnnamedColumn {
        path: PathBuf,
        position: usize,
        line: usize,
    },
    #[error("{}: line {line} has {cells} cells but the header names {columns} columns; quote cells that contain commas", path.display())]
    TooManyCells {
        path: PathBuf,
        line: usize,
        cells: usize,
        columns: usize,
    },
    #[error("the file has no `{column}` column; {fix}")]
    MissingColumn { column: String, fix: String },
}

/// Reads a `.csv` or `.parquet` file, by its extension.
pub fn read_input(path: &Path) -> Result<InputTable, InputError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (header, rows) = match extension.as_deref() {
        Some("csv") => read_csv(path)?,
        Some("parquet") => read_parquet(path)?,
        _ => {
            return Err(InputError::UnknownFormat {
                path: path.to_path_buf(),
            })
        }
    };
    table(path, header, rows)
}

type Rows = Vec<(usize, Vec<String>)>;

fn open(path: &Path) -> Result<File, InputError> {
    File::open(path).map_err(|source| InputError::Open {
        path: path.to_path_buf(),
        source,
    })
}

/// The header and the rows, lines counted as the file's physical lines
/// (a quoted cell may span several).
fn read_csv(path: &Path) -> Result<(Vec<String>, Rows), InputError> {
    let data = std::fs::read(path).map_err(|source| InputError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data.as_slice());
    let mut lines = LineCounter::default();
    let mut header = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let byte = record.position().map_or(0, |p| p.byte() as usize);
        let line = lines.line_at(&data, byte);
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        if header.is_none() {
            header = Some(cells);
        } else {
            rows.push((line, cells));
        }
    }
    let mut header = header.ok_or_else(|| InputError::NoHeader {
        path: path.to_path_buf(),
    })?;
    if let Some(first) = header.first_mut() {
        *first = first.trim_start_matches('\u{feff}').to_string();
    }
    Ok((header, rows))
}

/// Line numbers from byte offsets. The csv crate's own line count misses
/// newlines inside quoted cells, and a record's offset may point at the
/// end of the line before it (the `\n` of a `\r\n`), so the record is
/// taken to start at the first byte that ends no line.
#[derive(Default)]
struct LineCounter {
    counted: usize,
    newlines: usize,
}

impl LineCounter {
    /// The line of the record at `byte`; offsets must not decrease.
    fn line_at(&mut self, data: &[u8], byte: usize) -> usize {
        let start = data[byte.min(data.len())..]
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .map_or(data.len(), |skip| byte + skip);
        let start = start.max(self.counted);
        self.newlines += data[self.counted..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.counted = start;
        self.newlines + 1
    }
}

fn csv_error(path: &Path, error: csv::Error) -> InputError {
    let line = error.position().map(|p| p.line());
    let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
    let message = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            format!("{at}the text is not UTF-8; save the file as \"CSV UTF-8\"")
        }
        csv::ErrorKind::Io(e) => format!("cannot read it ({e}); check the file"),
        _ => format!("{at}cannot read it as CSV ({error}); check that it is a CSV file"),
    };
    InputError::Csv {
        path: path.to_path_buf(),
        message,
    }
}

fn read_parquet(path: &Path) -> Result<(Vec<String>, Rows), InputError> {
    let parquet = |source| InputError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(open(path)?).map_err(parquet)?;
    let schema = builder.schema().clone();
    for field in schema.fields() {
        if !readable(field.data_type()) {
            return Err(InputError::UnsupportedType {
                path: path.to_path_buf(),
                column: field.name().clone(),
                data_type: field.data_type().to_string(),
            });
        }
    }
    let header = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for batch in builder.build().map_err(parquet)? {
        let batch = batch.map_err(|source| InputError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        let columns: Vec<Vec<String>> = batch.columns().iter().map(cells).collect();
        for index in 0..batch.num_rows() {
            let line = rows.len() + 2;
            rows.push((line, columns.iter().map(|c| c[index].clone()).collect()));
        }
    }
    Ok((header, rows))
}

fn readable(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Boolean
            | DataType::Date32
    )
}

/// One column's cells as strings (null: empty). Only for `readable` types.
fn cells(array: &ArrayRef) -> Vec<String> {
    (0..array.len())
        .map(|i| match array.is_null(i) {
            true => String::new(),
            false => cell(array, i),
        })
        .collect()
}

fn cell(array: &ArrayRef, i: usize) -> String {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(i).to_string(),
        DataType::Utf8View => array.as_string_view().value(i).to_string(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(i).to_string(),
        // Display writes a whole f64 without `.0`.
        DataType::Float64 => array.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Boolean => array.as_boolean().value(i).to_string(),
        DataType::Date32 => date(array.as_primitive::<Date32Type>().value(i)),
        other => unreachable!("{other} is not readable"),
    }
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
fn date(days: i32) -> String {
    let day = time::OffsetDateTime::UNIX_EPOCH
        .date()
        .checked_add(time::Duration::days(days.into()));
    match day {
        Some(day) => day
            .format(time::macros::format_description!("[year]-[month]-[day]"))
            .unwrap_or_else(|_| days.to_string()),
        None => days.to_string(),
    }
}

/// Trims the header, rejects duplicated names, drops unnamed empty
/// columns and empty rows, and gives every row one cell per column.
fn table(path: &Path, header: Vec<String>, rows: Rows) -> Result<InputTable, InputError> {
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    for (i, name) in header.iter().enumerate() {
        if !name.is_empty() && header[..i].contains(name) {
            return Err(InputError::DuplicateColumn {
                path: path.to_path_buf(),
                column: name.clone(),
            });
        }
    }
    let width = header.len();
    let mut table = InputTable::default();
    for (line, mut cells) in rows {
        if let Some(extra) = cells.get(width..) {
            if extra.iter().any(|c| !c.trim().is_empty()) {
                return Err(InputError::TooManyCells {
                    path: path.to_path_buf(),
                    line,
                    cells: cells.len(),
                    columns: width,
                });
            }
        }
        // Spreadsheets leave out a row's trailing empty cells.
        cells.resize(width, String::new());
        if let Some(position) =
            (0..width).find(|&i| header[i].is_empty() && !cells[i].trim().is_empty())
        {
            return Err(InputError::UnnamedColumn {
                path: path.to_path_buf(),
                position: position + 1,
                line,
            });
        }
        if cells.iter().any(|c| !c.trim().is_empty()) {
            table.rows.push((line, cells));
        }
    }
    let named: Vec<usize> = (0..width).filter(|&i| !header[i].is_empty()).collect();
    table.columns = named.iter().map(|&i| header[i].clone()).collect();
    for (_, cells) in &mut table.rows {
        *cells = named
            .iter()
            .map(|&i| std::mem::take(&mut cells[i]))
            .collect();
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        BooleanArray, Date32Array, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    };
    use arrow_schema::{Field, Schema};
    use parquet::arrow::ArrowWriter;

    use super::*;

    fn csv(text: &[u8]) -> Result<InputTable, InputError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, text).unwrap();
        read_input(&path)
    }

    fn row(line: usize, cells: &[&str]) -> (usize, Vec<String>) {
        (line, cells.iter().map(|c| c.to_string()).collect())
    }

    #[test]
    fn a_byte_order_mark_crlf_and_padded_headers_are_tolerated() {
        let table = csv(b"\xEF\xBB\xBFemail , Location\r\nann@example.org,Seattle\r\n").unwrap();
        assert_eq!(table.columns, ["email", "Location"]);
        assert_eq!(table.rows, [row(2, &["ann@example.org", "Seattle"])]);
    }

    #[test]
    fn lines_count_the_newlines_inside_quoted_cells() {
        let text = "email,Nickname\na@x.org,\"two\nlines\"\r\nb@x.org,\"say \"\"hi\"\"\"\n\nc@x.org,\"x\r\ny\r\nz\"\nd@x.org,last\n";
        let table = csv(text.as_bytes()).unwrap();
        let lines: Vec<usize> = table.rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 4, 6, 9]);
        assert_eq!(table.rows[0].1[1], "two\nlines");
        assert_eq!(table.rows[1].1[1], "say \"hi\"");
    }

    #[test]
    fn short_rows_are_padded_and_empty_rows_left_out() {
        let table = csv(b"email,Location,Age\na@x.org\n,,\nb@x.org,Miami,3,,\n").unwrap();
        assert_eq!(
            table.rows,
            [
                row(2, &["a@x.org", "", ""]),
                row(4, &["b@x.org", "Miami", "3"])
            ]
        );
    }

    #[test]
    fn unnamed_columns_are_dropped_while_empty() {
        let table = csv(b"email,,Age,\na@x.org,,3,\n").unwrap();
        assert_eq!(table.columns, ["email", "Age"]);
        assert_eq!(table.rows, [row(2, &["a@x.org", "3"])]);
        let err = csv(b"email,\na@x.org,oops\n").unwrap_err().to_string();
        assert!(
            err.contains("column 2 has no name in the header but line 2 has a value"),
            "{err}"
        );
    }

    #[test]
    fn file_level_problems_name_the_file_and_the_fix() {
        let err = csv(b"email,Age\na@x.org,1,2\n").unwrap_err().to_string();
        assert!(
            err.contains("in.csv: line 2 has 3 cells but the header names 2 columns"),
            "{err}"
        );
        let err = csv(b" email,Age,email\n").unwrap_err().to_string();
        assert!(
            err.contains("in.csv: the header names `email` twice; rename or delete"),
            "{err}"
        );
        let err = csv(b"").unwrap_err().to_string();
        assert!(err.contains("in.csv: the file is empty"), "{err}");
        let err = csv(b"email\n\xFF\xFE@x.org\n").unwrap_err().to_string();
        assert!(
            err.contains("line 2: the text is not UTF-8; save the file as \"CSV UTF-8\""),
            "{err}"
        );
        let err = read_input(Path::new("people.xlsx"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("people.xlsx: cannot tell the file's format from its name; name it .csv or .parquet"), "{err}");
        let err = read_input(Path::new("/nonexistent/people.csv"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot open /nonexistent/people.csv:"),
            "{err}"
        );
    }

    fn parquet(batch: RecordBatch) -> Result<InputTable, InputError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.Parquet");
        let mut writer =
            ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        read_input(&path)
    }

    #[test]
    fn parquet_cells_become_strings() {
        let schema = Schema::new(vec![
            Field::new(" email ", DataType::Utf8, true),
            Field::new("Age", DataType::Int64, true),
            Field::new("Score", DataType::Float64, true),
            Field::new("Active", DataType::Boolean, true),
            Field::new("Graduation", DataType::Date32, true),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![
                Some("a@x.org"),
                Some("b@x.org"),
                None,
            ])),
            Arc::new(Int64Array::from(vec![Some(30), None, Some(-1)])),
            Arc::new(Float64Array::from(vec![Some(3.0), Some(2.5), None])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            Arc::new(Date32Array::from(vec![Some(19875), None, Some(0)])),
        ];
        let table = parquet(RecordBatch::try_new(Arc::new(schema), columns).unwrap()).unwrap();
        assert_eq!(
            table.columns,
            ["email", "Age", "Score", "Active", "Graduation"]
        );
        assert_eq!(
            table.rows,
            [
                row(2, &["a@x.org", "30", "3", "true", "2024-06-01"]),
                row(3, &["b@x.org", "", "2.5", "false", ""]),
                row(4, &["", "-1", "", "", "1970-01-01"]),
            ]
        );
    }

    #[test]
    fn parquet_columns_of_other_types_are_named() {
        let schema = Schema::new(vec![Field::new("Weight", DataType::Float32, false)]);
        let columns: Vec<ArrayRef> = vec![Arc::new(Float32Array::from(vec![1.5]))];
        let err = parquet(RecordBatch::try_new(Arc::new(schema), columns).unwrap()).unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("column `Weight` has type Float32, which cannot be read"),
            "{err}"
        );
    }
}
