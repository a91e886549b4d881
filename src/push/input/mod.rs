//! Reads a push's input file (delimited text, a workbook or Parquet) into
//! one shape, a header and rows of strings with the line (or the sheet's
//! row) each came from, so planning never cares which format the operator
//! exported and every message can name a line.

mod encoding;
mod parquet_file;
mod text;
mod workbook;

use std::fs::File;
use std::path::{Path, PathBuf};

use super::dates::DateFormat;

/// The input file as strings. Header names are trimmed; rows whose cells
/// are all empty are left out; every row has one cell per column.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputTable {
    pub columns: Vec<String>,
    /// (line, cells): the text line the row starts on (the header is line
    /// 1), the sheet's own row number for a workbook, or for Parquet the
    /// row index + 2, as if it had a header line.
    pub rows: Vec<(usize, Vec<String>)>,
    /// The sheet read, for a workbook (its rows are then called rows).
    pub sheet: Option<String>,
    /// How the file writes dates other than `YYYY-MM-DD` (`--date-format`).
    pub date_format: Option<DateFormat>,
}

impl InputTable {
    /// What a row's number counts: `line`, or `row` for a workbook.
    pub fn unit(&self) -> &'static str {
        if self.sheet.is_some() {
            "row"
        } else {
            "line"
        }
    }
}

/// How to read the file, beyond its name.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// A workbook's sheet (default: the first).
    pub sheet: Option<String>,
    /// A text file's delimiter (default: found from the header line).
    pub delimiter: Option<u8>,
}

/// A problem with the file as a whole: nothing in it is planned.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{}: cannot tell the file's format from its name; name it .csv (or .tsv, .txt), .xlsx (or .xls, .xlsm, .xlsb, .ods) or .parquet", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("cannot open {}: {source}; check the path", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Csv { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Workbook { path: PathBuf, message: String },
    #[error("{}: --sheet names a workbook's sheet, and this is not a workbook; leave --sheet out", path.display())]
    SheetOfText { path: PathBuf },
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
    #[error("{}: column {position} has no name in the header but {unit} {line} has a value in it; name the column or delete it", path.display())]
    UnnamedColumn {
        path: PathBuf,
        position: usize,
        unit: &'static str,
        line: usize,
    },
    #[error("{}: {unit} {line} has {cells} cells but the header names {columns} columns; quote cells that contain the delimiter, or give it with --delimiter", path.display())]
    TooManyCells {
        path: PathBuf,
        unit: &'static str,
        line: usize,
        cells: usize,
        columns: usize,
    },
    #[error("the file has no `{column}` column; {fix}")]
    MissingColumn { column: String, fix: String },
    #[error(
        "the columns `{first}` and `{second}` both name `{name}`; delete or rename one of them"
    )]
    SameColumnTwice {
        first: String,
        second: String,
        name: String,
    },
    #[error("the column `{column}` could be the member field `{one}` or `{other}`; name the column exactly as one of them is spelt")]
    AmbiguousColumn {
        column: String,
        one: String,
        other: String,
    },
}

/// The kind of file a name says.
enum Format {
    Text,
    Workbook,
    Parquet,
}

fn format(path: &Path) -> Option<Format> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "csv" | "tsv" | "txt" => Some(Format::Text),
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Some(Format::Workbook),
        "parquet" => Some(Format::Parquet),
        _ => None,
    }
}

/// Reads a delimited text file, a workbook or a Parquet file, by its
/// extension.
pub fn read_input(path: &Path, options: &ReadOptions) -> Result<InputTable, InputError> {
    let unknown = || InputError::UnknownFormat {
        path: path.to_path_buf(),
    };
    let format = format(path).ok_or_else(unknown)?;
    if options.sheet.is_some() && !matches!(format, Format::Workbook) {
        return Err(InputError::SheetOfText {
            path: path.to_path_buf(),
        });
    }
    let (header, rows, sheet) = match format {
        Format::Text => {
            let (header, rows) = text::read_text(path, options.delimiter)?;
            (header, rows, None)
        }
        Format::Workbook => {
            let (header, rows, sheet) = workbook::read_workbook(path, options.sheet.as_deref())?;
            (header, rows, Some(sheet))
        }
        Format::Parquet => {
            let (header, rows) = parquet_file::read_parquet(path)?;
            (header, rows, None)
        }
    };
    let unit = if sheet.is_some() { "row" } else { "line" };
    let mut table = table(path, header, rows, unit)?;
    table.sheet = sheet;
    Ok(table)
}

type Rows = Vec<(usize, Vec<String>)>;

fn open(path: &Path) -> Result<File, InputError> {
    File::open(path).map_err(|source| InputError::Open {
        path: path.to_path_buf(),
        source,
    })
}

/// Trims the header, rejects duplicated names, drops unnamed empty
/// columns and empty rows, and gives every row one cell per column.
fn table(
    path: &Path,
    header: Vec<String>,
    rows: Rows,
    unit: &'static str,
) -> Result<InputTable, InputError> {
    // A byte-order mark left in the text is no part of a name.
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
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
                    unit,
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
                unit,
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
        ArrayRef, BooleanArray, Date32Array, Float32Array, Float64Array, Int64Array, RecordBatch,
        StringArray,
    };
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;

    use super::*;

    fn csv(text: &[u8]) -> Result<InputTable, InputError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, text).unwrap();
        read_input(&path, &ReadOptions::default())
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
    fn semicolons_tabs_and_utf16_read_as_commas_do() {
        let want = [row(2, &["ann@example.org", "Seattle; Miami"])];
        let table = csv(b"email;Location\r\nann@example.org;\"Seattle; Miami\"\r\n").unwrap();
        assert_eq!(
            (table.columns.as_slice(), table.rows.as_slice()),
            (&["email".to_string(), "Location".into()][..], &want[..])
        );
        let mut utf16 = vec![0xFF, 0xFE];
        let text = "email\tLocation\r\nann@example.org\tSeattle; Miami\r\n";
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let table = csv(&utf16).unwrap();
        assert_eq!(table.columns, ["email", "Location"]);
        assert_eq!(table.rows, want);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "email|Location\na@x.org|Miami\n").unwrap();
        let options = ReadOptions {
            delimiter: Some(b'|'),
            ..Default::default()
        };
        let table = read_input(&path, &options).unwrap();
        assert_eq!(table.columns, ["email", "Location"]);
        assert_eq!(table.unit(), "line");
        let options = ReadOptions {
            sheet: Some("Cohort".into()),
            ..Default::default()
        };
        let err = read_input(&path, &options).unwrap_err().to_string();
        assert!(err.contains("--sheet names a workbook's sheet"), "{err}");
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
            err.contains("line 2 is not UTF-8 text (byte 0xFF;"),
            "{err}"
        );
        let err = read_input(Path::new("people.docx"), &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("people.docx: cannot tell the file's format from its name; name it .csv"),
            "{err}"
        );
        let err = read_input(
            Path::new("/nonexistent/people.csv"),
            &ReadOptions::default(),
        )
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
        read_input(&path, &ReadOptions::default())
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
