//! What destinations (and exports) may read from the store, through the
//! narrow [`Tables`] view: a table's visible columns row by row (all rows,
//! or those changed since a run), which run last changed it, and their own
//! record of what they published. They see cells, never SQL, so a new
//! destination needs nothing from the store's inside.

use rusqlite::types::ValueRef;
use rusqlite::{params, OptionalExtension};

use super::{RunId, Store, StoreError};
use crate::schema::{Table, SCHEMA, UPD_RUN};
use crate::timefmt::{iso, now_unix};

/// Which rows of a table to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    All,
    /// Rows inserted, changed or deleted after this run; a child table's
    /// rows are those of every changed parent (replace by parent key).
    ChangedSince(RunId),
}

/// One stored cell, as the database holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    /// UTF-8 text (timestamps are ISO-8601 text).
    Text(&'a [u8]),
}

impl<'a> From<ValueRef<'a>> for Cell<'a> {
    fn from(v: ValueRef<'a>) -> Self {
        match v {
            ValueRef::Null | ValueRef::Blob(_) => Cell::Null,
            ValueRef::Integer(i) => Cell::Int(i),
            ValueRef::Real(f) => Cell::Real(f),
            ValueRef::Text(t) => Cell::Text(t),
        }
    }
}

/// The WHERE clause that selects `rows` of `t`. A child's changed rows are
/// those of its changed parents, found in `changed` (the parent itself, or
/// a table of their keys, `k`).
fn filter(t: &Table, rows: Rows, changed: impl Fn(&str, RunId) -> String) -> String {
    match (rows, &t.parent) {
        (Rows::All, _) => "1".into(),
        (Rows::ChangedSince(since), None) => format!("{UPD_RUN} > {since}"),
        (Rows::ChangedSince(since), Some((parent, col))) => {
            format!("{col} IN ({})", changed(parent, since))
        }
    }
}

/// The changed parents' keys, read from the parent table.
fn parents_changed(parent: &str, since: RunId) -> String {
    let p = SCHEMA.get(parent).expect("parent table");
    format!(
        "SELECT {} AS k FROM {parent} WHERE {UPD_RUN} > {since}",
        p.key[0]
    )
}

/// The temporary table of the keys of `parent`'s rows changed after
/// `since`. A child's changed rows are those of the changed parents, and
/// finding those reads the whole parent (nothing indexes the change
/// column, which every write would pay for), so a publication reads it
/// once, not once per child (`actions` has three). Publications begin with
/// [`Tables::prepare_for_scans`], which drops these tables: the next one
/// finds the parents changed by then. (A count, which may come before
/// that, reads the parent itself.)
fn changed_keys(parent: &str, since: RunId) -> String {
    format!("_changed_{parent}_{since}")
}

/// The store as destinations see it: the tables' cells and the record of
/// what was published from them.
#[derive(Clone, Copy)]
pub struct Tables<'s> {
    store: &'s Store,
}

impl Store {
    /// The read view destinations publish from.
    pub fn tables(&self) -> Tables<'_> {
        Tables { store: self }
    }
}

