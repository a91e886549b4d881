//! The state database's schema version and its ordered migrations.
//!
//! `PRAGMA user_version` holds the version a file was last migrated to.
//! Files written before versions existed read as 0. Each step runs once, in
//! order, in one transaction with the new version number, so a crash in the
//! middle of an upgrade leaves the file as it was. A file from a newer
//! huntr-sync is refused rather than guessed at.
//!
//! The contract tables themselves follow `schema/tables.toml`: they are
//! created when missing and gain the columns declared since, after the
//! numbered steps (see [`contract_tables`]).

use std::collections::HashSet;

use rusqlite::{Connection, Transaction};

use crate::schema::Schema;

/// One step: the version it leads to, what it does, and its SQL.
struct Migration {
    version: i64,
    sql: &'static str,
}

/// Every step, oldest first. Never edit a released step: add one.
const MIGRATIONS: &[Migration] = &[
    // 1: the bookkeeping of release 0.1 (the `IF NOT EXISTS` keeps files
    // that release wrote as they are), and the publication record that
    // release created only when it first published Parquet.
    Migration {
        version: 1,
        sql: "
CREATE TABLE IF NOT EXISTS sync_state (
  resource TEXT PRIMARY KEY,
  watermark INTEGER,
  watermark_at TEXT,
  listed_at TEXT,
  updated_at TEXT
);
CREATE TABLE IF NOT EXISTS sync_runs (
  run_id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  window_end TEXT,
  status TEXT NOT NULL,
  resources TEXT,
  rows_json TEXT,
  requests INTEGER,
  retries INTEGER,
  error TEXT
);
CREATE TABLE IF NOT EXISTS sync_table_changes (
  name TEXT PRIMARY KEY,
  run_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_pending_jobs (
  job_id TEXT PRIMARY KEY,
  changed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_published (
  name TEXT PRIMARY KEY,
  run_id INTEGER NOT NULL,
  rows INTEGER,
  published_at TEXT
);
",
    },
    // 2: a job queued for a re-read is claimed by the run that re-reads
    // it, and cleared once read only if no action queued it again since.
    Migration {
        version: 2,
        sql: "ALTER TABLE sync_pending_jobs ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0;",
    },
    // 3: the journal of `push`: each write is recorded before it is sent
    // and again once answered, so a push killed at any point and run again
    // sends nothing twice.
    Migration {
        version: 3,
        sql: "
CREATE TABLE IF NOT EXISTS push_log (
  run INTEGER NOT NULL,
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  line INTEGER,
  state TEXT NOT NULL,
  created_id TEXT,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (run, kind, key)
);
CREATE INDEX IF NOT EXISTS push_log_state ON push_log (kind, state);
",
    },
    // 4 (job posts): jobs, activities and actions gained `job_post_id`
    // (and actions `candidate_id`, `action_job_posts`), which only their
    // own reads fill: the creation-windowed resources are read again from
    // the beginning, once, by the next run (their rows stay; nothing is
    // lost if that run fails, the watermark simply stays unset).
    Migration {
        version: 4,
        sql: "UPDATE sync_state SET watermark = NULL, watermark_at = NULL \
              WHERE resource IN ('jobs', 'activities', 'actions');",
    },
    // 5 (Delta Lake): the version of its Delta table each publication
    // committed, so a run can list every table's current version in
    // `_huntr_sync_runs` without reading the tables back.
    Migration {
        version: 5,
        sql: "ALTER TABLE sync_published ADD COLUMN version INTEGER;",
    },
    // 6 (a quiet night's cost): the changes that actions announced
    // to a listing they keep current (job posts, goals) since it was last
    // read, and how many of them a complete listing covers until the run's
    // mirror takes them off; the listing is read again while any is due.
    Migration {
        version: 6,
        sql: "ALTER TABLE sync_state ADD COLUMN relist_due INTEGER NOT NULL DEFAULT 0;
              ALTER TABLE sync_state ADD COLUMN relist_covered INTEGER NOT NULL DEFAULT 0;",
    },
    // 7 (monitoring): the answers a run got throttled (HTTP 429), beside
    // its requests and retries, for the status page's charts. Runs
    // recorded before stay NULL: not counted, not zero.
    Migration {
        version: 7,
        sql: "ALTER TABLE sync_runs ADD COLUMN throttled INTEGER;",
    },
];

/// The version this build writes.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The file's version (0 for a file from before versions).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// What [`upgrade`] found and did.
#[derive(Debug, PartialEq, Eq)]
pub enum Upgrade {
    /// Migrated from this version to [`LATEST`] (equal when nothing ran).
    From(i64),
    /// The file is newer than this build.
    TooNew(i64),
}

/// Brings the bookkeeping to [`LATEST`], then the contract tables to the
/// declared schema; one transaction.
pub fn upgrade(conn: &mut Connection, schema: &Schema) -> rusqlite::Result<Upgrade> {
    let tx = conn.transaction()?;
    let found = version(&tx)?;
    if found > LATEST {
        return Ok(Upgrade::TooNew(found));
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.execute_batch(m.sql)?;
        tx.pragma_update(None, "user_version", m.version)?;
    }
    contract_tables(&tx, schema)?;
    tx.commit()?;
    if found < LATEST {
        tracing::info!("state database migrated from version {found} to {LATEST}");
    }
    Ok(Upgrade::From(found))
}

/// Creates missing contract tables and adds the columns declared since a
/// table was created (new columns start NULL; the next full read fills
/// them).
fn contract_tables(tx: &Transaction, schema: &Schema) -> rusqlite::Result<()> {
    tx.execute_batch(&schema.sqlite_ddl())?;
    for t in &schema.tables {
        let existing: HashSet<String> = tx
            .prepare(&format!("SELECT name FROM pragma_table_info('{}')", t.name))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for c in t.columns.iter().filter(|c| !existing.contains(&c.name)) {
            tx.execute_batch(&format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                t.name,
                c.name,
                c.ty.sql_type()
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SCHEMA;

    #[test]
    fn versions_increase_by_one_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
    }

    #[test]
    fn a_new_file_is_migrated_to_the_latest_version_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(upgrade(&mut conn, &SCHEMA).unwrap(), Upgrade::From(0));
        assert_eq!(version(&conn).unwrap(), LATEST);
        assert_eq!(upgrade(&mut conn, &SCHEMA).unwrap(), Upgrade::From(LATEST));
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sync_published'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn runs_recorded_before_throttled_answers_were_counted_keep_no_count() {
        let mut conn = Connection::open_in_memory().unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version <= 6) {
            conn.execute_batch(m.sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 6).unwrap();
        conn.execute_batch(
            "INSERT INTO sync_runs (started_at, status, requests) VALUES ('2026-01-01T00:00:00Z', 'complete', 9)",
        )
        .unwrap();
        assert_eq!(upgrade(&mut conn, &SCHEMA).unwrap(), Upgrade::From(6));
        let (requests, throttled): (i64, Option<i64>) = conn
            .query_row("SELECT requests, throttled FROM sync_runs", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((requests, throttled), (9, None));
    }

    #[test]
    fn a_file_from_a_newer_build_is_left_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        assert_eq!(
            upgrade(&mut conn, &SCHEMA).unwrap(),
            Upgrade::TooNew(LATEST + 1)
        );
        let tables: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0, "nothing created");
    }

    #[test]
    fn columns_declared_later_are_added() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE employers (id TEXT PRIMARY KEY)")
            .unwrap();
        upgrade(&mut conn, &SCHEMA).unwrap();
        let cols: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('employers')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            cols as usize,
            SCHEMA.get("employers").unwrap().columns.len()
        );
    }
}
