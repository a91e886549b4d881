//! Binding a row to a merge statement: its cells, with the loader-owned
//! columns (`_full`, `_as_of`, run stamps, ...) filled for its merge mode.
//!
//! This runs for every row a sync writes, so it binds each cell straight
//! into the statement: no vector of parameters per row, no lookup of the
//! stamp columns by name (each table's [`Roles`] are worked out once), and
//! timestamps rendered into a stack buffer instead of a `String` each.

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::Statement;

use super::RunId;
use crate::flatten::{Mode, Row, Val};
use crate::schema::{Table, AS_OF, AS_OF_ID, EXTRA, FULL, INS_RUN, SEEN_RUN, UPD_RUN};
use crate::timefmt::iso;

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
        let mut stamp = Iso::default();
        for (i, (role, val)) in self.0.iter().zip(&row.vals).enumerate() {
            let v = match role {
                Role::Data => cell(val, &mut stamp),
                Role::Full => int((row.mode == Mode::Full) as i64),
                Role::AsOf if row.mode == Mode::Partial => int(0),
                Role::AsOf => int(row.as_of),
                Role::AsOfId if row.mode != Mode::Update => None,
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

/// A cell as a parameter (None: NULL); text is borrowed (SQLite copies it
/// when bound).
fn cell<'v>(v: &'v Val, stamp: &'v mut Iso) -> Option<ToSqlOutput<'v>> {
    Some(match v {
        Val::Null => return None,
        Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Val::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
        Val::Float(f) => ToSqlOutput::Owned(SqlValue::Real(*f)),
        Val::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(*b as i64)),
        Val::Ts(t) => match stamp.format(*t) {
            Some(text) => ToSqlOutput::Borrowed(ValueRef::Text(text)),
            None => ToSqlOutput::Owned(SqlValue::Text(iso(*t))),
        },
    })
}

/// `2020-05-04T23:24:35Z`, the text [`iso`] gives, written into a buffer.
#[derive(Default)]
struct Iso([u8; 20]);

impl Iso {
    /// The text of `ts`, or None for a year outside 0000..=9999 (left to
    /// [`iso`], which decides how those render).
    fn format(&mut self, ts: i64) -> Option<&[u8]> {
        let days = ts.div_euclid(86_400);
        let secs = ts.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return None;
        }
        let b = &mut self.0;
        let mut put = |at: usize, n: i64, width: usize| {
            let mut n = n;
            for k in (0..width).rev() {
                b[at + k] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, y, 4);
        put(5, m, 2);
        put(8, d, 2);
        put(11, secs / 3600, 2);
        put(14, secs / 60 % 60, 2);
        put(17, secs % 60, 2);
        for (at, c) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'Z'),
        ] {
            b[at] = c;
        }
        Some(&self.0)
    }
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian; H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_iso_does() {
        let mut probes = vec![
            0,
            -1,
            1,
            86_399,
            86_400,
            951_782_400, // 2000-02-29
            1_588_634_675,
            4_102_444_799,   // 2099-12-31T23:59:59
            -62_167_219_200, // 0000-01-01
            -62_167_219_201, // before year 0
            253_402_300_799, // 9999-12-31T23:59:59
            253_402_300_800, // year 10000
            i64::MIN,
            i64::MAX,
        ];
        // A spread over the years the API sends, and beyond.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            probes.push((x % 600_000_000_000) as i64 - 300_000_000_000);
        }
        let mut stamp = Iso::default();
        for ts in probes {
            let text = stamp
                .format(ts)
                .map(|b| String::from_utf8(b.to_vec()).unwrap());
            if let Some(text) = text {
                assert_eq!(text, iso(ts), "{ts}");
            }
        }
    }
}
