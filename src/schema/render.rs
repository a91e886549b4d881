//! Text derived from the parsed schema: the SQLite DDL the loader runs and
//! the Markdown reference `huntr-sync schema` prints. Kept apart from the
//! types so that the schema's data and its renderings change separately.

use super::Schema;

impl Schema {
    /// `CREATE TABLE` statements for SQLite.
    pub fn sqlite_ddl(&self) -> String {
        let mut out = String::new();
        for t in &self.tables {
            out.push_str(&format!("CREATE TABLE IF NOT EXISTS {} (\n", t.name));
            for c in &t.columns {
                out.push_str(&format!("  {} {},\n", c.name, c.ty.sql_type()));
            }
            // Keyed by text ids: rows live in the key's own B-tree.
            out.push_str(&format!(
                "  PRIMARY KEY ({})\n) WITHOUT ROWID;\n",
                t.key.join(", ")
            ));
            if let Some((_, col)) = &t.parent {
                out.push_str(&format!(
                    "CREATE INDEX IF NOT EXISTS {0}_by_{1} ON {0} ({1});\n",
                    t.name, col
                ));
            }
        }
        out
    }

    /// A Markdown reference of every table and its visible columns.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for t in &self.tables {
            out.push_str(&format!(
                "### `{}`\n\n{} Key: ({}).\n\n| column | type | notes |\n|---|---|---|\n",
                t.name,
                t.doc,
                t.key.join(", ")
            ));
            for c in t.visible() {
                let ty = format!("{:?}", c.ty).to_lowercase();
                out.push_str(&format!("| {} | {} | {} |\n", c.name, ty, c.notes()));
            }
            out.push('\n');
        }
        out
    }
}
