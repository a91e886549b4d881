//! The destination's tables in PostgreSQL, derived from `schema/` like
//! every other form of a table: created once, with primary keys, an index
//! on each column that names another row, and `COMMENT ON` every table
//! and column from the schema's own descriptions (BI tools show them).
//! Afterwards they are only altered in place: a column a release adds is
//! added, nothing is ever dropped or truncated, so the views, grants and
//! indexes users made survive every run and every upgrade.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use tokio_postgres::Client;

use super::copy::PgType;
use crate::schema::{Source, Table, SCHEMA};

/// The table of published runs, one row each.
pub const RUNS: &str = "_huntr_sync_runs";
/// Each published run's row counts, one row per table it changed.
pub const RUN_TABLES: &str = "_huntr_sync_run_tables";

/// One column in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgColumn {
    pub name: String,
    pub ty: PgType,
    pub doc: String,
}

/// One table in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgTable {
    pub name: String,
    pub doc: String,
    pub key: Vec<String>,
    pub columns: Vec<PgColumn>,
    /// Columns naming another row: each gets an index.
    pub indexed: Vec<String>,
}

impl PgTable {
    /// A contract table: what users see of it (its declared columns and
    /// `_extra`).
    pub fn of(t: &Table) -> PgTable {
        let columns: Vec<PgColumn> = t
            .visible()
            .map(|c| PgColumn {
                name: c.name.clone(),
                ty: PgType::of(c),
                doc: match &c.source {
                    Source::Path(_) => format!("API field {}", c.notes()),
                    _ => c.notes(),
                },
            })
            .collect();
        let parent = t.parent.as_ref().map(|(_, col)| col.as_str());
        let indexed = columns
            .iter()
            .filter(|c| {
                (names_a_row(&c.name) || Some(c.name.as_str()) == parent)
                    && t.key.first() != Some(&c.name)
            })
            .map(|c| c.name.clone())
            .collect();
        PgTable {
            name: t.name.clone(),
            doc: t.doc.clone(),
            key: t.key.clone(),
            columns,
            indexed,
        }
    }

