//! The merge rules (docs/SYNC_MODEL.md, "Merging: four modes") as SQL,
//! generated once per table from the declared schema: one upsert per merge
//! mode, the deletion and the replacement of a parent's children.

use super::bind::Roles;
use crate::schema::{Column, Source, Table, AS_OF, AS_OF_ID, FULL, INS_RUN, SEEN_RUN, UPD_RUN};

/// The statements a batch prepares, per table: what [`Stmts`] caches them
/// under.
///
/// [`Stmts`]: super::apply::Stmts
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stmt {
    /// A record from its own endpoint, inserted if new (nothing else).
    Insert,
    /// A record from its own endpoint, new or not.
    Full,
    /// The stamps a full write left (`_upd_run`, `_ins_run`, `_as_of`).
    Stamps,
    /// A nested snapshot: fills, never overwrites a full row.
    Partial,
    /// A dated update (an action's snapshot): the newer order key wins.
    Update,
    /// A dated update carrying its record's own fields whole: the same,
    /// and a field it lacks clears its column.
    Whole,
    /// Mark a row deleted.
    Delete,
    /// Remove a parent's children before they are written again.
    DeleteChildren,
    /// An action's bookkeeping (under the actions table's id): a job to
    /// re-read, an announced change of a listing.
    Queue,
    Announce,
}

/// Generated SQL for one table.
pub struct TableSql {
    /// Inserts a full row only when its key is new: in a backfill nearly
    /// every row is, and a plain insert skips the upsert's RETURNING (a
    /// temporary table per row) and its change tests.
    pub insert: String,
    /// Changes no row when the write was stale (in a table not listed in
    /// full); otherwise `stamps` then reads what it left.
    pub full: String,
    /// The row's `_upd_run`, `_ins_run` and `_as_of` (NULL outside
    /// resource tables; in a listed table after a stale write: the kept,
    /// newer one), by key. A point read of a row just written costs less
    /// than the upsert's RETURNING, which SQLite runs through a temporary
    /// table opened, filled, read and closed per row.
    pub stamps: String,
    pub partial: String,
    pub update: String,
    pub whole: String,
    pub delete: Option<String>,
    /// How a row binds to `insert`, `full`, `partial` and `update`.
    pub roles: Roles,
}

/// Bookkeeping that changes on every write and says nothing about data.
fn is_stamp(c: &str) -> bool {
    [FULL, AS_OF, AS_OF_ID, SEEN_RUN, INS_RUN, UPD_RUN].contains(&c)
}

/// `_upd_run` moves to this run only when a value really changes: `changes`
/// pairs each new-value expression with its column.
fn upd_run(name: &str, changes: &[(String, &str)]) -> String {
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
}

/// The shared head of every upsert: `INSERT ... ON CONFLICT (key) DO UPDATE SET `.
struct Upsert<'t> {
    t: &'t Table,
    cols: Vec<&'t str>,
    placeholders: String,
}

