//! Where SQLite, PostgreSQL and DuckDB differ, in one place: how a table
//! and a view are named, the difference of two timestamps in days, a
//! timestamp's calendar month (UTC), the clock, and reading a member
//! field's value (a JSON array of choices, a number, a date in Unix
//! seconds). Everything else in the views is SQL all three understand.
//!
//! SQLite's views use nothing newer than its JSON functions (3.38): a
//! view a reader's SQLite cannot parse makes the whole file unreadable to
//! it, and BI drivers and Python often bring an older SQLite than ours.

use super::lit;
use crate::schema::{ColType, SCHEMA};

/// The database a view is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    DuckDb,
}

/// How the views reach the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Tables and views by their bare names (SQLite's state database).
    Plain,
    /// In a schema (PostgreSQL).
    Schema(String),
    /// Tables are Parquet files `<base>/<table>/<table>.parquet` (a
    /// directory's absolute path or a URL); `missing` tables have no
    /// file yet and read as empty. Views by their bare names.
    Parquet { base: String, missing: Vec<String> },
}

/// What "now" is for the 30-day columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The database's clock when the view is read.
    Now,
    /// A fixed moment (Unix seconds), for checks against a simulated day.
    At(i64),
}

impl Place {
    /// A contract table, as a `FROM` item.
    pub fn table(&self, name: &str) -> String {
        match self {
            Place::Plain => format!("\"{name}\""),
            Place::Schema(s) => format!("{}.\"{name}\"", super::ident(s)),
            Place::Parquet { missing, .. } if missing.iter().any(|m| m == name) => {
                format!("({})", empty_table(name))
            }
            Place::Parquet { base, .. } => {
                let base = base.trim_end_matches('/');
                format!(
                    "read_parquet({})",
                    lit(&format!("{base}/{name}/{name}.parquet"))
                )
            }
        }
    }

    /// One of our views.
    pub fn view(&self, name: &str) -> String {
        match self {
            Place::Schema(s) => format!("{}.\"{name}\"", super::ident(s)),
            _ => format!("\"{name}\""),
        }
    }
}

/// No rows, with the table's columns (DuckDB types).
fn empty_table(name: &str) -> String {
    let t = SCHEMA.get(name).expect("a contract table");
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            let ty = match c.ty {
                ColType::Text | ColType::Value => "VARCHAR",
                ColType::Timestamp => "TIMESTAMPTZ",
                ColType::Bool => "BOOLEAN",
                ColType::Int => "BIGINT",
                ColType::Float => "DOUBLE",
            };
            format!("CAST(NULL AS {ty}) AS \"{}\"", c.name)
        })
        .collect();
    format!("SELECT {} WHERE false", cols.join(", "))
}