    /// Column names, quoted, joined by `, ` (with `prefix.` before each).
    pub fn column_list(&self, prefix: &str) -> String {
        self.columns
            .iter()
            .map(|c| format!("{prefix}{}", quote(&c.name)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn index_name(&self, column: &str) -> String {
        format!("{}_{column}_idx", self.name)
    }

    /// Every identifier this table gives PostgreSQL (names it must not cut).
    #[cfg(test)]
    pub fn identifiers(&self) -> Vec<String> {
        let mut all = vec![self.name.clone(), super::publish::stage_name(&self.name)];
        all.extend(self.columns.iter().map(|c| c.name.clone()));
        all.extend(self.indexed.iter().map(|c| self.index_name(c)));
        all.push(format!("{}_pkey", self.name));
        all
    }
}

/// Whether a column holds the id of another table's row: `X_id` whose
/// last word is the last word of a table's singular (`owner_member_id`,
/// `field_id` of `member_fields`, `previous_interval_id` of
/// `goal_intervals`), not an outside id (`location_place_id`, `to_user_id`).
fn names_a_row(column: &str) -> bool {
    let Some(thing) = column.strip_suffix("_id") else {
        return false;
    };
    let last = |s: &str| s.rsplit('_').next().unwrap_or_default().to_owned();
    SCHEMA
        .tables
        .iter()
        .any(|t| last(&singular(&t.name)) == last(thing))
}

/// A table name's singular: `activities` → `activity`, `goal_progresses`
/// → `goal_progress`, `jobs` → `job`.
fn singular(table: &str) -> String {
    if let Some(stem) = table.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = table.strip_suffix("sses") {
        format!("{stem}ss")
    } else {
        table.strip_suffix('s').unwrap_or(table).to_owned()
    }
}

fn col(name: &str, ty: PgType, doc: &str) -> PgColumn {
    PgColumn {
        name: name.into(),
        ty,
        doc: doc.into(),
    }
}

/// The two bookkeeping tables.
fn run_tables() -> [PgTable; 2] {
    let counts = |mut cols: Vec<PgColumn>| {
        cols.extend([
            col("inserted", PgType::Int8, "rows inserted"),
            col("updated", PgType::Int8, "rows whose values changed"),
            col(
                "deleted",
                PgType::Int8,
                "child rows deleted (their parent no longer has them)",
            ),
            col(
                "removed",
                PgType::Int8,
                "rows newly marked removed_at (no longer listed)",
            ),
        ]);
        cols
    };
    [
        PgTable {
            name: RUNS.into(),
            doc: "One row per huntr-sync run published here, committed with the run's rows.".into(),
            key: vec!["run_id".into()],
            columns: counts(vec![
                col(
                    "run_id",
                    PgType::Int8,
                    "the run's id, as the run summary and the state database name it",
                ),
                col("started_at", PgType::Timestamptz, "when the run began"),
                col(
                    "finished_at",
                    PgType::Timestamptz,
                    "when its publication committed",
                ),
                col("host", PgType::Text, "the machine that ran it"),
            ]),
            indexed: vec![],
        },
        PgTable {
            name: RUN_TABLES.into(),
            doc: "Rows each published run changed, per table.".into(),
            key: vec!["run_id".into(), "table_name".into()],
            columns: counts(vec![
                col("run_id", PgType::Int8, "the run (_huntr_sync_runs)"),
                col("table_name", PgType::Text, "the table changed"),
            ]),
            indexed: vec![],
        },
    ]
}

/// Every table the destination holds: the contract's, in the schema's
/// order, then bookkeeping. Derived once.
pub fn all_tables() -> &'static [PgTable] {
    static ALL: LazyLock<Vec<PgTable>> = LazyLock::new(|| {
        let mut all: Vec<PgTable> = SCHEMA.tables.iter().map(PgTable::of).collect();
        all.extend(run_tables());
        all
    });
    &ALL
}

/// A quoted identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// What [`ensure`] did, and what it left for after the rows are in.
#[derive(Debug, Default)]
pub struct Ensured {
    /// Columns added to tables that existed, as `table.column`.
    pub added: Vec<String>,
    /// Tables created by this transaction (empty until loaded).
    pub created: HashSet<String>,
    /// The indexes missing, as `(table, column, CREATE INDEX ...)`:
    /// built after the rows are in, as building an index once is cheaper
    /// than keeping it up row by row (but see `publish`, which builds
    /// those of sparse columns first). A table created here has its
    /// primary key among them (column [`KEY`]): a million actions
    /// written into a table without it and keyed after took about three
    /// quarters of the time of the same rows keyed one by one.
    pub indexes: Vec<(String, String, String)>,
}

/// Stands for a table's primary key among [`Ensured::indexes`]; no column
/// has this name.
pub const KEY: &str = " primary key";

/// Creates the schema and what is missing of its tables, inside the run's
/// transaction (which `tx` has begun), and brings their comments up to
/// date.
pub async fn ensure(tx: &Client, schema: &str) -> Result<Ensured, tokio_postgres::Error> {
    let exists = tx
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await?
        .is_some();
    if !exists {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema)))
            .await?;
    }
    let present = columns_present(tx, schema).await?;
    let indexes: HashSet<String> = tx
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1",
            &[&schema],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut done = Ensured::default();
    for t in all_tables() {
        let sql = match present.get(&t.name) {
            None => {
                done.created.insert(t.name.clone());
                if t.name == RUNS || t.name == RUN_TABLES {
                    create_sql(schema, t)
                } else {
                    done.indexes
                        .push((t.name.clone(), KEY.into(), key_sql(schema, t)));
                    create_keyless_sql(schema, t)
                }
            }
            Some(have) => {
                let missing: Vec<&PgColumn> = t
                    .columns
                    .iter()
                    .filter(|c| !have.contains(&c.name))
                    .collect();
                done.added
                    .extend(missing.iter().map(|c| format!("{}.{}", t.name, c.name)));
                add_columns_sql(schema, t, &missing)
            }
        };
        if !sql.is_empty() {
            tx.batch_execute(&sql).await?;
        }
        for c in t
            .indexed
            .iter()
            .filter(|c| !indexes.contains(&t.index_name(c)))
        {
            done.indexes
                .push((t.name.clone(), c.clone(), index_sql(schema, t, c)));
        }
    }
    let stale = stale_comments(tx, schema).await?;
    if !stale.is_empty() {
        tx.batch_execute(&stale).await?;
    }
    Ok(done)
}

