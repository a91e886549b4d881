//! The table contract, loaded from `schema/tables.toml`.
//!
//! This is the only place that knows what a table looks like. The SQLite
//! DDL and upserts, the flattener's field-to-column map and the
//! `huntr-sync schema` reference are all derived from it, so a column is
//! added by editing the TOML file and nothing else.
//!
//! Besides the declared columns every table gets `_extra` (unknown API
//! fields as JSON). Resource tables also get two bookkeeping columns used by
//! the merge rules: `_full` (1 when the row was last written from the
//! resource's own endpoint) and `_as_of` (unix time the written data was
//! valid at: listing time, or the date of the action that carried it).
//! Tables listed in full every run get `_seen_run`, the id of the last run
//! whose listing contained the row. Every table gets `_ins_run` (the run
//! that created the row) and `_upd_run` (the last run that changed it),
//! which drive the run summary and the changes export; a table with child
//! tables gets `_children`, a hash of its children, so that a change in a
//! child marks its parent changed.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde::Deserialize;

mod parse;
mod render;
pub mod tables;

/// Name lookups happen for every cell of every row: a fast hasher (the
/// names are ours, not an attacker's).
type Names<V> = HashMap<String, V, foldhash::fast::FixedState>;

/// The declared schema, parsed once from the file compiled into the binary.
pub static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::parse(include_str!("../../schema/tables.toml"))
        .expect("schema/tables.toml is checked by the schema tests")
});

/// The value kind of a column; decides conversion and storage type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColType {
    Text,
    Timestamp,
    Bool,
    Int,
    Float,
    /// Any JSON value kept as given: strings as they are, anything else as
    /// compact JSON text.
    Value,
}

impl ColType {
    pub fn sql_type(self) -> &'static str {
        match self {
            ColType::Text | ColType::Timestamp | ColType::Value => "TEXT",
            ColType::Bool | ColType::Int => "INTEGER",
            ColType::Float => "REAL",
        }
    }
}

/// Where a column's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A dotted path into the API object.
    Path(Vec<String>),
    /// Set by the flattener's own code (child keys, positions, lifecycle).
    Code,
    /// Bookkeeping filled by the loader (`_extra` is filled by the flattener).
    Hidden,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
    pub source: Source,
    pub doc: String,
}

impl Column {
    /// Lifecycle columns are set by deletions and listings, never by a
    /// record's own fields, so a full write leaves `deleted_at` alone.
    pub fn is_lifecycle(&self) -> bool {
        self.name == "deleted_at" || self.name == "removed_at"
    }
    pub fn is_hidden(&self) -> bool {
        self.source == Source::Hidden
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub doc: String,
    pub key: Vec<String>,
    pub resource: bool,
    pub listed: bool,
    pub parent: Option<(String, String)>,
    pub consumes: Vec<String>,
    pub columns: Vec<Column>,
    index: Names<usize>,
    known: HashSet<String, foldhash::fast::FixedState>,
}

pub const EXTRA: &str = "_extra";
pub const FULL: &str = "_full";
pub const AS_OF: &str = "_as_of";
pub const SEEN_RUN: &str = "_seen_run";
pub const INS_RUN: &str = "_ins_run";
pub const UPD_RUN: &str = "_upd_run";
pub const CHILDREN: &str = "_children";

impl Table {
    /// Position of a column in a row; panics on a name the schema lacks,
    /// which is a programming error caught by the tests.
    pub fn col(&self, name: &str) -> usize {
        match self.index.get(name) {
            Some(i) => *i,
            None => panic!("table {} has no column {name}", self.name),
        }
    }
    pub fn has_col(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
    pub fn key_cols(&self) -> Vec<usize> {
        self.key.iter().map(|k| self.col(k)).collect()
    }
    /// Columns users see (declared ones plus `_extra`).
    pub fn visible(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| !c.is_hidden() || c.name == EXTRA)
    }
    /// Whether an API field name is one this table understands.
    pub fn knows(&self, field: &str) -> bool {
        self.known.contains(field)
    }
}

#[derive(Debug)]
pub struct Schema {
    pub tables: Vec<Table>,
    by_name: Names<usize>,
}

/// A table's position in [`Schema::tables`]; rows carry it instead of a name.
pub type TableId = usize;

/// A column of one table, named at compile time through [`tables`]
/// (`tables::jobs::TITLE`): `index` is its position in the table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Col {
    pub table: TableId,
    pub index: usize,
}

