//! What the store remembers of past runs, pushes and resources, read back
//! for the status page (`crate::report`), `status` (`crate::freshness`)
//! and the metrics (`crate::metrics`): the newest runs with their counts
//! and errors, each push's outcomes from its journal, each resource's
//! watermark and last complete listing. Only reads, so it serves a store
//! opened with [`Store::open_read`] beside a running sync.

use std::collections::BTreeMap;

use rusqlite::{params, Row};

use super::{RunId, Store, StoreError, TableCounts};
use crate::timefmt::parse_iso;

/// One `sync_runs` row.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunRecord {
    pub run_id: RunId,
    /// Unix seconds.
    pub started: Option<i64>,
    pub finished: Option<i64>,
    /// As written: `running`, `complete`, `partial`, `failed`, `webhook`.
    pub status: String,
    /// What the run was begun as: resources, `push KIND` or `webhook`.
    pub resources: String,
    /// What it changed, per table.
    pub tables: BTreeMap<String, TableCounts>,
    pub requests: Option<u64>,
    pub retries: Option<u64>,
    /// `None` for runs recorded before throttled answers were counted.
    pub throttled: Option<u64>,
    pub error: Option<String>,
}

impl RunRecord {
    /// Seconds from start to end, once ended.
    pub fn seconds(&self) -> Option<i64> {
        Some(self.finished? - self.started?).filter(|s| *s >= 0)
    }

    /// Rows the run inserted, updated, deleted or removed in `table`.
    pub fn changed(&self, table: &str) -> u64 {
        self.tables
            .get(table)
            .map_or(0, |c| c.inserted + c.updated + c.deleted + c.removed)
    }
}

/// One resource's progress, in unix seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResourceState {
    pub resource: String,
    /// Every record created before it was loaded (windowed resources).
    pub watermark: Option<i64>,
    /// When it was last listed completely (listed resources).
    pub listed_at: Option<i64>,
}

/// One push's outcomes, from its journal (`push_log`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushRecord {
    /// The journal's run number (not a `sync_runs` id).
    pub run: i64,
    /// `invitations`, `field-values` or `fields`.
    pub kind: String,
    /// The journal's first and last entry (unix seconds).
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub sent: u64,
    pub failed: u64,
    /// Sent without a usable answer, or never answered (`sending`,
    /// `unknown`): the next push looks for them first.
    pub in_doubt: u64,
    /// Each distinct error text and how many writes it ended.
    pub errors: Vec<(String, u64)>,
}

const RUN_COLUMNS: &str = "run_id, started_at, finished_at, status, COALESCE(resources, ''), \
     rows_json, requests, retries, throttled, error";

fn run_record(r: &Row) -> rusqlite::Result<RunRecord> {
    let time = |i: usize| -> rusqlite::Result<Option<i64>> {
        Ok(r.get::<_, Option<String>>(i)?
            .as_deref()
            .and_then(parse_iso))
    };
    let count = |i: usize| -> rusqlite::Result<Option<u64>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(|n| n.max(0) as u64))
    };
    let rows: Option<String> = r.get(5)?;
    Ok(RunRecord {
        run_id: r.get(0)?,
        started: time(1)?,
        finished: time(2)?,
        status: r.get(3)?,
        resources: r.get(4)?,
        tables: rows
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
        requests: count(6)?,
        retries: count(7)?,
        throttled: count(8)?,
        error: r.get(9)?,
    })
}

impl Store {
    /// The newest `limit` syncs and pushes (`sessions` false) or webhook
    /// receiver's sessions (`sessions` true, the one under way included),
    /// newest first.
    pub fn recent_runs(&self, limit: usize, sessions: bool) -> Result<Vec<RunRecord>, StoreError> {
        let filter = if sessions {
            "WHERE resources = 'webhook'"
        } else {
            "WHERE resources IS NOT 'webhook'"
        };
        self.run_records(
            &format!("SELECT {RUN_COLUMNS} FROM sync_runs {filter} ORDER BY run_id DESC LIMIT ?"),
            limit,
        )
    }

    /// The newest `limit` runs that recorded an error and did not
    /// complete (a complete run's note of skipped endpoints is not one).
    pub fn recent_errors(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.run_records(
            &format!(
                "SELECT {RUN_COLUMNS} FROM sync_runs WHERE error IS NOT NULL \
                 AND status <> 'complete' ORDER BY run_id DESC LIMIT ?"
            ),
            limit,
        )
    }

    /// The newest `limit` syncs and pushes that have ended, newest first.
    pub fn ended_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.run_records(
            &format!(
                "SELECT {RUN_COLUMNS} FROM sync_runs WHERE resources IS NOT 'webhook' \
                 AND status <> 'running' ORDER BY run_id DESC LIMIT ?"
            ),
            limit,
        )
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

