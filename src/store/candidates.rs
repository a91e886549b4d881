//! Which candidates a run reads one by one. `/candidates` lists the
//! lean fields only; the full profile and the action metrics take one
//! request each per candidate, so a run reads them only for a candidate
//! that is new (no profile stored yet) or that an action (a
//! CANDIDATE_PROFILE_VIEWED, by a sync or a webhook) named at or after
//! its profile was last read: a view is what changes the metrics. The API
//! announces no profile edit, so a profile is as of its last such read
//! (or of the last `--full-refresh`, which reads every candidate).

use super::{Store, StoreError};

impl Store {
    /// The listed candidates to read again (every one when `all`), in id
    /// order. One pass over the actions naming a candidate (grouped), not
    /// one per candidate.
    pub fn candidates_to_read(&self, all: bool) -> Result<Vec<String>, StoreError> {
        let sql = "WITH named AS ( \
                 SELECT candidate_id AS id, \
                        MAX(CAST(strftime('%s', COALESCE(date, created_at)) AS INTEGER)) AS last \
                 FROM actions WHERE candidate_id IS NOT NULL GROUP BY candidate_id) \
             SELECT c.id FROM candidates c \
             LEFT JOIN candidate_profiles p ON p.id = c.id \
             LEFT JOIN named n ON n.id = c.id \
             WHERE c.removed_at IS NULL \
               AND (?1 OR p.id IS NULL OR p._full = 0 OR n.last >= p._as_of) \
             ORDER BY c.id";
        let res = (|| -> rusqlite::Result<Vec<String>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([all], |r| r.get(0))?;
            rows.collect()
        })();
        res.map_err(|e| self.err(e))
    }
}