impl Schema {
    pub fn id(&self, name: &str) -> TableId {
        match self.by_name.get(name) {
            Some(i) => *i,
            None => panic!("schema has no table {name}"),
        }
    }
    pub fn table(&self, id: TableId) -> &Table {
        &self.tables[id]
    }
    pub fn get(&self, name: &str) -> Option<&Table> {
        self.by_name.get(name).map(|i| &self.tables[*i])
    }
    /// Child tables whose rows belong to rows of `parent`.
    pub fn children(&self, parent: TableId) -> impl Iterator<Item = TableId> + '_ {
        let name = &self.tables[parent].name;
        self.tables
            .iter()
            .enumerate()
            .filter(move |(_, t)| t.parent.as_ref().is_some_and(|(p, _)| p == name))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::parse::camel_case;
    use super::*;

    #[test]
    fn declared_schema_parses_and_covers_the_contract() {
        let s = &*SCHEMA;
        // Every table and column of shared/SCHEMA.md, by name.
        let contract: &[(&str, &str)] = &[
            ("members", "id given_name family_name email created_at is_active removed_at"),
            ("member_field_values", "member_id field_id value"),
            ("member_fields", "id name field_type"),
            ("member_field_choices", "field_id position choice"),
            ("board_templates", "id name is_default"),
            ("board_template_lists", "board_template_id position list_template_id name"),
            ("organization_invitations", "id to_email board_name board_template_id to_user_id created_at removed_at"),
            ("organization_invitation_field_values", "invitation_id field_id value"),
            ("employers", "id name domain founded_year description location is_partner job_count application_count interview_count offer_count"),
            ("jobs", "id title description html_description salary url deadline created_at owner_member_id creator_member_id employer_id list_name location_address location_name location_place_id location_id location_url location_lat location_lng application_activity_id offer_activity_id offer_accepted_activity_id deleted_at"),
            ("job_interview_activities", "job_id position activity_id"),
            ("activities", "id title note completed completed_at start_at end_at created_at created_by_workflow activity_category_id job_id employer_id owner_member_id creator_member_id deleted_at"),
            ("activity_categories", "id name"),
            ("actions", "id action_type date created_at created_by_workflow owner_member_id creator_member_id job_id employer_id activity_id activity_category_id note_id contact_id member_id organization_invitation_id from_list_name to_list_name update_json"),
            ("action_jobs", "action_id position job_id"),
            ("action_employers", "action_id position employer_id"),
            ("notes", "id text"),
            ("contacts", "id first_name last_name email title location"),
            ("contact_profiles", "contact_id network handle"),
            ("events", "id event_type date created_at member_id job_id from_list_name to_list_name"),
            ("people", "id given_name family_name email created_at is_active"),
        ];
        for (table, cols) in contract {
            let t = s
                .get(table)
                .unwrap_or_else(|| panic!("missing table {table}"));
            for c in cols.split_whitespace() {
                assert!(t.has_col(c), "{table} lacks {c}");
            }
            assert!(t.has_col(EXTRA), "{table} lacks _extra");
        }
    }

    #[test]
    fn camel_case_defaults() {
        assert_eq!(camel_case("given_name"), "givenName");
        assert_eq!(camel_case("id"), "id");
        let jobs = SCHEMA.table(SCHEMA.id("jobs"));
        let lat = &jobs.columns[jobs.col("location_lat")];
        assert_eq!(
            lat.source,
            Source::Path(vec!["location".into(), "lat".into()])
        );
    }

    #[test]
    fn ddl_is_valid_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(&SCHEMA.sqlite_ddl()).unwrap();
    }

    #[test]
    fn bad_schema_is_refused() {
        let err = Schema::parse("[[table]]\nname='t'\ndoc=''\nkey=['x']\ncolumns=[]").unwrap_err();
        assert!(err.contains("key column x"), "{err}");
    }
}
