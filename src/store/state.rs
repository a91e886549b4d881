//! Sync state: watermarks and complete listings (committed with the rows
//! they describe), the mirror of listed tables, the jobs waiting to be
//! re-read, and the operator's view and reset of it all.

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension};

use super::{RunId, StateUpdate, Store, StoreError};
use crate::resources::Resource;
use crate::schema::{SCHEMA, SEEN_RUN, UPD_RUN};
use crate::timefmt::{iso, parse_iso};

pub(super) fn write_state(
    tx: &rusqlite::Connection,
    state: &StateUpdate,
    now: i64,
) -> rusqlite::Result<()> {
    match state {
        StateUpdate::Watermark { resource, value } => tx.execute(
            "INSERT INTO sync_state (resource, watermark, watermark_at, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (resource) DO UPDATE SET watermark = excluded.watermark,
               watermark_at = excluded.watermark_at, updated_at = excluded.updated_at",
            params![resource.path(), value, iso(*value), iso(now)],
        )?,
        StateUpdate::Listed { resource, due } => tx.execute(
            "INSERT INTO sync_state (resource, listed_at, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (resource) DO UPDATE SET listed_at = excluded.listed_at,
               updated_at = excluded.updated_at, relist_covered = ?4",
            params![resource.path(), iso(now), iso(now), due],
        )?,
    };
    Ok(())
}

/// One resource's state, as `state show` prints it.
#[derive(Debug, Clone)]
pub struct StateRow {
    pub resource: String,
    pub watermark: Option<String>,
    pub listed_at: Option<String>,
    pub updated_at: Option<String>,
}

