//! The SQLite destination.
//!
//! WAL mode and a busy timeout let a BI tool read while a sync writes. All
//! SQL is generated from the schema: one upsert per (table, merge mode),
//! prepared once and cached. Bookkeeping lives in the same file:
//! `sync_state` (watermarks, last complete listings), `sync_runs` (one row
//! per run), `sync_pending_jobs` (jobs changed by actions, to re-read) and
//! `sync_table_changes` (the last run that changed each table).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{StateUpdate, TableCounts};
use crate::flatten::{Mode, Op, Row, Val};
use crate::resources::Resource;
use crate::schema::{
    Schema, Table, AS_OF, CHILDREN, EXTRA, FULL, INS_RUN, SCHEMA, SEEN_RUN, UPD_RUN,
};
use crate::timefmt::iso;

#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    #[error("cannot open SQLite database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create directory {path} for the database: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SQLite error in {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

const BOOKKEEPING: &str = "
CREATE TABLE IF NOT EXISTS sync_state (
  resource TEXT PRIMARY KEY,
  watermark INTEGER,
  watermark_at TEXT,
  listed_at TEXT,
  updated_at TEXT
);
CREATE TABLE IF NOT EXISTS sync_runs (
  run_id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  window_end TEXT,
  status TEXT NOT NULL,
  resources TEXT,
  rows_json TEXT,
  requests INTEGER,
  retries INTEGER,
  error TEXT
);
CREATE TABLE IF NOT EXISTS sync_table_changes (
  name TEXT PRIMARY KEY,
  run_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_pending_jobs (
  job_id TEXT PRIMARY KEY,
  changed INTEGER NOT NULL
);
";

/// How a run ended, for its `sync_runs` row.
#[derive(Debug, Clone)]
pub struct RunEnd {
    pub finished: i64,
    pub window_end: Option<i64>,
    pub status: &'static str,
    pub requests: u64,
    pub retries: u64,
    pub error: Option<String>,
}

/// Generated SQL for one table.
struct TableSql {
    /// Returns the row's `_upd_run`, or no row when the write was stale.
    full: String,
    partial: String,
    update: String,
    delete: Option<String>,
}

fn table_sql(t: &Table) -> TableSql {
    let name = &t.name;
    let cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    let placeholders = vec!["?"; cols.len()].join(", ");
    let insert = format!(
        "INSERT INTO {name} ({}) VALUES ({placeholders}) ON CONFLICT ({}) DO UPDATE SET ",
        cols.join(", "),
        t.key.join(", ")
    );
    let is_key = |c: &str| t.key.iter().any(|k| k == c);
    // Bookkeeping that changes on every write and says nothing about data.
    let is_stamp = |c: &str| [FULL, AS_OF, SEEN_RUN, INS_RUN, UPD_RUN].contains(&c);
    let settable: Vec<&crate::schema::Column> = t
        .columns
        .iter()
        .filter(|c| !is_key(&c.name) && c.name != INS_RUN && c.name != UPD_RUN)
        .collect();
    // `_upd_run` moves to this run only when a value really changes.
    let upd_run = |changes: Vec<(String, String)>| -> String {
        if changes.is_empty() {
            return format!("{UPD_RUN} = {name}.{UPD_RUN}");
        }
        let any: Vec<String> = changes
            .iter()
            .map(|(new, col)| format!("({new}) IS NOT {name}.{col}"))
            .collect();
        format!(
            "{UPD_RUN} = CASE WHEN {} THEN excluded.{UPD_RUN} ELSE {name}.{UPD_RUN} END",
            any.join(" OR ")
        )
    };

    // Full: every column, lifecycle `deleted_at` excepted; guarded by age.
    let full_cols: Vec<&str> = settable
        .iter()
        .filter(|c| c.name != "deleted_at")
        .map(|c| c.name.as_str())
        .collect();
    let mut full_sets: Vec<String> = full_cols
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    full_sets.push(upd_run(
        full_cols
            .iter()
            .filter(|c| !is_stamp(c))
            .map(|c| (format!("excluded.{c}"), (*c).to_owned()))
            .collect(),
    ));
    let mut full = insert.clone() + &full_sets.join(", ");
    if t.resource {
        full += &format!(" WHERE excluded.{AS_OF} >= COALESCE({name}.{AS_OF}, 0)");
    }
    // The loader learns from it whether the write changed the row.
    full += &format!(" RETURNING {UPD_RUN}");

    // Data columns a snapshot may touch.
    let data: Vec<&str> = settable
        .iter()
        .filter(|c| !c.is_lifecycle() && !c.is_hidden())
        .map(|c| c.name.as_str())
        .collect();
    let merged = |expr: &dyn Fn(&str) -> String, extra: Vec<String>| -> String {
        let mut sets: Vec<String> = data.iter().map(|c| format!("{c} = {}", expr(c))).collect();
        sets.extend(extra);
        sets.push(upd_run(
            data.iter().map(|c| (expr(c), (*c).to_owned())).collect(),
        ));
        insert.clone() + &sets.join(", ")
    };
    let partial_expr = |c: &str| {
        format!(
            "CASE WHEN {name}.{FULL} = 1 THEN COALESCE({name}.{c}, excluded.{c}) \
             ELSE COALESCE(excluded.{c}, {name}.{c}) END"
        )
    };
    let partial = if data.is_empty() {
        format!(
            "INSERT INTO {name} ({}) VALUES ({placeholders}) ON CONFLICT DO NOTHING",
            cols.join(", ")
        )
    } else {
        // Most snapshots change nothing; SQLite would still rewrite the
        // row (and its page, and the WAL) unless told not to.
        let changed: Vec<String> = data
            .iter()
            .map(|c| format!("({}) IS NOT {name}.{c}", partial_expr(c)))
            .collect();
        merged(&partial_expr, Vec::new()) + " WHERE " + &changed.join(" OR ")
    };
    let update_expr = |c: &str| {
        format!(
            "CASE WHEN excluded.{AS_OF} >= COALESCE({name}.{AS_OF}, 0) \
             THEN COALESCE(excluded.{c}, {name}.{c}) ELSE {name}.{c} END"
        )
    };
    let as_of = if t.resource {
        vec![format!(
            "{AS_OF} = MAX(COALESCE({name}.{AS_OF}, 0), excluded.{AS_OF})"
        )]
    } else {
        Vec::new()
    };
    let update = merged(&update_expr, as_of);
    let delete = (t.has_col("deleted_at") && t.key.len() == 1).then(|| {
        format!(
            "INSERT INTO {name} ({k}, deleted_at, {FULL}, {AS_OF}, {INS_RUN}, {UPD_RUN}) VALUES (?, ?, 0, 0, ?, ?) \
             ON CONFLICT ({k}) DO UPDATE SET deleted_at = excluded.deleted_at, {UPD_RUN} = excluded.{UPD_RUN} \
             WHERE {name}.deleted_at IS NULL",
            k = t.key[0]
        )
    });
    TableSql {
        full,
        partial,
        update,
        delete,
    }
}

/// A cell bound as a statement parameter; text is borrowed, not copied.
fn to_sql(v: &Val) -> ToSqlOutput<'_> {
    match v {
        Val::Null => ToSqlOutput::Owned(SqlValue::Null),
        Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Val::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
        Val::Float(f) => ToSqlOutput::Owned(SqlValue::Real(*f)),
        Val::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(*b as i64)),
        Val::Ts(t) => ToSqlOutput::Owned(SqlValue::Text(iso(*t))),
    }
}

