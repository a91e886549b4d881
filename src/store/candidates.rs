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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::flatten::{self, Op};
    use crate::resources::Resource;
    use crate::store::Store;

    fn ops(f: impl FnOnce(&mut Vec<Op>)) -> Vec<Op> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn new_and_viewed_candidates_are_read_the_others_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = Store::open(&dir.path().join("t.db")).unwrap();
        let listed = ops(|o| {
            for id in ["c1", "c2"] {
                flatten::flatten(Resource::Candidates, &json!({"id": id}), 100, o);
            }
        });
        d.apply(&listed, 1, None).unwrap();
        assert_eq!(d.candidates_to_read(false).unwrap(), ["c1", "c2"]);
        let read = ops(|o| {
            for id in ["c1", "c2"] {
                flatten::candidate_profile(&json!({"id": id, "headline": "h"}), 100, o);
            }
        });
        d.apply(&read, 1, None).unwrap();
        assert!(d.candidates_to_read(false).unwrap().is_empty());
        assert_eq!(d.candidates_to_read(true).unwrap(), ["c1", "c2"]);
        // A view dated after the read (and one before it, of c1).
        let views = ops(|o| {
            for (id, c, date) in [("a1", "c2", 150), ("a2", "c1", 50)] {
                let a = json!({"id": id, "actionType": "CANDIDATE_PROFILE_VIEWED",
                               "date": date, "candidate": {"id": c}});
                flatten::flatten(Resource::Actions, &a, 200, o);
            }
        });
        d.apply(&views, 2, None).unwrap();
        assert_eq!(d.candidates_to_read(false).unwrap(), ["c2"]);
        let reread = ops(|o| flatten::candidate_profile(&json!({"id": "c2"}), 200, o));
        d.apply(&reread, 2, None).unwrap();
        assert!(d.candidates_to_read(false).unwrap().is_empty());
    }
}
