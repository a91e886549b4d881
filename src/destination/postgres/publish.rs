//! One publication: every table's changes and the run's row in
//! `_huntr_sync_runs`, in one transaction, so a BI query sees the previous
//! run or this one, never half of one, and a run killed anywhere leaves
//! the last complete run.
//!
//! Each table's changed rows (all of them when the destination is new,
//! or when its runs table does not show the publication the state
//! remembers) stream into a temporary table by binary `COPY`; one
//! `INSERT ... ON CONFLICT ... DO UPDATE` then writes only the rows whose
//! values differ, and one `DELETE` takes away the children a changed
//! parent no longer has (or, for a full publication, every row the state
//! no longer holds). The state remembers the run published (after the
//! commit): a crash between the two publishes the same rows again next
//! time, which changes nothing.

use std::collections::HashMap;

use bytes::BytesMut;
use futures_util::SinkExt;
use tokio::runtime::Handle;
use tokio_postgres::Client;

use super::connect::ConnInfo;
use super::copy::Encoder;
use super::ddl::{self, quote, Ensured, PgTable, RUNS, RUN_TABLES};
use super::early::{self, Early};
use super::PgError;
use crate::destination::Published;
use crate::kill_points;
use crate::schema::{Table, SCHEMA};
use crate::store::{Rows, RunId, Tables};

/// The state's record of the last run published here.
pub const RECORD: &str = "_postgres";

/// A column filled on at most one row in `SPARSE` is sparse.
const SPARSE: u64 = 4;

/// Bytes of COPY data sent at a time.
const CHUNK: usize = 1 << 20;

/// A table's temporary copy of the rows being published.
pub fn stage_name(table: &str) -> String {
    format!("_stage_{table}")
}

/// What one table's publication changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PgCounts {
    pub table: String,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
    pub removed: i64,
}

impl PgCounts {
    fn any(&self) -> bool {
        self.inserted + self.updated + self.deleted + self.removed > 0
    }
}

/// How a table's rows went in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PgLoad {
    /// Copied straight into a table this transaction created.
    Direct,
    /// Copied into a temporary table, then merged.
    Staged(Rows),
}

/// One publication under way.
struct Publication<'a> {
    info: &'a ConnInfo,
    /// In the run's transaction.
    tx: &'a Client,
    tables: &'a Tables<'a>,
    rt: &'a Handle,
    ensured: Ensured,
    /// `None`: every row, deleting what the state no longer holds.
    since: Option<RunId>,
    loaded: HashMap<&'static str, PgLoad>,
}

/// Publishes run `run_id` (and whatever earlier runs left unpublished).
pub fn publish(
    info: &ConnInfo,
    tables: &Tables<'_>,
    run_id: RunId,
    rt: &Handle,
    early: Option<Early>,
) -> Result<Published, PgError> {
    let begun = match early.and_then(|e| rt.block_on(early::taken(e))) {
        Some(begun) => begun,
        None => rt.block_on(early::begin(info))?,
    };
    let (tx, ensured) = (begun.client, begun.ensured);
    let sql = |e| PgError::sql(info, e);
    let since = since(&tx, info, tables, rt)?;
    tables.prepare_for_scans()?;
    let mut p = Publication {
        info,
        tx: &tx,
        tables,
        rt,
        ensured,
        since,
        loaded: HashMap::new(),
    };
    let mut counts = Vec::new();
    for t in &SCHEMA.tables {
        kill_points::point("postgres:table");
        if let Some(n) = p.table(t)? {
            counts.push(n);
        }
    }
    if !p.ensured.indexes.is_empty() {
        let rest: String = p
            .ensured
            .indexes
            .iter()
            .map(|(_, _, q)| q.as_str())
            .collect();
        rt.block_on(tx.batch_execute(&rest)).map_err(sql)?;
    }
    super::views::refresh_outcome_views(&tx, info, tables, rt)?;
    let started = tables.run_started(run_id)?;
    rt.block_on(record_run(&tx, &info.schema, run_id, started, &counts))
        .map_err(sql)?;
    kill_points::point("postgres:commit");
    rt.block_on(tx.batch_execute("COMMIT")).map_err(sql)?;
    let total: i64 = counts
        .iter()
        .map(|c| c.inserted + c.updated + c.deleted)
        .sum();
    tables.mark_published(RECORD, run_id, total as u64)?;
    Ok(Published {
        tables: counts
            .into_iter()
            .filter(PgCounts::any)
            .map(|c| c.table)
            .collect(),
        changes_exported: 0,
    })
}