/// An open SQLite destination; the only writer of its file during a run.
pub struct SqliteDest {
    conn: Connection,
    path: PathBuf,
    sql: Vec<TableSql>,
    /// Per-table counters of the current run.
    pub counts: BTreeMap<String, TableCounts>,
    recent: Recent,
    changed: Changed,
}

/// The tables a run has changed so far. Only they are counted at the end
/// of the run (a full scan each), and each is recorded in
/// `sync_table_changes` with the first change, in the same transaction, so
/// the Parquet publisher knows which tables to rewrite without scanning.
#[derive(Default)]
struct Changed {
    tables: HashSet<usize>,
    /// Changed for the first time by the batch being applied.
    fresh: Vec<usize>,
}

impl Changed {
    fn mark(&mut self, table: usize) {
        if self.tables.insert(table) {
            self.fresh.push(table);
        }
    }
    /// Records the batch's newly changed tables inside its transaction.
    fn record(&mut self, tx: &Transaction, run_id: i64) -> rusqlite::Result<()> {
        for t in self.fresh.drain(..) {
            tx.prepare_cached(
                "INSERT INTO sync_table_changes (name, run_id) VALUES (?, ?)
                 ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id",
            )?
            .execute(params![SCHEMA.table(t).name, run_id])?;
        }
        Ok(())
    }
    /// The batch rolled back: its first changes did not happen.
    fn forget_fresh(&mut self) {
        for t in self.fresh.drain(..) {
            self.tables.remove(&t);
        }
    }
}

