//! Applying a batch of row operations inside one transaction: the
//! merge rules (full, partial and dated writes, deletions, children replaced
//! with their parent), change tracking for the run summary, and the jobs
//! to re-read.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{params, CachedStatement, Connection, Statement};

use super::bind::bind_key;
use super::recent::Recent;
use super::sql::{delete_children, Stmt, TableSql};
use super::{RunId, TableCounts};
use crate::rows::hash::hash_text;
use crate::rows::{Mode, Op, Row, Text, Val};
use crate::schema::tables::actions;
use crate::schema::{Table, TableId, CHILDREN, SCHEMA};
use crate::timefmt::iso;

/// The tables a run has changed so far. Only they are counted at the end
/// of the run (a full scan each), and each is recorded in
/// `sync_table_changes` with the first change, in the same transaction, so
/// publishers know which tables to rewrite without scanning.
#[derive(Default)]
pub struct Changed {
    pub tables: HashSet<TableId>,
    /// Every change counted, table by table (see [`Marks`]).
    marks: Marks,
    /// Changed for the first time by the open transaction (which may span
    /// several batches: see `writer`).
    fresh: Vec<TableId>,
    /// How many of `fresh` the open transaction has recorded already.
    recorded: usize,
}

impl Changed {
    pub fn mark(&mut self, table: TableId) {
        self.marks.bump(table);
        if self.tables.insert(table) {
            self.fresh.push(table);
        }
    }
    /// Records the newly changed tables inside the open transaction.
    pub fn record(&mut self, tx: &Connection, run_id: RunId) -> rusqlite::Result<()> {
        for &t in &self.fresh[self.recorded..] {
            tx.prepare_cached(
                "INSERT INTO sync_table_changes (name, run_id) VALUES (?, ?)
                 ON CONFLICT (name) DO UPDATE SET run_id = MAX(run_id, excluded.run_id)",
            )?
            .execute(params![SCHEMA.table(t).name, run_id])?;
        }
        self.recorded = self.fresh.len();
        Ok(())
    }
    pub fn marks(&self) -> &Marks {
        &self.marks
    }
    /// The transaction committed: its first changes happened.
    pub fn committed(&mut self) {
        self.fresh.clear();
        self.recorded = 0;
    }
    /// The transaction rolled back: its first changes did not happen.
    pub fn forget_fresh(&mut self) {
        for t in self.fresh.drain(..) {
            self.tables.remove(&t);
        }
        self.recorded = 0;
    }
}

/// How many times each table has changed since the store was opened,
/// counted as the changes are applied (a change rolled back still
/// counts). Two readings taken when nothing was left uncommitted tell
/// whether a table changed in between: a destination that published part
/// of a run ahead, while the run still read, publishes again at the end
/// the tables whose marks moved since.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Marks(Vec<u64>);

impl Marks {
    fn bump(&mut self, table: TableId) {
        if self.0.len() <= table {
            self.0.resize(table + 1, 0);
        }
        self.0[table] += 1;
    }

    /// Whether `table` changed between `earlier` and these marks.
    pub fn moved_since(&self, earlier: &Marks, table: TableId) -> bool {
        let at = |m: &Marks| m.0.get(table).copied().unwrap_or(0);
        at(self) != at(earlier)
    }
}

/// The re-reads a sync queued (`sync_pending_jobs`) since anything else
/// changed that table: a backfill's actions name each job again and again,
/// and queuing one that is queued already with a later change date, and
/// not claimed, changes nothing. Only a sync keeps it (its lock excludes
/// other syncs, the only claimers; a webhook receiver may write beside it,
/// but only queues); claims, clears and rollbacks forget it.
#[derive(Default)]
pub struct Queued {
    on: bool,
    /// Hash of the job id (64 bits, as the snapshot cache's keys) to the
    /// latest change date queued.
    jobs: HashMap<u64, i64, std::hash::BuildHasherDefault<super::recent::Prehashed>>,
}

impl Queued {
    pub fn enable(&mut self) {
        self.on = true;
    }
    pub fn forget(&mut self) {
        self.jobs = HashMap::default();
    }
    /// True when queuing `job_id` changed at `date` would change nothing.
    fn covers(&self, job_id: &str, date: i64) -> bool {
        self.on
            && self
                .jobs
                .get(&hash_text(job_id))
                .is_some_and(|&d| d >= date)
    }
    fn note(&mut self, job_id: &str, date: i64) {
        if self.on {
            let d = self.jobs.entry(hash_text(job_id)).or_insert(date);
            *d = (*d).max(date);
        }
    }
}

/// The first row a statement whose parameters are bound returns, if any.
fn first_row<T>(
    stmt: &mut Statement,
    f: impl FnOnce(&rusqlite::Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    stmt.raw_query().next()?.map(f).transpose()
}

/// The batch's prepared statements by (table, statement): rusqlite's own
/// cache is keyed by the SQL text, kilobytes hashed per row.
struct Stmts<'c> {
    conn: &'c Connection,
    map: HashMap<(TableId, Stmt), CachedStatement<'c>>,
}

