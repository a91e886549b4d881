//! Arrow types for the declared tables: the schema of each table's file
//! and column builders fed from the store's cells.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use crate::schema::{ColType, Table};
use crate::store::Cell;
use crate::timefmt::parse_iso;

/// The Arrow schema of a table, from `schema/`: what users see of it (its
/// declared columns and `_extra`).
pub fn arrow_schema(t: &Table) -> Schema {
    let fields: Vec<Field> = t
        .visible()
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

/// One column being built.
pub enum Builder {
    Str(StringBuilder),
    Ts(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
}

impl Builder {
    pub fn new(ty: ColType) -> Builder {
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

    /// Appends a stored cell, converting from its stored form.
    pub fn push(&mut self, v: Cell<'_>) {
        match self {
            Builder::Str(b) => b.append_option(match v {
                Cell::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                Cell::Int(i) => Some(i.to_string()),
                Cell::Real(f) => Some(f.to_string()),
                Cell::Null => None,
            }),
            Builder::Ts(b) => b.append_option(match v {
                Cell::Text(t) => std::str::from_utf8(t)
                    .ok()
                    .and_then(parse_iso)
                    .map(|s| s * 1_000_000),
                Cell::Int(i) => Some(i * 1_000_000),
                _ => None,
            }),
            Builder::Bool(b) => b.append_option(match v {
                Cell::Int(i) => Some(i != 0),
                _ => None,
            }),
            Builder::Int(b) => b.append_option(match v {
                Cell::Int(i) => Some(i),
                Cell::Real(f) => Some(f as i64),
                _ => None,
            }),
            Builder::Float(b) => b.append_option(match v {
                Cell::Real(f) => Some(f),
                Cell::Int(i) => Some(i as f64),
                _ => None,
            }),
        }
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SCHEMA;

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
