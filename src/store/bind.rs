//! Binding a row to a merge statement: its cells, with the loader-owned
//! columns (`_full`, `_as_of`, run stamps, ...) filled for its merge mode.
//!
//! This runs for every row a sync writes, so it binds each cell straight
//! into the statement: no vector of parameters per row, no lookup of the
//! stamp columns by name (each table's [`Roles`] are worked out once), and
//! timestamps rendered into a stack buffer ([`iso_into`]) instead of a
//! `String` each.

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::Statement;

use super::RunId;
use crate::rows::{Mode, Row, Val};
use crate::schema::{Table, AS_OF, AS_OF_ID, EXTRA, FULL, INS_RUN, SEEN_RUN, UPD_RUN};
use crate::timefmt::iso_into;

/// What the loader writes into one column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The row's own cell.
    Data,
    /// `_full`: 1 for a write from the resource's own endpoint.
    Full,
    /// `_as_of`: the row's time (0 for a snapshot).
    AsOf,
    /// `_as_of_id`: only a dated update carries it.
    AsOfId,
    /// `_seen_run`: a full write proves the row listed in this run.
    SeenRun,
    /// `_extra`: a snapshot never writes it.
    Extra,
    /// `_ins_run` and `_upd_run`: this run.
    Run,
}

/// Each column's [`Role`] in one table, in column order.
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn of(t: &Table) -> Roles {
        let role = |name: &str| match name {
            FULL if t.resource => Role::Full,
            AS_OF if t.resource => Role::AsOf,
            AS_OF_ID if t.resource => Role::AsOfId,
            SEEN_RUN if t.listed => Role::SeenRun,
            EXTRA => Role::Extra,
            INS_RUN | UPD_RUN => Role::Run,
            _ => Role::Data,
        };
        Roles(t.columns.iter().map(|c| role(&c.name)).collect())
    }

    /// Binds `row` (a row of this table) to `stmt`, whose parameters are
    /// the table's columns in order. Parameters start out NULL (most cells
    /// are), so only the others are bound one by one.
    pub fn bind(&self, stmt: &mut Statement, row: &Row, run_id: RunId) -> rusqlite::Result<()> {
        let int = |i: i64| Some(ToSqlOutput::Owned(SqlValue::Integer(i)));
        stmt.clear_bindings();
        let mut stamp = [0; 20];
        for (i, (role, val)) in self.0.iter().zip(&row.vals).enumerate() {
            let v = match role {
                Role::Data => cell(val, &mut stamp),
                Role::Full => int((row.mode == Mode::Full) as i64),
                Role::AsOf if row.mode == Mode::Partial => int(0),
                Role::AsOf => int(row.as_of),
                Role::AsOfId if !row.mode.is_dated() => None,
                Role::SeenRun if row.mode == Mode::Full => int(run_id),
                Role::Extra if row.mode == Mode::Partial => None,
                Role::AsOfId | Role::SeenRun | Role::Extra => cell(val, &mut stamp),
                Role::Run => int(run_id),
            };
            if let Some(v) = v {
                stmt.raw_bind_parameter(i + 1, v)?;
            }
        }
        Ok(())
    }
}

/// Binds `row`'s key cells, in key order, to a statement whose
/// parameters are the table's key columns.
pub fn bind_key(t: &Table, stmt: &mut Statement, row: &Row) -> rusqlite::Result<()> {
    let mut stamp = [0; 20];
    for (i, k) in t.key.iter().enumerate() {
        match cell(&row.vals[t.col(k)], &mut stamp) {
            Some(v) => stmt.raw_bind_parameter(i + 1, v)?,
            None => stmt.raw_bind_parameter(i + 1, rusqlite::types::Null)?,
        }
    }
    Ok(())
}

/// A cell as a parameter (None: NULL); text is borrowed (SQLite copies it
/// when bound).
fn cell<'v>(v: &'v Val, stamp: &'v mut [u8; 20]) -> Option<ToSqlOutput<'v>> {
    Some(match v {
        Val::Null => return None,
        Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Val::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
        Val::Float(f) => ToSqlOutput::Owned(SqlValue::Real(*f)),
        Val::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(*b as i64)),
        Val::Ts(t) => ToSqlOutput::Borrowed(ValueRef::Text(iso_into(*t, stamp).as_bytes())),
    })
}