impl super::Sql {
    /// Days from timestamp `a` to timestamp `b` (a fraction; negative when
    /// `b` is earlier; NULL when either is).
    pub fn days(&self, a: &str, b: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!(
                "((CAST(strftime('%s', {b}) AS INTEGER) - CAST(strftime('%s', {a}) AS INTEGER)) / 86400.0)"
            ),
            Dialect::Postgres => format!(
                "(CAST(EXTRACT(EPOCH FROM {b}) - EXTRACT(EPOCH FROM {a}) AS double precision) / 86400)"
            ),
            Dialect::DuckDb => format!("((epoch({b}) - epoch({a})) / 86400.0)"),
        }
    }

    /// The calendar month (UTC) of a timestamp, as `YYYY-MM` text.
    pub fn month(&self, ts: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("substr({ts}, 1, 7)"),
            Dialect::Postgres => format!("to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM')"),
            Dialect::DuckDb => format!("strftime(timezone('UTC', {ts}), '%Y-%m')"),
        }
    }

    /// The moment 30 days before the clock, and the clock itself.
    pub fn last_30_days(&self) -> (String, String) {
        match (self.dialect, self.clock) {
            (Dialect::Sqlite, Clock::Now) => (
                "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 days')".into(),
                "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')".into(),
            ),
            (Dialect::Sqlite, Clock::At(t)) => (
                lit(&crate::timefmt::iso(t - 30 * 86_400)),
                lit(&crate::timefmt::iso(t)),
            ),
            (Dialect::Postgres, Clock::Now) => {
                ("(now() - interval '30 days')".into(), "now()".into())
            }
            (Dialect::DuckDb, Clock::Now) => ("(now() - INTERVAL 30 DAY)".into(), "now()".into()),
            (_, Clock::At(t)) => (
                format!("to_timestamp({})", t - 30 * 86_400),
                format!("to_timestamp({t})"),
            ),
        }
    }

    /// A cast to a floating-point number.
    pub fn float(&self, e: &str) -> String {
        format!("CAST({e} AS DOUBLE PRECISION)")
    }

    /// Whether a stored member field value is a JSON array of choices
    /// (`["a","b"]`, `[]`) rather than one choice as text.
    fn is_array(&self, v: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("({v} GLOB '[[][]\"]*' AND json_valid({v}))"),
            Dialect::Postgres => format!("({v} ~ '^\\[(\\]|\")')"),
            Dialect::DuckDb => format!("(regexp_matches({v}, '^\\[(\\]|\")') AND json_valid({v}))"),
        }
    }

    /// `SELECT member_id, field_id, choice FROM member_field_values`: one
    /// row per choice a value holds (a value that is not an array is one
    /// choice); empty choices left out.
    pub fn choices_of_values(&self) -> String {
        let mfv = self.place.table("member_field_values");
        let arr = self.is_array("v.value");
        let inner = match self.dialect {
            Dialect::Sqlite => format!(
                "SELECT v.member_id, v.field_id, CAST(e.value AS TEXT) AS choice FROM {mfv} v, \
                 json_each(CASE WHEN {arr} THEN v.value ELSE json_array(v.value) END) e"
            ),
            Dialect::Postgres => format!(
                "SELECT v.member_id, v.field_id, jsonb_array_elements_text(CASE WHEN {arr} \
                 THEN CAST(v.value AS jsonb) ELSE jsonb_build_array(v.value) END) AS choice FROM {mfv} v"
            ),
            Dialect::DuckDb => format!(
                "SELECT v.member_id, v.field_id, UNNEST(CASE WHEN {arr} THEN \
                 CAST(json_extract_string(v.value, '$[*]') AS VARCHAR[]) ELSE [v.value] END) AS choice FROM {mfv} v"
            ),
        };
        format!("SELECT member_id, field_id, choice FROM ({inner}) x WHERE choice <> ''")
    }

    /// A choice field's value as text: an array's choices joined by `, `.
    pub fn joined(&self, v: &str) -> String {
        let arr = self.is_array(v);
        let list = match self.dialect {
            Dialect::Sqlite => {
                format!("(SELECT group_concat(CAST(e.value AS TEXT), ', ') FROM json_each({v}) e)")
            }
            Dialect::Postgres => format!(
                "(SELECT string_agg(e.x, ', ' ORDER BY e.n) FROM \
                 jsonb_array_elements_text(CAST({v} AS jsonb)) WITH ORDINALITY AS e(x, n))"
            ),
            Dialect::DuckDb => format!(
                "array_to_string(CAST(json_extract_string({v}, '$[*]') AS VARCHAR[]), ', ')"
            ),
        };
        format!("CASE WHEN {arr} THEN NULLIF({list}, '') ELSE {v} END")
    }

    /// A NUMBER field's value as a number (NULL when it is not one).
    pub fn number(&self, v: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!(
                "CASE WHEN json_valid({v}) AND json_type({v}) IN ('integer', 'real') THEN CAST({v} AS REAL) END"
            ),
            Dialect::Postgres => format!(
                "CASE WHEN {v} ~ '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$' THEN CAST({v} AS double precision) END"
            ),
            Dialect::DuckDb => format!("TRY_CAST({v} AS DOUBLE)"),
        }
    }

    /// A DATE field's value (Unix seconds) as a date (UTC).
    pub fn date(&self, v: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!(
                "CASE WHEN json_valid({v}) AND json_type({v}) = 'integer' THEN date(CAST({v} AS INTEGER), 'unixepoch') END"
            ),
            Dialect::Postgres => format!(
                "CASE WHEN {v} ~ '^-?[0-9]+$' THEN DATE '1970-01-01' + CAST(floor(CAST({v} AS double precision) / 86400) AS integer) END"
            ),
            Dialect::DuckDb => format!(
                "DATE '1970-01-01' + CAST(floor(TRY_CAST({v} AS BIGINT) / 86400) AS INTEGER)"
            ),
        }
    }
}
