//! CSV export: `DIR/<table>.csv` per table, written to a temporary name
//! and renamed, so a reader never opens a half-written file.

use std::path::Path;

use super::{columns, each_row, tables, ExportError, Exported, Value};
use crate::store::Tables;

fn io(path: &Path) -> impl Fn(std::io::Error) -> ExportError + '_ {
    move |error| ExportError::Io {
        path: path.to_owned(),
        error,
    }
}

fn from_csv(path: &Path) -> impl Fn(csv::Error) -> ExportError + '_ {
    move |e| ExportError::Io {
        path: path.to_owned(),
        error: std::io::Error::other(e),
    }
}

/// A cell as CSV text: booleans `true`/`false`, timestamps ISO-8601 UTC.
fn text(v: &Value<'_>) -> String {
    match v {
        Value::Empty => String::new(),
        Value::Text(s) | Value::Time(_, s) => (*s).to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

pub fn write(store: &Tables<'_>, dir: &Path) -> Result<Exported, ExportError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut done = Exported::default();
    for t in tables() {
        let path = dir.join(format!("{}.csv", t.name));
        let tmp = dir.join(format!(".{}.csv.tmp", t.name));
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_path(&tmp)
            .map_err(from_csv(&tmp))?;
        let names: Vec<&str> = columns(t).into_iter().map(|(n, _)| n).collect();
        w.write_record(&names).map_err(from_csv(&tmp))?;
        let n = each_row(store, t, |row| {
            w.write_record(row.iter().map(text)).map_err(from_csv(&tmp))
        })?;
        w.flush().map_err(io(&tmp))?;
        drop(w);
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        done.tables.push((t.name.clone(), n));
    }
    Ok(done)
}
