//! `views`: prints the outcome views' SQL for one database. For DuckDB it
//! is a script over a Parquet destination's files (absolute paths, or the
//! URL), which DuckDB runs as it is; for SQLite and PostgreSQL, the views
//! every sync keeps current there, for reading or for a database of the
//! user's own.

use super::args::{ViewsArgs, ViewsDialect};
use super::exit::{self, Failure};
use super::pipeline::resolve_pipeline;
use crate::config::Overrides;
use crate::outcomes::{Dialect, Place, Sql};

pub fn run(args: ViewsArgs) -> Result<u8, Failure> {
    let p = resolve_pipeline(&args.pipeline, Overrides::default(), true)?;
    let dest = &p.destination;
    let db = dest.state_db();
    if !db.exists() {
        return Err(Failure::usage(format!(
            "no views yet: {} has no state database ({}); run a sync first",
            dest.describe(),
            db.display()
        )));
    }
    let place = dest.outcome_place();
    let (dialect, place) = match (args.dialect, place) {
        (ViewsDialect::Sqlite, _) => (Dialect::Sqlite, Place::Plain),
        (ViewsDialect::Postgres, Some(Place::Schema(s))) => (Dialect::Postgres, Place::Schema(s)),
        (ViewsDialect::Postgres, _) => (Dialect::Postgres, Place::Schema("huntr".into())),
        (ViewsDialect::Duckdb, Some(place @ Place::Parquet { .. })) => (Dialect::DuckDb, place),
        (ViewsDialect::Duckdb, _) => {
            return Err(Failure::usage(format!(
                "the DuckDB script reads a Parquet destination's files, and {} is not one; \
                 pass --destination parquet:DIR (or a pipeline writing Parquet)",
                dest.describe()
            )))
        }
    };
    let store = dest.read_store()?;
    let fields = store.tables().member_fields()?;
    say_raw!("{}", Sql::new(dialect, place).script(&fields));
    Ok(exit::OK)
}