impl<'c> Stmts<'c> {
    fn get(
        &mut self,
        table: TableId,
        stmt: Stmt,
        sql: impl FnOnce() -> String,
    ) -> rusqlite::Result<&mut CachedStatement<'c>> {
        use std::collections::hash_map::Entry;
        Ok(match self.map.entry((table, stmt)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => v.insert(self.conn.prepare_cached(&sql())?),
        })
    }
}

/// What a batch writes to, besides the transaction.
pub struct Ledger<'s> {
    pub sql: &'s [TableSql],
    pub run_id: RunId,
    pub counts: &'s mut BTreeMap<String, TableCounts>,
    pub recent: &'s mut Recent,
    pub changed: &'s mut Changed,
    pub queued: &'s mut Queued,
}

/// One batch being applied.
struct Batch<'s, 'c> {
    stmts: Stmts<'c>,
    ledger: Ledger<'s>,
    /// The parent whose full write lost to a newer stored row, or changed
    /// nothing: its children in this batch are skipped.
    stale_parent: Option<(TableId, Text)>,
    /// The action last written was stored by an earlier run (or session):
    /// the jobs it names were queued then, and stay queued until a read
    /// covers them, so reading it again queues nothing.
    action_known: bool,
}

/// Applies `ops` in order inside `tx`.
pub fn apply_ops(tx: &Connection, ledger: Ledger<'_>, ops: &[Op]) -> rusqlite::Result<()> {
    let mut b = Batch {
        stmts: Stmts {
            conn: tx,
            map: HashMap::new(),
        },
        ledger,
        stale_parent: None,
        action_known: false,
    };
    for op in ops {
        match op {
            Op::Upsert(row) => b.upsert(row)?,
            Op::Delete { table, id, at } => b.delete(*table, id, *at)?,
            Op::RefreshJob { job_id, date } => b.refresh_job(job_id, *date)?,
            Op::Announce(r) => b.announce(*r)?,
        }
    }
    Ok(())
}

impl Batch<'_, '_> {
    /// True when `row` is a child of the parent whose write was skipped.
    fn of_stale_parent(&self, t: &Table, row: &Row) -> bool {
        let (Some((pt, pid)), Some((parent_table, parent_col))) = (&self.stale_parent, &t.parent)
        else {
            return false;
        };
        matches!(&row.vals[t.col(parent_col)], Val::Text(id) if *pt == SCHEMA.id(parent_table) && pid == id)
    }

    fn upsert(&mut self, row: &Row) -> rusqlite::Result<()> {
        let t = SCHEMA.table(row.table);
        if self.of_stale_parent(t, row) {
            return Ok(());
        }
        let mut stored = false;
        if row.mode == Mode::Partial {
            if self.ledger.recent.seen(t, row) {
                return Ok(());
            }
        } else {
            stored = self.ledger.recent.forget(row.table, || Recent::key(t, row));
        }
        if row.mode == Mode::Full {
            return self.full(t, row, stored);
        }
        // A snapshot writes only when it changes something. An update
        // always moves the row's order key, so it says by `_upd_run`
        // whether it changed any value.
        let s = &self.ledger.sql[row.table];
        let run_id = self.ledger.run_id;
        let changed = if row.mode == Mode::Partial {
            let stmt = self
                .stmts
                .get(row.table, Stmt::Partial, || s.partial.clone())?;
            s.roles.bind(stmt, row, run_id)?;
            stmt.raw_execute()? > 0
        } else {
            let stmt = if row.mode == Mode::Whole {
                self.stmts.get(row.table, Stmt::Whole, || s.whole.clone())?
            } else {
                self.stmts
                    .get(row.table, Stmt::Update, || s.update.clone())?
            };
            s.roles.bind(stmt, row, run_id)?;
            let upd: Option<Option<i64>> = first_row(stmt, |r| r.get(0))?;
            upd.flatten() == Some(run_id)
        };
        if changed {
            self.ledger.changed.mark(row.table);
        }
        Ok(())
    }