impl Store {
    pub fn watermark(&self, resource: Resource) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT watermark FROM sync_state WHERE resource = ?",
                [resource.path()],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// When `resource` was last listed completely (unix seconds), and the
    /// changes actions announced to it since (`StateUpdate::Listed`).
    pub fn listing(&self, resource: Resource) -> Result<(Option<i64>, i64), StoreError> {
        self.conn
            .query_row(
                "SELECT listed_at, relist_due FROM sync_state WHERE resource = ?",
                [resource.path()],
                |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
            .map(|row| match row {
                Some((at, due)) => (at.as_deref().and_then(parse_iso), due),
                None => (None, 0),
            })
            .map_err(|e| self.err(e))
    }

    /// Whether `resource`'s table holds a live row that this run's listing
    /// has not seen, leaving out `ids` (a page read but not yet stored):
    /// a row the mirror would mark removed if the listing ended now.
    pub fn listing_leaves_unseen(
        &self,
        resource: Resource,
        run_id: RunId,
        ids: &HashSet<String>,
    ) -> Result<bool, StoreError> {
        let table = &SCHEMA.table(resource.table()).name;
        let res = (|| -> rusqlite::Result<bool> {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT id FROM {table} WHERE removed_at IS NULL \
                 AND ({SEEN_RUN} IS NULL OR {SEEN_RUN} <> ?1)"
            ))?;
            let mut rows = stmt.query([run_id])?;
            while let Some(row) = rows.next()? {
                if !ids.contains(row.get_ref(0)?.as_str()?) {
                    return Ok(true);
                }
            }
            Ok(false)
        })();
        res.map_err(|e| self.err(e))
    }

    /// Jobs changed after they were last read; obsolete entries are
    /// dropped, the others are claimed for the re-read that follows.
    ///
    /// An action can reach the API minutes after its date, so a read made
    /// after that date may still predate the change: a read covers a
    /// queued change only when it was made at least `lookback` seconds
    /// after the change's date (the API's promise, the same that the
    /// windows' lookback relies on), or when it is the re-read this claim
    /// is for ([`Store::jobs_reread`]).
    ///
    /// A backfill records an entry for most jobs, nearly all obsolete by
    /// the end: the table is walked in key order a chunk at a time, so the
    /// memory this takes does not grow with the organization.
    pub fn pending_jobs(&mut self, lookback: i64) -> Result<Vec<String>, StoreError> {
        const CHUNK: i64 = 2000;
        self.queued.forget();
        let res = (|| -> rusqlite::Result<Vec<String>> {
            let tx = self.conn.transaction()?;
            let mut pending = Vec::new();
            let mut after = String::new();
            loop {
                let chunk: Vec<(String, bool)> = tx
                    .prepare_cached(
                        "SELECT p.job_id, j.id IS NOT NULL AND (j.deleted_at IS NOT NULL
                           OR (j._full = 1 AND j._as_of - p.changed >= ?3))
                         FROM sync_pending_jobs p LEFT JOIN jobs j ON j.id = p.job_id
                         WHERE p.job_id > ?1 ORDER BY p.job_id LIMIT ?2",
                    )?
                    .query_map(params![after, CHUNK, lookback.max(1)], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let Some((last, _)) = chunk.last() else { break };
                after = last.clone();
                let mut delete =
                    tx.prepare_cached("DELETE FROM sync_pending_jobs WHERE job_id = ?")?;
                let mut claim =
                    tx.prepare_cached("UPDATE sync_pending_jobs SET claimed = 1 WHERE job_id = ?")?;
                for (id, obsolete) in chunk {
                    if obsolete {
                        delete.execute([&id])?;
                    } else {
                        claim.execute([&id])?;
                        pending.push(id);
                    }
                }
            }
            tx.commit()?;
            Ok(pending)
        })();
        res.map_err(|e| self.err(e))
    }

    /// Clears the claimed entries of jobs just re-read (their rows written
    /// before this call): the read followed every action queued before
    /// the claim. An entry queued again since is no longer claimed and
    /// stays for the next run.
    pub fn jobs_reread(&mut self, ids: &[String]) -> Result<(), StoreError> {
        self.queued.forget();
        let res = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction()?;
            {
                let mut clear = tx.prepare_cached(
                    "DELETE FROM sync_pending_jobs WHERE job_id = ? AND claimed = 1",
                )?;
                for id in ids {
                    clear.execute([id])?;
                }
            }
            tx.commit()
        })();
        res.map_err(|e| self.err(e))
    }

    /// Marks rows of the completely listed tables that this run did not
    /// see, and takes the announced changes each listing covered off its
    /// count (in the same transaction: a run killed before its mirror
    /// leaves them due, so the next run lists again and mirrors).
    pub fn mirror(
        &mut self,
        resources: &[Resource],
        run_id: RunId,
        at: i64,
    ) -> Result<(), StoreError> {
        let res = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction()?;
            for r in resources {
                let table = &SCHEMA.table(r.table()).name;
                let n = tx.execute(
                    &format!(
                        "UPDATE {t} SET removed_at = ?1, {UPD_RUN} = ?2 WHERE removed_at IS NULL \
                         AND ({SEEN_RUN} IS NULL OR {SEEN_RUN} <> ?2)",
                        t = table
                    ),
                    params![iso(at), run_id],
                )?;
                tx.execute(
                    "UPDATE sync_state SET relist_due = MAX(relist_due - relist_covered, 0),
                       relist_covered = 0 WHERE resource = ?",
                    [r.path()],
                )?;
                self.counts.entry(table.clone()).or_default().removed += n as u64;
                if n > 0 {
                    self.changed.mark(r.table());
                }
            }
            self.changed.record(&tx, run_id)?;
            tx.commit()
        })();
        if res.is_err() {
            self.changed.forget_fresh();
        }
        res.map_err(|e| self.err(e))
    }

    /// Forgets watermarks (all, or one resource's) so the next run re-reads.
    pub fn reset_state(&mut self, resource: Option<Resource>) -> Result<usize, StoreError> {
        let n = match resource {
            Some(r) => self
                .conn
                .execute("DELETE FROM sync_state WHERE resource = ?", [r.path()]),
            None => self.conn.execute("DELETE FROM sync_state", []),
        };
        n.map_err(|e| self.err(e))
    }

    /// Each resource's state, for `state show`.
    pub fn state_rows(&self) -> Result<Vec<StateRow>, StoreError> {
        let res = (|| -> rusqlite::Result<Vec<StateRow>> {
            let mut stmt = self.conn.prepare(
                "SELECT resource, watermark_at, listed_at, updated_at FROM sync_state ORDER BY resource",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(StateRow {
                        resource: r.get(0)?,
                        watermark: r.get(1)?,
                        listed_at: r.get(2)?,
                        updated_at: r.get(3)?,
                    })
                })?
                .collect();
            rows
        })();
        res.map_err(|e| self.err(e))
    }

    /// Jobs not marked deleted: about what a listing of every job returns
    /// (a run estimates the cost of re-listing jobs from it).
    pub fn live_jobs(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM jobs WHERE deleted_at IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }
}