/// The nested snapshots applied lately, per row: the same advisor or
/// employer arrives inside thousands of actions, and re-applying an
/// identical snapshot changes nothing. Any other write to the row forgets
/// its entry, so skipping never changes the result.
#[derive(Default)]
struct Recent {
    /// Hash of (table, key) to the hash of the row last written.
    current: HashMap<u64, u64, BuildHasherDefault<Prehashed>>,
    /// The generation before `current`, still consulted: a full map is not
    /// simply cleared, or the busiest rows would be forgotten with the rest.
    previous: HashMap<u64, u64, BuildHasherDefault<Prehashed>>,
}

/// Entries per generation (about 16 bytes each; two generations, so
/// 7 MiB at most). Large enough to span the actions between two mentions
/// of a busy job.
const RECENT_MAX: usize = 200_000;

impl Recent {
    fn key(t: &Table, row: &Row) -> Option<u64> {
        match t.key.as_slice() {
            [one] => row.vals[t.col(one)]
                .as_str()
                .map(|k| Self::slot(row.table, k)),
            _ => None,
        }
    }
    fn slot(table: usize, key: &str) -> u64 {
        crate::flatten::convert::hash_text(key) ^ (table as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    /// True when this exact snapshot was the last write to its row.
    fn seen(&mut self, t: &Table, row: &Row) -> bool {
        let Some(key) = Self::key(t, row) else {
            return false;
        };
        let hash = crate::flatten::convert::fingerprint(&row.vals);
        if self.current.len() >= RECENT_MAX {
            self.previous = std::mem::take(&mut self.current);
        }
        let before = match self.current.insert(key, hash) {
            Some(h) => Some(h),
            None => self.previous.remove(&key),
        };
        before == Some(hash)
    }
    fn forget(&mut self, key: Option<u64>) {
        if let Some(key) = key {
            self.current.remove(&key);
            self.previous.remove(&key);
        }
    }
}

/// The keys of [`Recent`] are hashes already: hashing them again is waste.
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl SqliteDest {
    pub fn open(path: &Path) -> Result<SqliteDest, SqliteError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| SqliteError::Dir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| SqliteError::Open {
            path: path.to_owned(),
            source,
        })?;
        let mut dest = SqliteDest {
            conn,
            path: path.to_owned(),
            sql: SCHEMA.tables.iter().map(table_sql).collect(),
            counts: BTreeMap::new(),
            recent: Recent::default(),
            changed: Changed::default(),
        };
        dest.init(&SCHEMA).map_err(|e| dest.err(e))?;
        Ok(dest)
    }

    fn err(&self, source: rusqlite::Error) -> SqliteError {
        SqliteError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    fn init(&mut self, schema: &Schema) -> rusqlite::Result<()> {
        self.conn.busy_timeout(std::time::Duration::from_secs(30))?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 16 MiB of pages: snapshot upserts look rows up at random.
        self.conn.pragma_update(None, "cache_size", -16_384)?;
        // Checkpoint every ~40 MiB of WAL instead of 4 MiB: a page that
        // a sync dirties again and again (an index's inner pages, a busy
        // job) is copied into the file far less often. Measured on a
        // million-action backfill: 30% less CPU (README "Performance").
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 10_000)?;
        self.conn.set_prepared_statement_cache_capacity(256);
        let tx = self.conn.transaction()?;
        tx.execute_batch(&schema.sqlite_ddl())?;
        tx.execute_batch(BOOKKEEPING)?;
        // Columns added to the schema since the file was created.
        for t in &schema.tables {
            let existing: HashSet<String> = tx
                .prepare(&format!("SELECT name FROM pragma_table_info('{}')", t.name))?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for c in t.columns.iter().filter(|c| !existing.contains(&c.name)) {
                tx.execute_batch(&format!(
                    "ALTER TABLE {} ADD COLUMN {} {}",
                    t.name,
                    c.name,
                    c.ty.sql_type()
                ))?;
            }
        }
        tx.commit()
    }

