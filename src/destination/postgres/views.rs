//! The outcome views (`crate::outcomes`) in the destination's schema,
//! written in the publishing transaction after the tables, so a reader
//! sees views and tables of the same run.
//!
//! A view is written only when its SQL changed: each carries a comment
//! with a fingerprint of its SQL. `CREATE OR REPLACE VIEW` cannot drop or
//! reorder columns, which `members_wide` does when member fields change,
//! so when it refuses, the view is dropped and created again. Dropping
//! fails when a view of the user's own reads ours: then ours is left as it
//! was, with a warning naming the cause, and the run goes on (a savepoint
//! keeps the transaction usable). Tables are never dropped.

use std::collections::HashMap;

use tokio::runtime::Handle;
use tokio_postgres::Transaction;

use super::connect::ConnInfo;
use super::PgError;
use crate::outcomes::{Dialect, Place, Sql, View};
use crate::store::Tables;

/// What marks a view as ours, followed by its SQL's fingerprint.
const MARK: &str = "huntr-sync outcome view";

/// Creates or replaces the outcome views whose SQL changed.
pub fn refresh_outcome_views(
    tx: &Transaction<'_>,
    info: &ConnInfo,
    tables: &Tables<'_>,
    rt: &Handle,
) -> Result<(), PgError> {
    let fields = tables.member_fields()?;
    let sql = Sql::new(Dialect::Postgres, Place::Schema(info.schema.clone()));
    let sqlerr = |e| PgError::sql(info, e);
    let marks = rt
        .block_on(current_marks(tx, &info.schema))
        .map_err(sqlerr)?;
    for v in sql.views(&fields) {
        let mark = format!("{MARK} {:016x}", crate::rows::hash::hash_text(&v.select));
        if marks.get(v.name) == Some(&mark) {
            continue;
        }
        if let Err(why) = rt
            .block_on(write_view(tx, &sql, &v, &mark))
            .map_err(sqlerr)?
        {
            tracing::warn!(
                "{}: view {} not updated: {why}; drop the views that read it, or make them read the tables",
                info.describe(),
                v.name
            );
        }
    }
    Ok(())
}

/// The marks on the schema's views, by view name.
async fn current_marks(
    tx: &Transaction<'_>,
    schema: &str,
) -> Result<HashMap<String, String>, tokio_postgres::Error> {
    let rows = tx
        .query(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'v'",
            &[&schema],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.get::<_, String>(0), r.get::<_, Option<String>>(1)?)))
        .collect())
}

/// Writes one view: replaced in place when its columns allow, else
/// dropped and created. `Ok(Err(why))` when the server refused both (the
/// transaction is back where it was).
async fn write_view(
    tx: &Transaction<'_>,
    sql: &Sql,
    v: &View,
    mark: &str,
) -> Result<Result<(), String>, tokio_postgres::Error> {
    let name = sql.place.view(v.name);
    let comment = format!("COMMENT ON VIEW {name} IS {}", crate::outcomes::lit(mark));
    let replace = format!("{};\n{comment}", sql.create(v));
    let recreate = format!(
        "DROP VIEW IF EXISTS {name};\nCREATE VIEW {name} AS\n{};\n{comment}",
        v.select
    );
    let mut why = String::new();
    for attempt in [replace, recreate] {
        tx.batch_execute("SAVEPOINT huntr_outcome_view").await?;
        match tx.batch_execute(&attempt).await {
            Ok(()) => {
                tx.batch_execute("RELEASE SAVEPOINT huntr_outcome_view")
                    .await?;
                return Ok(Ok(()));
            }
            Err(e) => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT huntr_outcome_view")
                    .await?;
                why = super::cause(&e);
            }
        }
    }
    Ok(Err(why))
}
