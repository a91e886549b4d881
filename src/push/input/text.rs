//! Reads a delimited text file (`.csv`, `.tsv`, `.txt`) as spreadsheets
//! save it: decoded by `encoding`, split on the delimiter its header line
//! uses (or the one given), each row with the physical line it starts on.

use std::path::Path;

use super::encoding::{decode, delimiter};
use super::{InputError, Rows};

/// The header and the rows, lines counted as the file's physical lines
/// (a quoted cell may span several).
pub(super) fn read_text(path: &Path, given: Option<u8>) -> Result<(Vec<String>, Rows), InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let text = decode(&bytes).map_err(|message| InputError::Csv {
        path: path.to_path_buf(),
        message,
    })?;
    let data = text.as_bytes();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(given.unwrap_or_else(|| delimiter(&text)))
        .from_reader(data);
    let mut lines = LineCounter::default();
    let mut header = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let byte = record.position().map_or(0, |p| p.byte() as usize);
        let line = lines.line_at(data, byte);
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        if header.is_none() {
            header = Some(cells);
        } else {
            rows.push((line, cells));
        }
    }
    let header = header.ok_or_else(|| InputError::NoHeader {
        path: path.to_path_buf(),
    })?;
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
        csv::ErrorKind::Io(e) => format!("cannot read it ({e}); check the file"),
        _ => format!("{at}cannot read it as CSV ({error}); check that it is a CSV file"),
    };
    InputError::Csv {
        path: path.to_path_buf(),
        message,
    }
}