    /// Every commit reaches the disk before it returns (the webhook
    /// receiver answers 200 only then); syncs keep the faster default.
    pub fn set_durable(&mut self) -> Result<(), SqliteError> {
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| self.err(e))
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Starts a run record; returns its id.
    pub fn begin_run(&mut self, started: i64, resources: &str) -> Result<i64, SqliteError> {
        self.counts.clear();
        self.recent = Recent::default();
        self.changed = Changed::default();
        self.conn
            .execute(
                "INSERT INTO sync_runs (started_at, status, resources) VALUES (?, 'running', ?)",
                params![iso(started), resources],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Applies a batch and its state change in one transaction.
    pub fn apply(
        &mut self,
        ops: &[Op],
        run_id: i64,
        state: Option<&StateUpdate>,
        now: i64,
    ) -> Result<(), SqliteError> {
        let res = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction()?;
            apply_ops(
                &tx,
                &self.sql,
                ops,
                run_id,
                &mut self.counts,
                &mut self.recent,
                &mut self.changed,
            )?;
            self.changed.record(&tx, run_id)?;
            if let Some(state) = state {
                write_state(&tx, state, now)?;
            }
            tx.commit()
        })();
        if res.is_err() {
            // The batch rolled back: what it applied is not there.
            self.recent = Recent::default();
            self.changed.forget_fresh();
        }
        res.map_err(|e| self.err(e))
    }

    pub fn watermark(&self, resource: Resource) -> Result<Option<i64>, SqliteError> {
        self.conn
            .query_row(
                "SELECT watermark FROM sync_state WHERE resource = ?",
                [resource.path()],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// Jobs changed after they were last read; obsolete entries are dropped.
    /// A backfill records an entry for most jobs, nearly all obsolete by
    /// the end: the table is walked in key order a chunk at a time, so the
    /// memory this takes does not grow with the organization.
    pub fn pending_jobs(&mut self) -> Result<Vec<String>, SqliteError> {
        const CHUNK: i64 = 2000;
        let res = (|| -> rusqlite::Result<Vec<String>> {
            let tx = self.conn.transaction()?;
            let mut pending = Vec::new();
            let mut after = String::new();
            loop {
                let chunk: Vec<(String, bool)> = tx
                    .prepare_cached(
                        "SELECT p.job_id, j.id IS NOT NULL AND (j.deleted_at IS NOT NULL
                           OR (j._full = 1 AND j._as_of > p.changed))
                         FROM sync_pending_jobs p LEFT JOIN jobs j ON j.id = p.job_id
                         WHERE p.job_id > ?1 ORDER BY p.job_id LIMIT ?2",
                    )?
                    .query_map(params![after, CHUNK], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let Some((last, _)) = chunk.last() else { break };
                after = last.clone();
                let mut delete =
                    tx.prepare_cached("DELETE FROM sync_pending_jobs WHERE job_id = ?")?;
                for (id, obsolete) in chunk {
                    if obsolete {
                        delete.execute([&id])?;
                    } else {
                        pending.push(id);
                    }
                }
            }
            tx.commit()?;
            Ok(pending)
        })();
        res.map_err(|e| self.err(e))
    }

    /// Marks rows of the completely listed tables that this run did not see.
    pub fn mirror(
        &mut self,
        resources: &[Resource],
        run_id: i64,
        at: i64,
    ) -> Result<(), SqliteError> {
        let res = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction()?;
            for r in resources {
                let table = &SCHEMA.table(r.table()).name;
                let n = tx.execute(
                    &format!(
                        "UPDATE {t} SET removed_at = ?1, {UPD_RUN} = ?2 WHERE removed_at IS NULL \
                         AND ({SEEN_RUN} IS NULL OR {SEEN_RUN} <> ?2)",
                        t = table
                    ),
                    params![iso(at), run_id],
                )?;
                self.counts.entry(table.clone()).or_default().removed += n as u64;
                if n > 0 {
                    self.changed.mark(r.table());
                }
            }
            self.changed.record(&tx, run_id)?;
            tx.commit()
        })();
        if res.is_err() {
            self.changed.forget_fresh();
        }
        res.map_err(|e| self.err(e))
    }

