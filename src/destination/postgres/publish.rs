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
//! no longer holds): `merge`. The tables merged ahead of the run's end
//! (`ahead`) are skipped unless they changed since. The state remembers
//! the run published (after the commit): a crash between the two
//! publishes the same rows again next time, which changes nothing.

use std::collections::{HashMap, HashSet};

use bytes::BytesMut;
use futures_util::SinkExt;
use tokio::runtime::Handle;
use tokio_postgres::Client;

use super::ahead;
use super::connect::ConnInfo;
use super::copy::Encoder;
use super::ddl::{self, quote, Ensured, PgTable, RUNS, RUN_TABLES};
use super::early::{self, Early};
use super::merge::merge;
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
pub struct Publication<'a> {
    info: &'a ConnInfo,
    /// In the run's transaction.
    tx: &'a Client,
    tables: &'a Tables<'a>,
    rt: &'a Handle,
    ensured: Ensured,
    /// `None`: every row, deleting what the state no longer holds.
    since: Option<RunId>,
    loaded: HashMap<&'static str, PgLoad>,
    /// Tables whose temporary copy this transaction made already.
    staged: HashSet<String>,
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
    let (tx, ensured, ahead) = (begun.client, begun.ensured, begun.ahead);
    let sql = |e| PgError::sql(info, e);
    let since = since(&tx, info, tables, rt)?;
    tables.prepare_for_scans()?;
    let now = tables.marks();
    let mut p = Publication::new(info, &tx, tables, rt, ensured, since);
    // What was merged ahead is in the transaction (and counted), its
    // temporary tables still there; what has not changed since stays as
    // it is.
    let mut counts = ahead.as_ref().map(|a| a.counts.clone()).unwrap_or_default();
    p.staged = counts.iter().map(|c| c.table.clone()).collect();
    let ahead = ahead.filter(|a| a.since == since);
    for t in &SCHEMA.tables {
        match &ahead {
            Some(a) if a.covers(t, &now) => continue,
            Some(a) if a.roots.contains(&ahead::root(t)) => {
                tracing::debug!("{}: changed after it was published ahead", t.name);
            }
            _ => {}
        }
        kill_points::point("postgres:table");
        if let Some(n) = p.table(t)? {
            add_counts(&mut counts, n);
        }
    }
    p.build_indexes(|_, _| true)?;
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

/// Adds what a table's merge changed to the publication's counts (a
/// table merged ahead may be merged again).
fn add_counts(counts: &mut Vec<PgCounts>, n: PgCounts) {
    match counts.iter_mut().find(|c| c.table == n.table) {
        Some(c) => {
            c.inserted += n.inserted;
            c.updated += n.updated;
            c.deleted += n.deleted;
            c.removed += n.removed;
        }
        None => counts.push(n),
    }
}

impl<'a> Publication<'a> {
    /// A publication of the rows changed after `since` (`None`: all of
    /// them), in the transaction `tx` has begun.
    pub fn new(
        info: &'a ConnInfo,
        tx: &'a Client,
        tables: &'a Tables<'a>,
        rt: &'a Handle,
        ensured: Ensured,
        since: Option<RunId>,
    ) -> Self {
        Publication {
            info,
            tx,
            tables,
            rt,
            ensured,
            since,
            loaded: HashMap::new(),
            staged: HashSet::new(),
        }
    }

    /// Ends a publication ahead of the run's end (`ahead`): builds the
    /// indexes of the tables it copied straight in, which from now on are
    /// merged into like any other (should their rows change before the
    /// run's end); answers what is left to do of the schema's tables.
    pub fn finish_ahead(mut self) -> Result<Ensured, PgError> {
        let direct: Vec<&str> = (self.loaded.iter())
            .filter(|(_, load)| **load == PgLoad::Direct)
            .map(|(t, _)| *t)
            .collect();
        self.build_indexes(|t, _| direct.contains(&t))?;
        self.ensured
            .created
            .retain(|t| !direct.contains(&t.as_str()));
        Ok(self.ensured)
    }

    /// Publishes one table's rows; `None` when it has nothing to publish.
    pub fn table(&mut self, t: &'static Table) -> Result<Option<PgCounts>, PgError> {
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
            .filter(|(table, column, _)| *table == t.name && column != ddl::KEY)
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
        self.build_indexes(|table, c| table == t.name && sparse.iter().any(|s| s == c))
    }

    /// Builds the indexes left to build that `now` picks (by table and
    /// column), and takes them off the list.
    fn build_indexes(&mut self, now: impl Fn(&str, &str) -> bool) -> Result<(), PgError> {
        let (build, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.ensured.indexes)
            .into_iter()
            .partition(|(t, c, _)| now(t, c));
        self.ensured.indexes = rest;
        let sql: String = build.iter().map(|(_, _, q)| q.as_str()).collect();
        if !sql.is_empty() {
            self.rt
                .block_on(self.tx.batch_execute(&sql))
                .map_err(|e| PgError::sql(self.info, e))?;
        }
        Ok(())
    }

    /// Copies the selected rows of `t` into a temporary table.
    fn stage(&mut self, t: &Table, pg: &PgTable, rows: Rows) -> Result<u64, PgError> {
        let sql = |e| PgError::sql(self.info, e);
        let stage = quote(&stage_name(&t.name));
        let cols: Vec<String> = pg
            .columns
            .iter()
            .map(|c| format!("{} {}", quote(&c.name), c.ty.sql()))
            .collect();
        // A table merged ahead and again is staged twice (copied straight
        // in ahead, it has no stage yet).
        let again = match self.staged.insert(t.name.clone()) {
            true => String::new(),
            false => format!("DROP TABLE IF EXISTS {stage}; "),
        };
        let create = format!(
            "{again}CREATE TEMP TABLE {stage} ({}) ON COMMIT DROP",
            cols.join(", ")
        );
        self.rt
            .block_on(self.tx.batch_execute(&create))
            .map_err(sql)?;
        let n = self.copy(t, pg, &stage, rows)?;
        if n > 10_000 {
            // Statistics for what the merge joins and filters on only:
            // the other columns' would cost more than the merge gains.
            let mut cols: Vec<String> = t.key.iter().map(|k| quote(k)).collect();
            if t.has_col("removed_at") {
                cols.push(quote("removed_at"));
            }
            let analyze = format!("ANALYZE {stage} ({})", cols.join(", "));
            self.rt
                .block_on(self.tx.batch_execute(&analyze))
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
pub fn since(
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
