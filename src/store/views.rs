//! The outcome views (`crate::outcomes`) in the state database, kept
//! current at the end of every run: a view is created when it is missing
//! and replaced only when its SQL changed (`members_wide` follows the
//! organization's member fields), so a run that changed no field leaves
//! the database's schema alone and readers keep their prepared queries.

use rusqlite::OptionalExtension;

use super::{Cell, Rows, Store, StoreError, Tables};
use crate::outcomes::{Clock, Dialect, MemberField, Place, Sql, View};
use crate::schema::SCHEMA;

impl Tables<'_> {
    /// The member fields the store holds, not removed, by id.
    pub fn member_fields(&self) -> Result<Vec<MemberField>, StoreError> {
        let t = SCHEMA.get("member_fields").expect("member_fields");
        let at = |name: &str| t.visible().position(|c| c.name == name).expect("column");
        let (id, name, ty, removed) = (at("id"), at("name"), at("field_type"), at("removed_at"));
        let text = |c: &Cell<'_>| match c {
            Cell::Text(t) => String::from_utf8_lossy(t).into_owned(),
            Cell::Int(i) => i.to_string(),
            Cell::Real(f) => f.to_string(),
            Cell::Null => String::new(),
        };
        let mut out = Vec::new();
        self.scan::<StoreError>(t, Rows::All, |cells| {
            if cells[removed] == Cell::Null {
                out.push(MemberField {
                    id: text(&cells[id]),
                    name: text(&cells[name]),
                    field_type: text(&cells[ty]),
                });
            }
            Ok(())
        })?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

/// The outcome views for the state database, over the fields it holds.
pub fn sqlite_views(tables: &Tables<'_>, clock: Clock) -> Result<Vec<View>, StoreError> {
    let fields = tables.member_fields()?;
    let sql = Sql {
        dialect: Dialect::Sqlite,
        place: Place::Plain,
        clock,
    };
    Ok(sql.views(&fields))
}

impl Store {
    /// Creates or replaces the outcome views whose SQL changed; returns
    /// the names of those it wrote.
    pub fn refresh_views(&self, clock: Clock) -> Result<Vec<&'static str>, StoreError> {
        let views = sqlite_views(&self.tables(), clock)?;
        let mut wanted = Vec::new();
        for v in &views {
            let create = format!("CREATE VIEW \"{}\" AS\n{}", v.name, v.select);
            let have: Option<String> = self
                .conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?",
                    [v.name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            if have.as_deref() != Some(create.as_str()) {
                wanted.push((v.name, create));
            }
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut script = String::from("BEGIN;\n");
        for (name, create) in &wanted {
            script.push_str(&format!("DROP VIEW IF EXISTS \"{name}\";\n{create};\n"));
        }
        script.push_str("COMMIT;");
        if let Err(e) = self.conn.execute_batch(&script) {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(self.err(e));
        }
        Ok(wanted.into_iter().map(|(n, _)| n).collect())
    }

    /// [`Store::refresh_views`] at the end of a run: a view that cannot be
    /// written is reported, and the run's data stays as committed.
    pub(super) fn refresh_views_at_run_end(&self) {
        match self.refresh_views(Clock::Now) {
            Ok(done) if !done.is_empty() => {
                tracing::debug!("outcome views written: {}", done.join(", "))
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("the outcome views were not updated: {e}"),
        }
    }
}