    pub fn finish_run(&mut self, run_id: i64, end: &RunEnd) -> Result<(), SqliteError> {
        self.count_changes(run_id).map_err(|e| self.err(e))?;
        let rows = serde_json::to_string(&self.counts).unwrap_or_default();
        self.conn
            .execute(
                "UPDATE sync_runs SET finished_at = ?, window_end = ?, status = ?, rows_json = ?,
                 requests = ?, retries = ?, error = ? WHERE run_id = ?",
                params![
                    iso(end.finished),
                    end.window_end.map(iso),
                    end.status,
                    rows,
                    end.requests as i64,
                    end.retries as i64,
                    end.error,
                    run_id
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Rows this run created and changed, per table (children count as
    /// inserted: they are replaced with their parent).
    fn count_changes(&mut self, run_id: i64) -> rusqlite::Result<()> {
        for (i, t) in SCHEMA.tables.iter().enumerate() {
            if !self.changed.tables.contains(&i) {
                continue;
            }
            let (inserted, updated): (i64, i64) = self.conn.query_row(
                &format!(
                    "SELECT COALESCE(SUM({INS_RUN} = ?1), 0), \
                     COALESCE(SUM({UPD_RUN} = ?1 AND {INS_RUN} IS NOT ?1), 0) FROM {}",
                    t.name
                ),
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if inserted + updated > 0 {
                let c = self.counts.entry(t.name.clone()).or_default();
                c.inserted = inserted as u64;
                c.updated = updated as u64;
            }
        }
        Ok(())
    }

    /// Rows per table now, for the run summary.
    pub fn table_totals(&self) -> Vec<(String, i64)> {
        SCHEMA
            .tables
            .iter()
            .map(|t| {
                let n = self
                    .conn
                    .query_row(&format!("SELECT COUNT(*) FROM {}", t.name), [], |row| {
                        row.get(0)
                    })
                    .unwrap_or(0);
                (t.name.clone(), n)
            })
            .collect()
    }

    /// Forgets watermarks (all, or one resource's) so the next run re-reads.
    pub fn reset_state(&mut self, resource: Option<Resource>) -> Result<usize, SqliteError> {
        let n = match resource {
            Some(r) => self
                .conn
                .execute("DELETE FROM sync_state WHERE resource = ?", [r.path()]),
            None => self.conn.execute("DELETE FROM sync_state", []),
        };
        n.map_err(|e| self.err(e))
    }

    /// `(resource, watermark, listed_at, updated_at)` rows for `state show`.
    pub fn state_rows(&self) -> Result<Vec<[Option<String>; 4]>, SqliteError> {
        let res = (|| -> rusqlite::Result<Vec<[Option<String>; 4]>> {
            let mut stmt = self.conn.prepare(
                "SELECT resource, watermark_at, listed_at, updated_at FROM sync_state ORDER BY resource",
            )?;
            let rows = stmt
                .query_map([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]))?
                .collect();
            rows
        })();
        res.map_err(|e| self.err(e))
    }
}

fn write_state(tx: &Transaction, state: &StateUpdate, now: i64) -> rusqlite::Result<()> {
    match state {
        StateUpdate::Watermark { resource, value } => tx.execute(
            "INSERT INTO sync_state (resource, watermark, watermark_at, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (resource) DO UPDATE SET watermark = excluded.watermark,
               watermark_at = excluded.watermark_at, updated_at = excluded.updated_at",
            params![resource.path(), value, iso(*value), iso(now)],
        )?,
        StateUpdate::Listed { resource } => tx.execute(
            "INSERT INTO sync_state (resource, listed_at, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (resource) DO UPDATE SET listed_at = excluded.listed_at,
               updated_at = excluded.updated_at",
            params![resource.path(), iso(now), iso(now)],
        )?,
    };
    Ok(())
}

/// Fills the loader-owned columns of a row for its merge mode.
fn bind_values<'r>(t: &Table, row: &'r Row, run_id: i64) -> Vec<ToSqlOutput<'r>> {
    let int = |i: i64| ToSqlOutput::Owned(SqlValue::Integer(i));
    let mut vals: Vec<ToSqlOutput<'r>> = row.vals.iter().map(to_sql).collect();
    if t.resource {
        vals[t.col(FULL)] = int((row.mode == Mode::Full) as i64);
        let as_of = if row.mode == Mode::Partial {
            0
        } else {
            row.as_of
        };
        vals[t.col(AS_OF)] = int(as_of);
    }
    if t.listed && row.mode == Mode::Full {
        vals[t.col(SEEN_RUN)] = int(run_id);
    }
    if row.mode == Mode::Partial {
        vals[t.col(EXTRA)] = ToSqlOutput::Owned(SqlValue::Null);
    }
    vals[t.col(INS_RUN)] = int(run_id);
    vals[t.col(UPD_RUN)] = int(run_id);
    vals
}

/// The batch's prepared statements by small keys: rusqlite's own cache is
/// keyed by the SQL text, kilobytes hashed per row.
struct Stmts<'c> {
    conn: &'c Connection,
    map: HashMap<(usize, u8), rusqlite::CachedStatement<'c>>,
}

impl<'c> Stmts<'c> {
    fn get(
        &mut self,
        key: (usize, u8),
        sql: impl FnOnce() -> String,
    ) -> rusqlite::Result<&mut rusqlite::CachedStatement<'c>> {
        use std::collections::hash_map::Entry;
        Ok(match self.map.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => v.insert(self.conn.prepare_cached(&sql())?),
        })
    }
}