impl<'t> Upsert<'t> {
    fn new(t: &'t Table) -> Self {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        let placeholders = vec!["?"; cols.len()].join(", ");
        Upsert {
            t,
            cols,
            placeholders,
        }
    }
    fn insert(&self) -> String {
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.t.name,
            self.cols.join(", "),
            self.placeholders
        )
    }
    fn head(&self) -> String {
        format!(
            "{} ON CONFLICT ({}) DO UPDATE SET ",
            self.insert(),
            self.t.key.join(", ")
        )
    }
    /// Columns a write may set: not the key, not the run stamps.
    fn settable(&self) -> Vec<&'t Column> {
        let t = self.t;
        t.columns
            .iter()
            .filter(|c| !t.key.contains(&c.name) && c.name != INS_RUN && c.name != UPD_RUN)
            .collect()
    }
    /// Data columns a snapshot may touch.
    fn data(&self) -> Vec<&'t str> {
        self.settable()
            .into_iter()
            .filter(|c| !c.is_lifecycle() && !c.is_hidden())
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// Full: every column, lifecycle `deleted_at` excepted; guarded by age; the
/// loader learns from the stamps it left whether the write changed the row.
///
/// In a table listed in full, an older copy (the listing read before a
/// newer write from an action or a push answer) still proves the row is
/// there: it sets `_seen_run` and clears `removed_at`, and nothing else,
/// so the run's mirror does not mark a live row removed.
fn full_sql(u: &Upsert) -> String {
    let name = &u.t.name;
    let cols: Vec<&str> = u
        .settable()
        .into_iter()
        .filter(|c| c.name != "deleted_at")
        .map(|c| c.name.as_str())
        .collect();
    let fresh = format!("excluded.{AS_OF} >= COALESCE({name}.{AS_OF}, 0)");
    let listed = u.t.resource && u.t.listed;
    // Each column's new value; `_upd_run` moves when one of them changes a
    // data column (for an older copy in a listed table: only `removed_at`).
    let new: Vec<(String, &str)> = cols
        .iter()
        .map(|c| {
            let value = if !listed || *c == SEEN_RUN || *c == "removed_at" {
                format!("excluded.{c}")
            } else {
                format!("CASE WHEN {fresh} THEN excluded.{c} ELSE {name}.{c} END")
            };
            (value, *c)
        })
        .collect();
    let mut sets: Vec<String> = new.iter().map(|(v, c)| format!("{c} = {v}")).collect();
    let changes: Vec<(String, &str)> = new.into_iter().filter(|(_, c)| !is_stamp(c)).collect();
    sets.push(upd_run(name, &changes));
    let mut sql = u.head() + &sets.join(", ");
    if u.t.resource && !listed {
        sql += &format!(" WHERE {fresh}");
    }
    sql
}

/// The stamps a full write left, by key (see [`TableSql::stamps`]).
/// `_as_of` tells a stale copy (kept the newer one) from a fresh one.
fn stamps_sql(t: &Table) -> String {
    let as_of = if t.resource { AS_OF } else { "NULL" };
    let by: Vec<String> = t.key.iter().map(|k| format!("{k} = ?")).collect();
    format!(
        "SELECT {UPD_RUN}, {INS_RUN}, {as_of} FROM {} WHERE {}",
        t.name,
        by.join(" AND ")
    )
}

/// Sets every data column to `expr(column)`, plus `extra`, moving
/// `_upd_run` when one changes.
fn merged(u: &Upsert, expr: &dyn Fn(&str) -> String, extra: Vec<String>) -> String {
    let data = u.data();
    let mut sets: Vec<String> = data.iter().map(|c| format!("{c} = {}", expr(c))).collect();
    sets.extend(extra);
    let changes: Vec<(String, &str)> = data.iter().map(|c| (expr(c), *c)).collect();
    sets.push(upd_run(&u.t.name, &changes));
    u.head() + &sets.join(", ")
}

/// Partial: fills what a full row lacks, overwrites an older snapshot.
///
/// A snapshot carries few of a table's columns, so the test whether it
/// changes anything asks first whether its cell is NULL (most are, and
/// SQLite's AND stops there); only a row that passes is written, so
/// `_upd_run` then moves unconditionally.
fn partial_sql(u: &Upsert) -> String {
    let name = &u.t.name;
    let data = u.data();
    if data.is_empty() {
        return u.insert() + " ON CONFLICT DO NOTHING";
    }
    // A full row keeps its values and takes the snapshot's only where it
    // has none; a snapshot row takes every value the new one carries.
    let sets: Vec<String> = data
        .iter()
        .map(|c| {
            format!(
                "{c} = CASE WHEN excluded.{c} IS NULL THEN {name}.{c} \
                 WHEN {name}.{FULL} = 1 THEN COALESCE({name}.{c}, excluded.{c}) \
                 ELSE excluded.{c} END"
            )
        })
        .collect();
    // Most snapshots change nothing; SQLite would still rewrite the row
    // (and its page, and the WAL) unless told not to.
    let changed: Vec<String> = data
        .iter()
        .map(|c| {
            format!(
                "(excluded.{c} IS NOT NULL AND ({name}.{c} IS NULL \
                 OR ({name}.{FULL} IS NOT 1 AND excluded.{c} IS NOT {name}.{c})))"
            )
        })
        .collect();
    format!(
        "{}{}, {UPD_RUN} = excluded.{UPD_RUN} WHERE {}",
        u.head(),
        sets.join(", "),
        changed.join(" OR ")
    )
}

