//! Run bookkeeping: one `sync_runs` row per sync or webhook session, the
//! per-table counts of what it changed, and the totals for its summary.

use rusqlite::params;
use serde::Serialize;

use super::{Rows, RunId, Store, StoreError};
use crate::schema::{INS_RUN, SCHEMA, UPD_RUN};
use crate::timefmt::iso;

/// How a run stands, as `sync_runs.status` and the report's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started and not finished (or killed).
    Running,
    /// Every resource was read to the end.
    Complete,
    /// Some resources could not be completed; the rest was committed.
    Partial,
    /// The run stopped on an error.
    Failed,
    /// A webhook receiver's session.
    Webhook,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Webhook => "webhook",
        }
    }
}

/// Reports compare with the status as it is written.
impl PartialEq<&str> for RunStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a run ended, for its `sync_runs` row.
#[derive(Debug, Clone)]
pub struct RunEnd {
    pub finished: i64,
    pub window_end: Option<i64>,
    pub status: RunStatus,
    pub requests: u64,
    pub retries: u64,
    /// Answers that were HTTP 429 (rate-limited).
    pub throttled: u64,
    pub error: Option<String>,
}

impl Store {
    /// Starts a run record; returns its id.
    pub fn begin_run(&mut self, started: i64, resources: &str) -> Result<RunId, StoreError> {
        self.counts.clear();
        self.recent = Default::default();
        self.changed = Default::default();
        self.conn
            .execute(
                "INSERT INTO sync_runs (started_at, status, resources) VALUES (?, ?, ?)",
                params![iso(started), RunStatus::Running.as_str(), resources],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// For a new state database over a destination that already holds runs
    /// (the state was lost): the next run's id follows `highest`, so no run
    /// id is ever given twice in one destination. (Ids only ever move up.)
    pub fn continue_runs_after(&mut self, highest: RunId) -> Result<(), StoreError> {
        let res = (|| -> rusqlite::Result<()> {
            let n = self.conn.execute(
                "UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = 'sync_runs'",
                [highest],
            )?;
            if n == 0 {
                self.conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('sync_runs', ?1)",
                    [highest],
                )?;
            }
            Ok(())
        })();
        res.map_err(|e| self.err(e))
    }

    /// The newest run begun in this database (0 before any).
    pub fn newest_run(&self) -> Result<RunId, StoreError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(run_id), 0) FROM sync_runs", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }

    /// Whether no run was ever begun in this database.
    pub fn is_new(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) = 0 FROM sync_runs", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Records how the run ended. When the disk is full, the record is
    /// tried once more after moving the log's committed pages into the
    /// database (a checkpoint), which can free the room one row needs.
    /// The outcome views follow a run that did not fail; a failed one
    /// (perhaps for want of room) leaves them for the next run, and its
    /// error stays the one thing it says.
    pub fn finish_run(&mut self, run_id: RunId, end: &RunEnd) -> Result<(), StoreError> {
        if end.status != RunStatus::Failed {
            self.refresh_views_at_run_end();
        }
        self.count_changes(run_id).map_err(|e| self.err(e))?;
        match self.record_end(run_id, end) {
            Err(StoreError::NoSpace { .. }) => {
                let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
                self.record_end(run_id, end)
            }
            other => other,
        }
    }

    fn record_end(&self, run_id: RunId, end: &RunEnd) -> Result<(), StoreError> {
        let rows = serde_json::to_string(&self.counts).unwrap_or_default();
        self.conn
            .execute(
                "UPDATE sync_runs SET finished_at = ?, window_end = ?, status = ?, rows_json = ?,
                 requests = ?, retries = ?, throttled = ?, error = ? WHERE run_id = ?",
                params![
                    iso(end.finished),
                    end.window_end.map(iso),
                    end.status.as_str(),
                    rows,
                    end.requests as i64,
                    end.retries as i64,
                    end.throttled as i64,
                    end.error,
                    run_id
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Rows this run created and changed, per table (children count as
    /// inserted: they are replaced with their parent).
    fn count_changes(&mut self, run_id: RunId) -> rusqlite::Result<()> {
        for (i, t) in SCHEMA.tables.iter().enumerate() {
            if !self.changed.tables.contains(&i) {
                continue;
            }
            let (inserted, updated): (i64, i64) = self.conn.query_row(
                &format!(
                    "SELECT COALESCE(SUM({INS_RUN} = ?1), 0), \
                     COALESCE(SUM({UPD_RUN} = ?1 AND {INS_RUN} IS NOT ?1), 0) FROM {}",
                    t.name
                ),
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if inserted + updated > 0 {
                let c = self.counts.entry(t.name.clone()).or_default();
                c.inserted = inserted as u64;
                c.updated = updated as u64;
            }
        }
        Ok(())
    }

    /// Every table's rows now, for a run summary.
    pub fn row_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        SCHEMA
            .tables
            .iter()
            .map(|t| Ok((t.name.clone(), self.tables().count(t, Rows::All)? as i64)))
            .collect()
    }
}