/// Whether every table and column of the schema is there already, so
/// that [`ensure`] would alter nothing (comments and indexes aside).
pub async fn up_to_date(client: &Client, schema: &str) -> Result<bool, tokio_postgres::Error> {
    let present = columns_present(client, schema).await?;
    Ok(all_tables().iter().all(|t| {
        present
            .get(&t.name)
            .is_some_and(|have| t.columns.iter().all(|c| have.contains(&c.name)))
    }))
}

/// `COMMENT ON` each table and column whose comment is not the schema's
/// description (a release that describes a column better updates
/// databases made before it); nothing when all are current.
async fn stale_comments(tx: &Client, schema: &str) -> Result<String, tokio_postgres::Error> {
    let rows = tx
        .query(
            "SELECT c.relname::text, a.attname::text,
                    CASE WHEN a.attname IS NULL THEN obj_description(c.oid, 'pg_class')
                         ELSE col_description(c.oid, a.attnum) END
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
             UNION ALL
             SELECT c.relname::text, NULL, obj_description(c.oid, 'pg_class')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')",
            &[&schema],
        )
        .await?;
    let mut have: HashMap<(String, Option<String>), Option<String>> = HashMap::new();
    for r in rows {
        have.insert((r.get(0), r.get(1)), r.get(2));
    }
    let mut sql = String::new();
    for t in all_tables() {
        let q = format!("{}.{}", quote(schema), quote(&t.name));
        let current = |col: Option<&str>| {
            have.get(&(t.name.clone(), col.map(str::to_owned)))
                .cloned()
                .flatten()
        };
        if current(None).as_deref() != Some(t.doc.as_str()) {
            sql.push_str(&format!("COMMENT ON TABLE {q} IS {};\n", literal(&t.doc)));
        }
        for c in t.columns.iter().filter(|c| !c.doc.is_empty()) {
            if current(Some(&c.name)).as_deref() != Some(c.doc.as_str()) {
                sql.push_str(&format!(
                    "COMMENT ON COLUMN {q}.{} IS {};\n",
                    quote(&c.name),
                    literal(&c.doc)
                ));
            }
        }
    }
    Ok(sql)
}

/// The columns of every table in `schema`, by table.
async fn columns_present(
    tx: &Client,
    schema: &str,
) -> Result<HashMap<String, HashSet<String>>, tokio_postgres::Error> {
    let rows = tx
        .query(
            "SELECT c.relname::text, a.attname::text FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0
               AND NOT a.attisdropped",
            &[&schema],
        )
        .await?;
    let mut present: HashMap<String, HashSet<String>> = HashMap::new();
    for row in rows {
        present.entry(row.get(0)).or_default().insert(row.get(1));
    }
    Ok(present)
}

/// `CREATE TABLE` with its key (comments and indexes come after).
pub fn create_sql(schema: &str, t: &PgTable) -> String {
    let key: Vec<String> = t.key.iter().map(|k| quote(k)).collect();
    format!(
        "CREATE TABLE {}.{} ({}, PRIMARY KEY ({}));\n",
        quote(schema),
        quote(&t.name),
        column_types(t),
        key.join(", ")
    )
}

/// `CREATE TABLE` without its key, which [`key_sql`] adds once the first
/// rows are in (in the same transaction: no one sees the table before).
fn create_keyless_sql(schema: &str, t: &PgTable) -> String {
    let (schema, table) = (quote(schema), quote(&t.name));
    format!("CREATE TABLE {schema}.{table} ({});\n", column_types(t))
}

/// `"name" type, ...` of every column.
fn column_types(t: &PgTable) -> String {
    let cols: Vec<String> = (t.columns.iter())
        .map(|c| format!("{} {}", quote(&c.name), c.ty.sql()))
        .collect();
    cols.join(", ")
}

