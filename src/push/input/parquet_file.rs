//! Reads a `.parquet` input: every column of a type a cell can hold
//! (text, whole or decimal numbers, booleans, dates) as strings, the rows
//! numbered as if the file had a header line.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{open, InputError, Rows};

pub(super) fn read_parquet(path: &Path) -> Result<(Vec<String>, Rows), InputError> {
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