    /// A full write reports whether it changed the row: a stale or
    /// identical one leaves `_upd_run` behind. A new row is inserted
    /// plainly (what the upsert would have returned is known: this run in
    /// both stamps); only an existing one takes the upsert. A row `stored`
    /// lately (by a snapshot) goes to the upsert at once: the insert would
    /// only find its key taken. (Were it gone, the upsert would insert it
    /// and answer as the insert does.)
    fn full(&mut self, t: &Table, row: &Row, stored: bool) -> rusqlite::Result<()> {
        let run_id = self.ledger.run_id;
        let s = &self.ledger.sql[row.table];
        let inserted = if stored {
            0
        } else {
            let insert = self
                .stmts
                .get(row.table, Stmt::Insert, || s.insert.clone())?;
            s.roles.bind(insert, row, run_id)?;
            insert.raw_execute()?
        };
        let back: Option<(i64, Option<i64>, Option<i64>)> = if inserted > 0 {
            Some((run_id, Some(run_id), None))
        } else {
            let full = self.stmts.get(row.table, Stmt::Full, || s.full.clone())?;
            s.roles.bind(full, row, run_id)?;
            if full.raw_execute()? == 0 {
                // Stale: the upsert's guard left the stored row alone.
                None
            } else {
                let stamps = self
                    .stmts
                    .get(row.table, Stmt::Stamps, || s.stamps.clone())?;
                bind_key(t, stamps, row)?;
                first_row(stamps, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            }
        };
        // A listed table answers a stale copy too, with the newer `_as_of`
        // it kept: that is no write of this row's data.
        let runs = back.filter(|(_, _, kept)| kept.is_none_or(|k| k == row.as_of));
        let runs = runs.map(|(upd, ins, _)| (upd, ins));
        if row.table == actions::TABLE {
            // No row back: a newer copy of the action was already stored.
            // (`_ins_run` is NULL in rows from before the column existed.)
            self.action_known = runs.is_none_or(|(_, ins)| ins != Some(run_id));
        }
        let fresh = runs.is_some_and(|(upd, _)| upd == run_id);
        // (A stale copy moves `_upd_run` only by bringing a row back.)
        if fresh || back.is_some_and(|(upd, _, _)| upd == run_id) {
            self.ledger.changed.mark(row.table);
        }
        if !t.has_col(CHILDREN) {
            return Ok(());
        }
        // A parent's children are replaced only when it changed (its
        // `_children` hash included); a stale or unchanged parent keeps
        // them, and its incoming children are skipped.
        let Val::Text(id) = &row.vals[t.key_cols()[0]] else {
            return Ok(());
        };
        if !fresh {
            self.stale_parent = Some((row.table, id.clone()));
            return Ok(());
        }
        self.stale_parent = None;
        // A parent just inserted has no children to replace: they are
        // written only after it, and no write removes a parent row.
        if inserted > 0 {
            return Ok(());
        }
        for c in SCHEMA.children(row.table) {
            let n = self
                .stmts
                .get(c, Stmt::DeleteChildren, || delete_children(SCHEMA.table(c)))?
                .execute([id.as_str()])?;
            if n > 0 {
                self.ledger.changed.mark(c);
            }
        }
        Ok(())
    }

    fn delete(&mut self, table: TableId, id: &str, at: i64) -> rusqlite::Result<()> {
        self.ledger
            .recent
            .forget(table, || Some(Recent::slot(table, id)));
        let Some(text) = &self.ledger.sql[table].delete else {
            return Ok(());
        };
        let run_id = self.ledger.run_id;
        let n = self
            .stmts
            .get(table, Stmt::Delete, || text.clone())?
            .execute(params![id, iso(at), run_id, run_id])?;
        if n > 0 {
            self.ledger.changed.mark(table);
        }
        self.ledger
            .counts
            .entry(SCHEMA.table(table).name.clone())
            .or_default()
            .deleted += n as u64;
        Ok(())
    }

    /// Counts an announced change of a listing that actions keep current;
    /// the mirror after a listing read later takes it off (`Store::mirror`).
    /// An action read before (the lookback reads some again) announces
    /// nothing: its change was counted then.
    fn announce(&mut self, r: crate::resources::Resource) -> rusqlite::Result<()> {
        if self.action_known {
            return Ok(());
        }
        self.stmts
            .get(actions::TABLE, Stmt::Announce, || {
                "INSERT INTO sync_state (resource, relist_due) VALUES (?, 1)
                 ON CONFLICT (resource) DO UPDATE SET relist_due = relist_due + 1"
                    .into()
            })?
            .execute([r.path()])?;
        Ok(())
    }

    /// Queues a job to re-read; a new queuing withdraws the claim of a
    /// re-read under way (see `Store::pending_jobs`).
    fn refresh_job(&mut self, job_id: &str, date: i64) -> rusqlite::Result<()> {
        if self.action_known || self.ledger.queued.covers(job_id, date) {
            return Ok(());
        }
        self.ledger.queued.note(job_id, date);
        self.stmts
            .get(actions::TABLE, Stmt::Queue, || {
                "INSERT INTO sync_pending_jobs (job_id, changed, claimed) VALUES (?, ?, 0)
                 ON CONFLICT (job_id) DO UPDATE SET changed = MAX(changed, excluded.changed),
                   claimed = 0"
                    .into()
            })?
            .execute(params![job_id, date])?;
        Ok(())
    }
}
