//! One table's merge: the staged rows written into the table with a
//! single upsert that leaves rows whose values did not change alone, and
//! the rows the stage says are gone taken away, counting what changed.

use tokio_postgres::Client;

use super::ddl::{quote, PgTable};
use super::publish::{stage_name, PgCounts};
use crate::schema::{Table, SCHEMA};

/// `s.k1 = d.k1 AND ...`: the key columns of `a` and `b` equal.
fn same_key(t: &Table, a: &str, b: &str) -> String {
    t.key
        .iter()
        .map(|k| format!("{a}.{k} = {b}.{k}", k = quote(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Writes the staged rows of `t` into its table; returns what changed.
pub async fn merge(
    tx: &Client,
    schema: &str,
    t: &Table,
    pg: &PgTable,
    full: bool,
) -> Result<PgCounts, tokio_postgres::Error> {
    let target = format!("{}.{}", quote(schema), quote(&t.name));
    let stage = quote(&stage_name(&t.name));
    let mut counts = PgCounts {
        table: t.name.clone(),
        ..PgCounts::default()
    };
    if t.has_col("removed_at") {
        let q = format!(
            "SELECT count(*) FROM {stage} s JOIN {target} d ON {} \
             WHERE s.removed_at IS NOT NULL AND d.removed_at IS NULL",
            same_key(t, "s", "d")
        );
        counts.removed = tx.query_one(&q, &[]).await?.get(0);
    }
    let row = tx
        .query_one(&upsert_sql(&target, &stage, t, pg), &[])
        .await?;
    counts.inserted = row.get(0);
    counts.updated = row.get(1);
    let gone = format!(
        "NOT EXISTS (SELECT 1 FROM {stage} s WHERE {})",
        same_key(t, "s", "d")
    );
    let delete = match (&t.parent, full) {
        (_, true) => Some(format!("DELETE FROM {target} d WHERE {gone}")),
        (Some((parent, col)), false) => {
            let p = SCHEMA.get(parent).expect("parent table");
            Some(format!(
                "DELETE FROM {target} d USING {} p WHERE d.{} = p.{} AND {gone}",
                quote(&stage_name(parent)),
                quote(col),
                quote(&p.key[0])
            ))
        }
        (None, false) => None,
    };
    if let Some(delete) = delete {
        counts.deleted = tx.execute(&delete, &[]).await? as i64;
    }
    Ok(counts)
}

/// The upsert that skips rows whose values did not change, counting the
/// rows it inserted and updated.
fn upsert_sql(target: &str, stage: &str, t: &Table, pg: &PgTable) -> String {
    let values: Vec<&str> = pg
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| !t.key.iter().any(|k| k == c))
        .collect();
    let conflict = if values.is_empty() {
        "DO NOTHING".to_owned()
    } else {
        let set: Vec<String> = values
            .iter()
            .map(|c| format!("{c} = EXCLUDED.{c}", c = quote(c)))
            .collect();
        let old: Vec<String> = values.iter().map(|c| format!("d.{}", quote(c))).collect();
        let new: Vec<String> = values
            .iter()
            .map(|c| format!("EXCLUDED.{}", quote(c)))
            .collect();
        format!(
            "DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
            set.join(", "),
            old.join(", "),
            new.join(", ")
        )
    };
    let keys: Vec<String> = t.key.iter().map(|k| quote(k)).collect();
    format!(
        "WITH up AS (INSERT INTO {target} AS d ({cols}) SELECT {cols} FROM {stage} \
         ON CONFLICT ({keys}) {conflict} RETURNING (d.xmax = 0) AS ins) \
         SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up",
        cols = pg.column_list(""),
        keys = keys.join(", ")
    )
}
