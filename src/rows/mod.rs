//! Rows of the declared tables, and the operations that carry them.
//!
//! The transformer (`flatten`, which turns the API's JSON into rows) and
//! the loader (`store`, which merges rows into the state database) both
//! speak rows, and neither owns them: they live here, below both, so the
//! loader knows nothing of JSON and the transformer nothing of SQL. A row
//! is one cell per schema column ([`Val`]) plus how it may merge ([`Mode`]);
//! an [`Op`] is one unit of work for a loader. The in-memory hashes both
//! sides compare rows and keys with are in [`hash`].

pub mod hash;
mod val;

pub use val::{Text, Val};

use crate::resources::Resource;
use crate::schema::{Col, TableId, SCHEMA};

/// How a row merges with what the destination already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// From the resource's own endpoint (or the only carrier of the
    /// resource, e.g. a note in a NOTE_* action): overwrites every column,
    /// unless the stored row is newer (`_as_of`).
    Full,
    /// A nested snapshot: adds a missing row and fills NULL columns; never
    /// overwrites a value from the resource's own endpoint, never blanks.
    Partial,
    /// A dated change carrying only some fields (a member in a MEMBER_*
    /// action): its non-NULL values win over data older than the change,
    /// and lose to newer listings.
    Update,
    /// A dated change carrying the record's own scalar fields whole (the
    /// activity of an ACTIVITY_UPDATED action): like `Update`, but a
    /// field the record no longer has clears its column, so a reopened
    /// activity loses its `completed_at`. Columns taken from nested
    /// objects (`job.id`) keep their value when absent.
    Whole,
}

impl Mode {
    /// Whether the row is ordered by `(_as_of, _as_of_id)` against what
    /// is stored: the dated changes.
    pub fn is_dated(self) -> bool {
        matches!(self, Mode::Update | Mode::Whole)
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub table: TableId,
    pub mode: Mode,
    /// Unix time the data was valid at.
    pub as_of: i64,
    /// One cell per schema column, hidden ones included.
    pub vals: Vec<Val>,
    /// The cells' [`hash::fingerprint`], once computed by
    /// [`Row::cache_fingerprint`] (the transformer's pass that drops
    /// repeated snapshots), so the loader's snapshot cache does not hash
    /// the row again.
    fingerprint: Option<u64>,
}

/// Rows are equal by their data; a computed fingerprint is a cache.
impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        self.table == other.table
            && self.mode == other.mode
            && self.as_of == other.as_of
            && self.vals == other.vals
    }
}

impl Row {
    pub fn new(table: TableId, mode: Mode, as_of: i64) -> Row {
        // Filled, not cloned: `vec![Val::Null; n]` clones the element n
        // times, which a backfill's millions of rows felt.
        let n = SCHEMA.table(table).columns.len();
        let mut vals = Vec::with_capacity(n);
        vals.resize_with(n, || Val::Null);
        Row {
            table,
            mode,
            as_of,
            vals,
            fingerprint: None,
        }
    }
    /// Sets a cell; `col` must be a column of this row's table.
    pub fn set(&mut self, col: Col, v: Val) -> &mut Row {
        let i = self.index(col);
        self.vals[i] = v;
        self.fingerprint = None;
        self
    }
    /// The fingerprint of the row's cells (computed unless cached).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
            .unwrap_or_else(|| hash::fingerprint(&self.vals))
    }
    /// [`Row::fingerprint`], kept with the row for later calls. A cell
    /// changed through [`Row::set`] drops it, a write to `vals` does not:
    /// cache it once the cells are final.
    pub fn cache_fingerprint(&mut self) -> u64 {
        let f = hash::fingerprint(&self.vals);
        self.fingerprint = Some(f);
        f
    }
    pub fn get(&self, col: Col) -> &Val {
        &self.vals[self.index(col)]
    }
    fn index(&self, col: Col) -> usize {
        assert_eq!(
            col.table,
            self.table,
            "{}: a column of {}",
            self.table_name(),
            SCHEMA.table(col.table).name
        );
        col.index
    }
    pub fn table_name(&self) -> &'static str {
        &SCHEMA.table(self.table).name
    }
}

/// One unit of work for a loader.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Upsert(Row),
    /// Sets `deleted_at` (keeping the row; adding a tombstone if missing).
    Delete {
        table: TableId,
        id: String,
        at: i64,
    },
    /// A job changed after `date`: re-read it unless already read since.
    RefreshJob {
        job_id: String,
        date: i64,
    },
    /// An action announced a change of a listing that actions keep
    /// current: list it again (`Resource::followed_by_actions`).
    Announce(Resource),
}
