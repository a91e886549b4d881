//! `schema`: prints the tables generated from `schema/tables.toml`, as
//! SQLite DDL or as the Markdown the README embeds.

use super::args::SchemaFormat;
use super::exit::{self, Failure};
use crate::schema::SCHEMA;

pub fn run(format: SchemaFormat) -> Result<u8, Failure> {
    match format {
        SchemaFormat::Sql => say_raw!("{}", SCHEMA.sqlite_ddl()),
        SchemaFormat::Markdown => say_raw!("{}", SCHEMA.markdown()),
    }
    Ok(exit::OK)
}