impl Tables<'_> {
    fn err(&self, e: rusqlite::Error) -> StoreError {
        self.store.err(e)
    }

    /// Calls `each` with the visible cells of every selected row of `t`,
    /// in key order; returns the number of rows.
    pub fn scan<E: From<StoreError>>(
        &self,
        t: &Table,
        rows: Rows,
        mut each: impl FnMut(&[Cell<'_>]) -> Result<(), E>,
    ) -> Result<u64, E> {
        let cols: Vec<&str> = t.visible().map(|c| c.name.as_str()).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {}",
            cols.join(", "),
            t.name,
            self.scan_filter(t, rows)?,
            t.key.join(", ")
        );
        let mut stmt = self.store.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut cursor = stmt.query([]).map_err(|e| self.err(e))?;
        let mut n = 0;
        while let Some(row) = cursor.next().map_err(|e| self.err(e))? {
            let mut cells = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                cells.push(Cell::from(row.get_ref(i).map_err(|e| self.err(e))?));
            }
            each(&cells)?;
            n += 1;
        }
        Ok(n)
    }

    /// The WHERE clause of a scan: the changed parents' keys are read once
    /// into their temporary table (see [`changed_keys`]), made when missing.
    /// A parent's own changed rows are read through that table too, made
    /// first: the one pass over the whole table serves the parent and its
    /// children, and the parent's rows are then fetched by key.
    fn scan_filter(&self, t: &Table, rows: Rows) -> Result<String, StoreError> {
        let Rows::ChangedSince(since) = rows else {
            return Ok(filter(t, rows, parents_changed));
        };
        let keyed = match &t.parent {
            Some((parent, _)) => Some(parent.as_str()),
            None if SCHEMA.children(SCHEMA.id(&t.name)).next().is_some() => Some(t.name.as_str()),
            None => None,
        };
        let Some(keyed) = keyed else {
            return Ok(filter(t, rows, parents_changed));
        };
        let made = format!(
            "CREATE TEMP TABLE IF NOT EXISTS {} AS {}",
            changed_keys(keyed, since),
            parents_changed(keyed, since)
        );
        self.store
            .conn
            .execute_batch(&made)
            .map_err(|e| self.err(e))?;
        if t.parent.is_none() {
            let keys = format!("SELECT k FROM temp.{}", changed_keys(keyed, since));
            return Ok(format!("{} IN ({keys})", t.key[0]));
        }
        Ok(filter(t, rows, |parent, since| {
            format!("SELECT k FROM temp.{}", changed_keys(parent, since))
        }))
    }

    /// How many rows of `t` a [`Tables::scan`] would read.
    pub fn count(&self, t: &Table, rows: Rows) -> Result<u64, StoreError> {
        self.store
            .conn
            .query_row(
                &format!(
                    "SELECT COUNT(*) FROM {} WHERE {}",
                    t.name,
                    filter(t, rows, parents_changed)
                ),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// How many rows of `t` there are, and how many of them have each of
    /// `cols` set (one pass): what tells a column most rows leave empty.
    pub fn filled(&self, t: &Table, cols: &[&str]) -> Result<(u64, Vec<u64>), StoreError> {
        let counts: Vec<String> = cols.iter().map(|c| format!(", COUNT({c})")).collect();
        let sql = format!("SELECT COUNT(*){} FROM {}", counts.concat(), t.name);
        self.store
            .conn
            .query_row(&sql, [], |r| {
                let all = r.get::<_, i64>(0)? as u64;
                let each = (1..=cols.len())
                    .map(|i| r.get::<_, i64>(i).map(|n| n as u64))
                    .collect::<Result<Vec<u64>, _>>()?;
                Ok((all, each))
            })
            .map_err(|e| self.err(e))
    }

    /// The last run that changed `t`: recorded with the change itself; a
    /// state written before that bookkeeping existed is scanned once.
    pub fn last_change(&self, t: &Table) -> Result<RunId, StoreError> {
        let recorded: Option<RunId> = self
            .store
            .conn
            .query_row(
                "SELECT run_id FROM sync_table_changes WHERE name = ?",
                [&t.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match recorded {
            Some(run) => Ok(run),
            None => self
                .store
                .conn
                .query_row(
                    &format!("SELECT COALESCE(MAX({UPD_RUN}), 0) FROM {}", t.name),
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e)),
        }
    }

    /// How often each table changed so far (see [`super::Marks`]).
    pub fn marks(&self) -> super::Marks {
        self.store.marks()
    }

    /// When run `run_id` began (unix seconds), if the state has it.
    pub fn run_started(&self, run_id: RunId) -> Result<Option<i64>, StoreError> {
        let text: Option<String> = self
            .store
            .conn
            .query_row(
                "SELECT started_at FROM sync_runs WHERE run_id = ?",
                [run_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(text.as_deref().and_then(crate::timefmt::parse_iso))
    }

    /// The run whose data `name` (a table, or a publisher's own record such
    /// as `_changes`) was last published from.
    pub fn published(&self, name: &str) -> Result<Option<RunId>, StoreError> {
        self.store
            .conn
            .query_row(
                "SELECT run_id FROM sync_published WHERE name = ?",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn mark_published(&self, name: &str, run_id: RunId, rows: u64) -> Result<(), StoreError> {
        self.store
            .conn
            .execute(
                "INSERT INTO sync_published (name, run_id, rows, published_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id, rows = excluded.rows,
                   published_at = excluded.published_at",
                params![name, run_id, rows as i64, iso(now_unix())],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records a table's publication as version `version` of its Delta table.
    pub fn mark_published_version(
        &self,
        name: &str,
        run_id: RunId,
        rows: u64,
        version: i64,
    ) -> Result<(), StoreError> {
        self.mark_published(name, run_id, rows)?;
        self.store
            .conn
            .execute(
                "UPDATE sync_published SET version = ? WHERE name = ?",
                params![version, name],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Before committing a table: until its new version is recorded, the
    /// version is unknown (a crash in between makes the next run commit
    /// the table again, rather than list a version that is not current).
    pub fn forget_version(&self, name: &str) -> Result<(), StoreError> {
        self.store
            .conn
            .execute(
                "UPDATE sync_published SET version = NULL WHERE name = ?",
                [name],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every published table's Delta version and rows, by name.
    pub fn published_versions(&self) -> Result<Vec<(String, i64, u64)>, StoreError> {
        let mut st = self
            .store
            .conn
            .prepare(
                "SELECT name, version, rows FROM sync_published \
                 WHERE version IS NOT NULL ORDER BY name",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Before a publication's scans: they read in key order, which a small
    /// page cache serves as well, and the sync's 16 MiB of cached pages
    /// would only add to the peak RSS. The changed parents' keys a previous
    /// publication kept are dropped: rows may have changed since.
    pub fn prepare_for_scans(&self) -> Result<(), StoreError> {
        let conn = &self.store.conn;
        let kept: Vec<String> = conn
            .prepare("SELECT name FROM temp.sqlite_master WHERE type = 'table' AND name LIKE '\\_changed\\_%' ESCAPE '\\'")
            .and_then(|mut q| q.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        for name in kept {
            conn.execute_batch(&format!("DROP TABLE temp.{name}"))
                .map_err(|e| self.err(e))?;
        }
        conn.execute_batch("PRAGMA cache_size = -2048; PRAGMA shrink_memory;")
            .map_err(|e| self.err(e))?;
        crate::memory::release_free_memory();
        Ok(())
    }
}