/// Update: a dated snapshot; values newer than the row's win. "Newer" is
/// the order key `(_as_of, _as_of_id)`: the action's date, then its id
/// (ids grow within a second), so two updates of one second apply in
/// their actions' order whichever arrives first, and an older one arriving
/// later loses. A row a listing or a full record wrote has no id (NULL, as
/// has a row from before the column existed): it loses a tie of dates to
/// an update, as it did before ids were kept.
///
/// `whole`: the snapshot carries its record's own fields whole, so a NULL
/// in a column read straight off the record (a one-segment path) clears
/// it; columns from nested objects still keep their value when absent.
fn update_sql(u: &Upsert, whole: bool) -> String {
    let name = &u.t.name;
    let own: Vec<&str> = if whole {
        u.t.columns
            .iter()
            .filter(|c| matches!(&c.source, Source::Path(p) if p.len() == 1))
            .map(|c| c.name.as_str())
            .collect()
    } else {
        Vec::new()
    };
    let newer = format!(
        "(excluded.{AS_OF}, COALESCE(excluded.{AS_OF_ID}, '')) >= \
         (COALESCE({name}.{AS_OF}, 0), COALESCE({name}.{AS_OF_ID}, ''))"
    );
    let expr = |c: &str| {
        if own.contains(&c) {
            format!("CASE WHEN {newer} THEN excluded.{c} ELSE {name}.{c} END")
        } else {
            format!("CASE WHEN {newer} THEN COALESCE(excluded.{c}, {name}.{c}) ELSE {name}.{c} END")
        }
    };
    let key = if u.t.resource {
        vec![
            format!("{AS_OF} = MAX(COALESCE({name}.{AS_OF}, 0), excluded.{AS_OF})"),
            format!("{AS_OF_ID} = CASE WHEN {newer} THEN excluded.{AS_OF_ID} ELSE {name}.{AS_OF_ID} END"),
        ]
    } else {
        Vec::new()
    };
    merged(u, &expr, key) + &format!(" RETURNING {UPD_RUN}")
}

/// Marks a row deleted, creating a tombstone when it was never seen.
fn delete_sql(t: &Table) -> Option<String> {
    let name = &t.name;
    (t.has_col("deleted_at") && t.key.len() == 1).then(|| {
        format!(
            "INSERT INTO {name} ({k}, deleted_at, {FULL}, {AS_OF}, {INS_RUN}, {UPD_RUN}) VALUES (?, ?, 0, 0, ?, ?) \
             ON CONFLICT ({k}) DO UPDATE SET deleted_at = excluded.deleted_at, {UPD_RUN} = excluded.{UPD_RUN} \
             WHERE {name}.deleted_at IS NULL",
            k = t.key[0]
        )
    })
}

pub fn table_sql(t: &Table) -> TableSql {
    let u = Upsert::new(t);
    TableSql {
        insert: format!(
            "{} ON CONFLICT ({}) DO NOTHING",
            u.insert(),
            t.key.join(", ")
        ),
        full: full_sql(&u),
        stamps: stamps_sql(t),
        partial: partial_sql(&u),
        update: update_sql(&u, false),
        whole: update_sql(&u, true),
        delete: delete_sql(t),
        roles: Roles::of(t),
    }
}

/// Deletes the children of one parent from a child table.
pub fn delete_children(child: &Table) -> String {
    let pcol = &child.parent.as_ref().expect("child has parent").1;
    format!("DELETE FROM {} WHERE {pcol} = ?", child.name)
}