    /// The newest complete run, if any.
    pub fn last_success(&self) -> Result<Option<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE status = 'complete' \
             ORDER BY run_id DESC LIMIT ?"
        );
        Ok(self.run_records(&sql, 1)?.pop())
    }

    fn run_records(&self, sql: &str, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let res = (|| -> rusqlite::Result<Vec<RunRecord>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([limit as i64], run_record)?;
            rows.collect()
        })();
        res.map_err(|e| self.err(e))
    }

    /// The newest `limit` pushes, newest first, with their outcomes.
    pub fn recent_pushes(&self, limit: usize) -> Result<Vec<PushRecord>, StoreError> {
        let res = (|| -> rusqlite::Result<Vec<PushRecord>> {
            let mut stmt = self.conn.prepare(
                "SELECT run, kind, MIN(updated_at), MAX(updated_at),
                   SUM(state = 'sent'), SUM(state = 'failed'),
                   SUM(state IN ('sending', 'unknown'))
                 FROM push_log GROUP BY run, kind ORDER BY run DESC, kind LIMIT ?",
            )?;
            let mut pushes: Vec<PushRecord> = stmt
                .query_map([limit as i64], |r| {
                    let time = |i| -> rusqlite::Result<Option<i64>> {
                        Ok(r.get::<_, Option<String>>(i)?
                            .as_deref()
                            .and_then(parse_iso))
                    };
                    Ok(PushRecord {
                        run: r.get(0)?,
                        kind: r.get(1)?,
                        first: time(2)?,
                        last: time(3)?,
                        sent: r.get::<_, i64>(4)? as u64,
                        failed: r.get::<_, i64>(5)? as u64,
                        in_doubt: r.get::<_, i64>(6)? as u64,
                        errors: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut errors = self.conn.prepare(
                "SELECT error, COUNT(*) FROM push_log WHERE run = ? AND kind = ?
                   AND error IS NOT NULL GROUP BY error ORDER BY COUNT(*) DESC, error LIMIT 20",
            )?;
            for p in &mut pushes {
                p.errors = errors
                    .query_map(params![p.run, p.kind], |r| {
                        Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
            }
            Ok(pushes)
        })();
        res.map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunEnd, RunStatus, WriteState};

    fn end(status: RunStatus, throttled: u64, error: Option<&str>) -> RunEnd {
        RunEnd {
            finished: 100,
            window_end: None,
            status,
            requests: 7,
            retries: 2,
            throttled,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn runs_come_back_newest_first_with_their_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let a = store.begin_run(40, "jobs").unwrap();
        store
            .finish_run(a, &end(RunStatus::Complete, 3, None))
            .unwrap();
        let b = store.begin_run(90, "jobs").unwrap();
        let failed = end(RunStatus::Failed, 0, Some("boom <b>"));
        store.finish_run(b, &failed).unwrap();
        let w = store.begin_run(95, "webhook").unwrap();
        store
            .finish_run(w, &end(RunStatus::Webhook, 0, None))
            .unwrap();
        let under_way = store.begin_run(99, "webhook").unwrap();

        let runs = store.recent_runs(10, false).unwrap();
        assert_eq!(runs.iter().map(|r| r.run_id).collect::<Vec<_>>(), [b, a]);
        assert_eq!(runs[1].seconds(), Some(60));
        assert_eq!(runs[1].throttled, Some(3));
        assert_eq!((runs[1].requests, runs[1].retries), (Some(7), Some(2)));
        let sessions = store.recent_runs(10, true).unwrap();
        let ids: Vec<RunId> = sessions.iter().map(|r| r.run_id).collect();
        assert_eq!(ids, [under_way, w]);
        assert_eq!(sessions[0].status, "running");
        assert_eq!(store.recent_runs(1, false).unwrap().len(), 1);
        let errors = store.recent_errors(10).unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].error.as_deref(), Some("boom <b>"));
        assert_eq!(store.last_success().unwrap().unwrap().run_id, a);
    }

    #[test]
    fn pushes_are_summed_from_their_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        assert!(store.recent_pushes(5).unwrap().is_empty());
        let j = store.journal("invitations").unwrap();
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            store.journal_sending(&j, key, i + 2).unwrap();
        }
        let end = |key, state, error| store.journal_end(j.run, &j.kind, key, state, None, error);
        end("a", WriteState::Sent, None).unwrap();
        end("b", WriteState::Failed, Some("email taken")).unwrap();
        end("c", WriteState::Failed, Some("email taken")).unwrap();
        let pushes = store.recent_pushes(5).unwrap();
        assert_eq!(pushes.len(), 1);
        let p = &pushes[0];
        assert_eq!(
            (p.kind.as_str(), p.sent, p.failed, p.in_doubt),
            ("invitations", 1, 2, 1)
        );
        assert_eq!(p.errors, vec![("email taken".to_owned(), 2)]);
        assert!(p.first.is_some() && p.last >= p.first);
    }
}
