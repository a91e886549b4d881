//! The outcome views: ready-made answers to the questions every careers
//! office asks (who is searching, who applied, interviewed, got and
//! accepted offers; by member, month, member field, employer and advisor),
//! defined once here and written out for each database that holds the
//! tables: SQLite (the store creates them at every run), PostgreSQL (the
//! destination creates them in its publishing transaction) and DuckDB over
//! a Parquet destination (`huntr-sync views` prints the script).
//!
//! `views.rs` holds the views' SQL, written once; `dialect.rs` the few
//! expressions that differ between the three databases (dates, months,
//! JSON arrays, the clock, how a table is named); `wide.rs` builds
//! `members_wide`, whose columns follow the organization's member fields.
//! The README's "Outcomes" section says what every column means.

mod dialect;
mod views;
mod wide;

pub use dialect::{Clock, Dialect, Place};
pub use wide::{field_columns, MemberField};

/// The views, in the order they must be created (a view only reads views
/// before it).
pub const VIEWS: [&str; 7] = [
    "members_wide",
    "job_pipeline",
    "member_outcomes",
    "outcomes_by_month",
    "outcomes_by_field",
    "employer_outcomes",
    "advisor_caseload",
];

/// How to write the views for one database.
#[derive(Debug, Clone)]
pub struct Sql {
    pub dialect: Dialect,
    pub place: Place,
    pub clock: Clock,
}

/// One view: its name and the `SELECT` that defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub name: &'static str,
    pub select: String,
}

impl Sql {
    pub fn new(dialect: Dialect, place: Place) -> Sql {
        Sql {
            dialect,
            place,
            clock: Clock::Now,
        }
    }

    /// Every view, in creation order, for the organization's `fields`.
    pub fn views(&self, fields: &[MemberField]) -> Vec<View> {
        VIEWS
            .iter()
            .map(|&name| View {
                name,
                select: match name {
                    "members_wide" => wide::members_wide(self, fields),
                    other => views::select(self, other),
                },
            })
            .collect()
    }

    /// `CREATE OR REPLACE VIEW` statements for every view (SQLite, which
    /// has no `OR REPLACE`, gets `DROP VIEW IF EXISTS` first).
    pub fn script(&self, fields: &[MemberField]) -> String {
        let mut out = String::new();
        for v in self.views(fields) {
            out.push_str(&self.create(&v));
            out.push_str(";\n\n");
        }
        out
    }

    /// The statement creating one view.
    pub fn create(&self, v: &View) -> String {
        let name = self.place.view(v.name);
        match self.dialect {
            Dialect::Sqlite => format!(
                "DROP VIEW IF EXISTS {name};\nCREATE VIEW {name} AS\n{}",
                v.select
            ),
            _ => format!("CREATE OR REPLACE VIEW {name} AS\n{}", v.select),
        }
    }
}

/// A text literal: `'it''s'`.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A quoted identifier: `"a ""b"""`.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests;