impl Publication<'_> {
    /// Publishes one table's rows; `None` when it has nothing to publish.
    fn table(&mut self, t: &'static Table) -> Result<Option<PgCounts>, PgError> {
        let sql = |e| PgError::sql(self.info, e);
        let parent = t
            .parent
            .as_ref()
            .and_then(|(p, _)| self.loaded.get(p.as_str()).copied());
        let direct = self.ensured.created.contains(&t.name);
        // A table that gained a column is published whole, to fill it.
        let widened = self
            .ensured
            .added
            .iter()
            .any(|c| c.split_once('.').is_some_and(|(table, _)| table == t.name));
        // A child's rows are those of every parent published.
        let all = direct
            || widened
            || matches!(
                parent,
                Some(PgLoad::Direct) | Some(PgLoad::Staged(Rows::All))
            );
        let rows = match (all, self.since) {
            (true, _) | (_, None) => Rows::All,
            (false, Some(since)) => {
                if parent.is_none() && self.tables.last_change(t)? <= since {
                    return Ok(None);
                }
                Rows::ChangedSince(since)
            }
        };
        let pg = &ddl::all_tables()[SCHEMA.id(&t.name)];
        if direct {
            self.sparse_indexes_first(t)?;
            let target = format!("{}.{}", quote(&self.info.schema), quote(&t.name));
            let n = self.copy(t, pg, &target, rows)?;
            self.loaded.insert(&t.name, PgLoad::Direct);
            return Ok(Some(PgCounts {
                table: t.name.clone(),
                inserted: n as i64,
                ..PgCounts::default()
            }));
        }
        self.stage(t, pg, rows)?;
        self.loaded.insert(&t.name, PgLoad::Staged(rows));
        let full = self.since.is_none() || parent == Some(PgLoad::Direct);
        let n = self
            .rt
            .block_on(merge(self.tx, &self.info.schema, t, pg, full))
            .map_err(sql)?;
        Ok(Some(n))
    }

    /// Builds now, before the rows of a new table go in, its indexes on
    /// the columns most rows leave empty (filled on fewer than one row in
    /// `SPARSE`): keeping a partial index up costs only the rows it holds,
    /// while building it afterwards reads the whole table once per index.
    /// The others are built once the rows are in.
    fn sparse_indexes_first(&mut self, t: &Table) -> Result<(), PgError> {
        let mine: Vec<&str> = (self.ensured.indexes.iter())
            .filter(|(table, _, _)| *table == t.name)
            .map(|(_, column, _)| column.as_str())
            .collect();
        if mine.is_empty() {
            return Ok(());
        }
        let (rows, filled) = self.tables.filled(t, &mine)?;
        let sparse: Vec<String> = (mine.iter().zip(filled))
            .filter(|(_, n)| n * SPARSE <= rows)
            .map(|(c, _)| c.to_string())
            .collect();
        let now: String = (self.ensured.indexes.iter())
            .filter(|(table, c, _)| *table == t.name && sparse.contains(c))
            .map(|(_, _, q)| q.as_str())
            .collect();
        if !now.is_empty() {
            self.rt
                .block_on(self.tx.batch_execute(&now))
                .map_err(|e| PgError::sql(self.info, e))?;
        }
        self.ensured
            .indexes
            .retain(|(table, c, _)| *table != t.name || !sparse.contains(c));
        Ok(())
    }

    /// Copies the selected rows of `t` into a temporary table.
    fn stage(&self, t: &Table, pg: &PgTable, rows: Rows) -> Result<u64, PgError> {
        let sql = |e| PgError::sql(self.info, e);
        let stage = quote(&stage_name(&t.name));
        let cols: Vec<String> = pg
            .columns
            .iter()
            .map(|c| format!("{} {}", quote(&c.name), c.ty.sql()))
            .collect();
        let create = format!(
            "CREATE TEMP TABLE {stage} ({}) ON COMMIT DROP",
            cols.join(", ")
        );
        self.rt
            .block_on(self.tx.batch_execute(&create))
            .map_err(sql)?;
        let n = self.copy(t, pg, &stage, rows)?;
        if n > 10_000 {
            self.rt
                .block_on(self.tx.batch_execute(&format!("ANALYZE {stage}")))
                .map_err(sql)?;
        }
        Ok(n)
    }

    /// Streams the selected rows of `t` into `into` by binary `COPY`.
    fn copy(&self, t: &Table, pg: &PgTable, into: &str, rows: Rows) -> Result<u64, PgError> {
        let (rt, sql) = (self.rt, |e| PgError::sql(self.info, e));
        let copy = format!(
            "COPY {into} ({}) FROM STDIN (FORMAT binary)",
            pg.column_list("")
        );
        let sink = rt
            .block_on(self.tx.copy_in::<_, bytes::Bytes>(&copy))
            .map_err(sql)?;
        futures_util::pin_mut!(sink);
        let enc = Encoder::new(pg.columns.iter().map(|c| c.ty).collect());
        let mut buf = BytesMut::with_capacity(CHUNK + 4096);
        enc.header(&mut buf);
        let n = self.tables.scan(t, rows, |cells| {
            enc.row(cells, &mut buf);
            if buf.len() >= CHUNK {
                rt.block_on(sink.as_mut().send(buf.split().freeze()))
                    .map_err(sql)?;
            }
            Ok::<_, PgError>(())
        })?;
        enc.trailer(&mut buf);
        rt.block_on(sink.as_mut().send(buf.split().freeze()))
            .map_err(sql)?;
        // The server has the rows but not yet the end of the COPY.
        kill_points::point("postgres:copy");
        rt.block_on(sink.as_mut().finish()).map_err(sql)?;
        Ok(n)
    }
}

