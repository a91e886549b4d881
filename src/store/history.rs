//! The run history as monitoring reads it: the newest runs of `sync_runs`
//! (sync and push runs, not a receiver's sessions), the newest complete
//! one, and each resource's watermark and last complete listing. Only
//! reads, so it serves a store opened with [`Store::open_read`] beside a
//! running sync.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::{RunId, Store, StoreError, TableCounts};
use crate::timefmt::parse_iso;

/// One run as `sync_runs` recorded it; times in unix seconds.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub run_id: RunId,
    pub started: i64,
    pub finished: Option<i64>,
    /// As written: `running`, `complete`, `partial`, `failed`.
    pub status: String,
    /// What the run was begun for (resource names, or `push <kind>`).
    pub what: String,
    pub requests: u64,
    pub retries: u64,
    pub error: Option<String>,
    /// Rows the run changed, per table.
    pub tables: BTreeMap<String, TableCounts>,
}

impl RunRecord {
    /// Seconds from start to finish (none while running).
    pub fn seconds(&self) -> Option<i64> {
        self.finished.map(|f| f - self.started)
    }
}

/// One resource's progress, in unix seconds.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceState {
    pub resource: String,
    /// Every record created before it was loaded (windowed resources).
    pub watermark: Option<i64>,
    /// When it was last listed completely (listed resources).
    pub listed_at: Option<i64>,
}

/// The columns a [`RunRecord`] is read from, in order.
const COLUMNS: &str = "run_id, started_at, finished_at, status, COALESCE(resources, ''), \
     COALESCE(requests, 0), COALESCE(retries, 0), error, rows_json";

/// A receiver's sessions are runs too; monitoring looks at the others.
const NOT_RECEIVER: &str = "status <> 'webhook' AND COALESCE(resources, '') <> 'webhook'";

fn record(r: &rusqlite::Row) -> rusqlite::Result<RunRecord> {
    let time = |s: Option<String>| s.as_deref().and_then(parse_iso);
    let rows: Option<String> = r.get(8)?;
    Ok(RunRecord {
        run_id: r.get(0)?,
        started: time(r.get(1)?).unwrap_or(0),
        finished: time(r.get(2)?),
        status: r.get(3)?,
        what: r.get(4)?,
        requests: r.get::<_, i64>(5)?.max(0) as u64,
        retries: r.get::<_, i64>(6)?.max(0) as u64,
        error: r.get(7)?,
        tables: rows
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
    })
}

impl Store {
    /// The newest `n` sync and push runs that have ended, newest first.
    pub fn recent_runs(&self, n: usize) -> Result<Vec<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_runs WHERE {NOT_RECEIVER} AND status <> 'running' \
             ORDER BY run_id DESC LIMIT ?"
        );
        let res = (|| -> rusqlite::Result<Vec<RunRecord>> {
            let mut stmt = self.conn.prepare(&sql)?;
            let rows = stmt.query_map([n as i64], record)?;
            rows.collect()
        })();
        res.map_err(|e| self.err(e))
    }

    /// The newest sync or push run that ended complete.
    pub fn last_success(&self) -> Result<Option<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_runs WHERE {NOT_RECEIVER} AND status = 'complete' \
             ORDER BY run_id DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, [], record)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every resource's watermark and last complete listing, by name.
    pub fn resource_states(&self) -> Result<Vec<ResourceState>, StoreError> {
        let res = (|| -> rusqlite::Result<Vec<ResourceState>> {
            let mut stmt = self.conn.prepare(
                "SELECT resource, watermark, listed_at FROM sync_state ORDER BY resource",
            )?;
            let rows = stmt.query_map([], |r| {
                let listed: Option<String> = r.get(2)?;
                Ok(ResourceState {
                    resource: r.get(0)?,
                    watermark: r.get(1)?,
                    listed_at: listed.as_deref().and_then(parse_iso),
                })
            })?;
            rows.collect()
        })();
        res.map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunEnd, RunStatus};

    fn end(status: RunStatus, error: Option<&str>) -> RunEnd {
        RunEnd {
            finished: 1_700_000_100,
            window_end: None,
            status,
            requests: 7,
            retries: 1,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn runs_read_back_newest_first_without_receiver_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let a = store.begin_run(1_700_000_000, "members").unwrap();
        store
            .finish_run(a, &end(RunStatus::Complete, None))
            .unwrap();
        let w = store.begin_run(1_700_000_000, "webhook").unwrap();
        store.finish_run(w, &end(RunStatus::Webhook, None)).unwrap();
        let b = store.begin_run(1_700_000_050, "members").unwrap();
        store
            .finish_run(b, &end(RunStatus::Failed, Some("boom")))
            .unwrap();
        store.begin_run(1_700_000_200, "members").unwrap();
        let runs = store.recent_runs(10).unwrap();
        let ids: Vec<RunId> = runs.iter().map(|r| r.run_id).collect();
        assert_eq!(ids, vec![b, a]);
        assert_eq!(runs[0].status, "failed");
        assert_eq!(runs[0].error.as_deref(), Some("boom"));
        assert_eq!(runs[0].seconds(), Some(50));
        assert_eq!((runs[0].requests, runs[0].retries), (7, 1));
        assert_eq!(store.last_success().unwrap().unwrap().run_id, a);
    }
}