/// The primary key of a table [`create_keyless_sql`] made, named as
/// `PRIMARY KEY` in `CREATE TABLE` would name it.
fn key_sql(schema: &str, t: &PgTable) -> String {
    let key: Vec<String> = t.key.iter().map(|k| quote(k)).collect();
    format!(
        "ALTER TABLE {}.{} ADD CONSTRAINT {} PRIMARY KEY ({});\n",
        quote(schema),
        quote(&t.name),
        quote(&format!("{}_pkey", t.name)),
        key.join(", ")
    )
}

/// `ALTER TABLE ... ADD COLUMN` for each missing column.
fn add_columns_sql(schema: &str, t: &PgTable, missing: &[&PgColumn]) -> String {
    let q = format!("{}.{}", quote(schema), quote(&t.name));
    missing
        .iter()
        .map(|c| {
            format!(
                "ALTER TABLE {q} ADD COLUMN IF NOT EXISTS {} {};\n",
                quote(&c.name),
                c.ty.sql()
            )
        })
        .collect()
}

/// The index on a column naming another row. Partial: most such columns
/// are empty on most rows (an action names a job, or a note, or ...), and
/// a lookup by value never needs the empty ones.
fn index_sql(schema: &str, t: &PgTable, column: &str) -> String {
    format!(
        "CREATE INDEX IF NOT EXISTS {} ON {}.{} ({c}) WHERE {c} IS NOT NULL;\n",
        quote(&t.index_name(column)),
        quote(schema),
        quote(&t.name),
        c = quote(column)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_identifier_fits_postgresql_s_63_bytes() {
        for t in all_tables() {
            for id in t.identifiers() {
                assert!(id.len() <= 63, "{id} is {} bytes", id.len());
            }
        }
    }

    #[test]
    fn every_table_and_column_has_a_description_for_its_comment() {
        for t in all_tables() {
            assert!(!t.doc.is_empty(), "{}", t.name);
            for c in &t.columns {
                assert!(
                    !c.doc.is_empty(),
                    "{}.{} has no description",
                    t.name,
                    c.name
                );
            }
        }
        let jobs = PgTable::of(SCHEMA.get("jobs").unwrap());
        let lat = jobs
            .columns
            .iter()
            .find(|c| c.name == "location_lat")
            .unwrap();
        assert_eq!(lat.doc, "API field `location.lat`");
    }

    #[test]
    fn tables_get_keys_comments_and_indexes_on_the_columns_naming_rows() {
        let jobs = PgTable::of(SCHEMA.get("jobs").unwrap());
        let sql = create_sql("huntr", &jobs);
        assert!(sql.contains("PRIMARY KEY (\"id\")"), "{sql}");
        let keyless = create_keyless_sql("huntr", &jobs);
        assert!(!keyless.contains("PRIMARY KEY"), "{keyless}");
        assert!(
            sql.starts_with(keyless.trim_end_matches(");\n")),
            "{keyless}"
        );
        assert_eq!(
            key_sql("huntr", &jobs),
            "ALTER TABLE \"huntr\".\"jobs\" ADD CONSTRAINT \"jobs_pkey\" PRIMARY KEY (\"id\");\n"
        );
        assert!(sql.contains("\"created_at\" timestamptz"), "{sql}");
        assert!(sql.contains("\"_extra\" jsonb"), "{sql}");
        let index = index_sql("huntr", &jobs, "owner_member_id");
        assert!(
            index.contains("ON \"huntr\".\"jobs\" (\"owner_member_id\") WHERE"),
            "{index}"
        );
        assert!(!sql.contains("_upd_run"), "bookkeeping stays in the state");
        assert!(jobs
            .indexed
            .contains(&"application_activity_id".to_string()));
        assert!(jobs.indexed.contains(&"job_post_id".to_string()));
        assert!(
            !jobs.indexed.contains(&"location_place_id".to_string()),
            "an outside id names no row here"
        );
        let actions = PgTable::of(SCHEMA.get("actions").unwrap());
        assert!(actions.indexed.contains(&"goal_progress_id".to_string()));
        assert!(actions
            .indexed
            .contains(&"activity_category_id".to_string()));
        let values = PgTable::of(SCHEMA.get("member_field_values").unwrap());
        assert!(values.indexed.contains(&"field_id".to_string()));
        assert!(
            !values.indexed.contains(&"member_id".to_string()),
            "the key leads with it"
        );
    }
}