/// The run after which rows must be published, or `None` for all of
/// them: when the state has no record, or the database does not show the
/// run the state remembers (it was replaced or emptied).
fn since(
    tx: &Client,
    info: &ConnInfo,
    tables: &Tables<'_>,
    rt: &Handle,
) -> Result<Option<RunId>, PgError> {
    let Some(remembered) = tables.published(RECORD)? else {
        return Ok(None);
    };
    let q = format!(
        "SELECT EXISTS (SELECT 1 FROM {}.{} WHERE run_id >= $1)",
        quote(&info.schema),
        quote(RUNS)
    );
    let shown: bool = rt
        .block_on(tx.query_one(&q, &[&remembered]))
        .map_err(|e| PgError::sql(info, e))?
        .get(0);
    Ok(shown.then_some(remembered))
}

/// `s.k1 = d.k1 AND ...`: the key columns of `a` and `b` equal.
fn same_key(t: &Table, a: &str, b: &str) -> String {
    t.key
        .iter()
        .map(|k| format!("{a}.{k} = {b}.{k}", k = quote(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Writes the staged rows of `t` into its table; returns what changed.
async fn merge(
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

/// The run's rows in `_huntr_sync_runs` and `_huntr_sync_run_tables`.
async fn record_run(
    tx: &Client,
    schema: &str,
    run_id: RunId,
    started: Option<i64>,
    counts: &[PgCounts],
) -> Result<(), tokio_postgres::Error> {
    let sum = |f: fn(&PgCounts) -> i64| counts.iter().map(f).sum::<i64>();
    let host = crate::store::lock::host_name();
    let started = started.map(|s| s as f64);
    tx.execute(
        &format!(
            "INSERT INTO {}.{} (run_id, started_at, finished_at, host, inserted, updated, deleted, removed) \
             VALUES ($1, to_timestamp($2), clock_timestamp(), $3, $4, $5, $6, $7) \
             ON CONFLICT (run_id) DO UPDATE SET finished_at = clock_timestamp(), inserted = EXCLUDED.inserted, \
             updated = EXCLUDED.updated, deleted = EXCLUDED.deleted, removed = EXCLUDED.removed",
            quote(schema),
            quote(RUNS)
        ),
        &[
            &run_id,
            &started,
            &host,
            &sum(|c| c.inserted),
            &sum(|c| c.updated),
            &sum(|c| c.deleted),
            &sum(|c| c.removed),
        ],
    )
    .await?;
    let insert = format!(
        "INSERT INTO {}.{} (run_id, table_name, inserted, updated, deleted, removed) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id, table_name) DO UPDATE SET \
         inserted = EXCLUDED.inserted, updated = EXCLUDED.updated, deleted = EXCLUDED.deleted, \
         removed = EXCLUDED.removed",
        quote(schema),
        quote(RUN_TABLES)
    );
    for c in counts.iter().filter(|c| c.any()) {
        tx.execute(
            &insert,
            &[
                &run_id,
                &c.table,
                &c.inserted,
                &c.updated,
                &c.deleted,
                &c.removed,
            ],
        )
        .await?;
    }
    Ok(())
}