fn apply_ops(
    tx: &Transaction,
    sql: &[TableSql],
    ops: &[Op],
    run_id: i64,
    counts: &mut BTreeMap<String, TableCounts>,
    recent: &mut Recent,
    changed: &mut Changed,
) -> rusqlite::Result<()> {
    // The parent whose full write lost to a newer stored row, or changed
    // nothing: its children in this batch are skipped.
    let mut stale_parent: Option<(usize, String)> = None;
    let mut stmts = Stmts {
        conn: tx,
        map: HashMap::new(),
    };
    for op in ops {
        match op {
            Op::Upsert(row) => {
                let t = SCHEMA.table(row.table);
                if let Some((parent_table, parent_col)) = &t.parent {
                    if let (Some((pt, pid)), Val::Text(id)) =
                        (&stale_parent, &row.vals[t.col(parent_col)])
                    {
                        if *pt == SCHEMA.id(parent_table) && pid == id {
                            continue;
                        }
                    }
                }
                if row.mode == Mode::Partial {
                    if recent.seen(t, row) {
                        continue;
                    }
                } else {
                    recent.forget(Recent::key(t, row));
                }
                let s = &sql[row.table];
                let vals = bind_values(t, row, run_id);
                let params = rusqlite::params_from_iter(vals.iter());
                if row.mode != Mode::Full {
                    let (kind, text) = match row.mode {
                        Mode::Partial => (1, &s.partial),
                        _ => (2, &s.update),
                    };
                    // A snapshot writes only when it changes something.
                    if stmts
                        .get((row.table, kind), || text.clone())?
                        .execute(params)?
                        > 0
                    {
                        changed.mark(row.table);
                    }
                    continue;
                }
                // A full write reports whether it changed the row: a stale
                // or identical one leaves `_upd_run` behind.
                let upd: Option<i64> = stmts
                    .get((row.table, 0), || s.full.clone())?
                    .query_row(params, |r| r.get(0))
                    .optional()?;
                let fresh = upd == Some(run_id);
                if fresh {
                    changed.mark(row.table);
                }
                if !t.has_col(CHILDREN) {
                    continue;
                }
                // A parent's children are replaced only when it changed
                // (its `_children` hash included); a stale or unchanged
                // parent keeps them, and its incoming children are skipped.
                let Val::Text(id) = &row.vals[t.key_cols()[0]] else {
                    continue;
                };
                if !fresh {
                    stale_parent = Some((row.table, id.clone()));
                    continue;
                }
                stale_parent = None;
                for c in SCHEMA.children(row.table) {
                    let ct = SCHEMA.table(c);
                    let pcol = &ct.parent.as_ref().expect("child has parent").1;
                    let n = stmts
                        .get((c, 4), || {
                            format!("DELETE FROM {} WHERE {pcol} = ?", ct.name)
                        })?
                        .execute([id])?;
                    if n > 0 {
                        changed.mark(c);
                    }
                }
            }
            Op::Delete { table, id, at } => {
                recent.forget(Some(Recent::slot(*table, id)));
                if let Some(text) = &sql[*table].delete {
                    let n = stmts.get((*table, 5), || text.clone())?.execute(params![
                        id,
                        iso(*at),
                        run_id,
                        run_id
                    ])?;
                    if n > 0 {
                        changed.mark(*table);
                    }
                    counts
                        .entry(SCHEMA.table(*table).name.clone())
                        .or_default()
                        .deleted += n as u64;
                }
            }
            Op::RefreshJob { job_id, date } => {
                tx.prepare_cached(
                    "INSERT INTO sync_pending_jobs (job_id, changed) VALUES (?, ?)
                     ON CONFLICT (job_id) DO UPDATE SET changed = MAX(changed, excluded.changed)",
                )?
                .execute(params![job_id, date])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
