//! The journal of `push` (`push_log`): every write is recorded as
//! `sending` before its request leaves, and as `sent`, `unknown` or
//! `failed` once it is answered, each in its own commit. After a crash the
//! entries still `sending` or `unknown` are the writes whose fate is in
//! doubt; the next push looks for them in the API's listings before it
//! sends anything again.

use rusqlite::params;

use super::{Store, StoreError};
use crate::timefmt::{iso, now_unix};

/// Where one write stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteState {
    /// Recorded before sending; no answer yet.
    Sending,
    /// Answered with success, or found applied in a listing.
    Sent,
    /// No usable answer (timeout, dropped connection, 5xx): it may have
    /// been applied.
    Unknown,
    /// Refused by the API, or given up on while certainly not applied.
    Failed,
}

impl WriteState {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteState::Sending => "sending",
            WriteState::Sent => "sent",
            WriteState::Unknown => "unknown",
            WriteState::Failed => "failed",
        }
    }
}

/// One push's handle on the journal.
#[derive(Debug, Clone)]
pub struct Journal {
    pub run: i64,
    pub kind: String,
}

impl Store {
    /// Starts a push of `kind` (`invitations`, `field-values`, `fields`):
    /// a new run number in the journal.
    pub fn journal(&self, kind: &str) -> Result<Journal, StoreError> {
        let run: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(run), 0) + 1 FROM push_log", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))?;
        Ok(Journal {
            run,
            kind: kind.to_owned(),
        })
    }

    /// Records that the write `key` (input line `line`) is about to be
    /// sent; committed before the request leaves.
    pub fn journal_sending(&self, j: &Journal, key: &str, line: usize) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO push_log (run, kind, key, line, state, attempts, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'sending', 1, ?5)
                 ON CONFLICT (run, kind, key) DO UPDATE SET state = 'sending',
                   attempts = attempts + 1, error = NULL, updated_at = ?5",
                params![j.run, j.kind, key, line as i64, iso(now_unix())],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Records how the write `key` ended (in this push, or, for a write in
    /// doubt, in the earlier push `run`).
    pub fn journal_end(
        &self,
        run: i64,
        kind: &str,
        key: &str,
        state: WriteState,
        created_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE push_log SET state = ?, created_id = COALESCE(?, created_id), error = ?,
                   updated_at = ? WHERE run = ? AND kind = ? AND key = ?",
                params![
                    state.as_str(),
                    created_id,
                    error,
                    iso(now_unix()),
                    run,
                    kind,
                    key
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Writes of `kind` from earlier pushes whose fate is in doubt
    /// (`sending` or `unknown`): `(run, key)`.
    pub fn journal_in_doubt(&self, kind: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run, key FROM push_log WHERE kind = ? AND state IN ('sending', 'unknown')
                 ORDER BY run, key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_in_doubt_are_those_sent_without_a_usable_answer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let j = store.journal("invitations").unwrap();
        assert_eq!(j.run, 1);
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            store.journal_sending(&j, key, i + 2).unwrap();
        }
        let end = |key, state, id| store.journal_end(j.run, &j.kind, key, state, id, None);
        end("a", WriteState::Sent, Some("inv1")).unwrap();
        end("b", WriteState::Unknown, None).unwrap();
        end("c", WriteState::Failed, None).unwrap();
        // "d" stays `sending`: killed before its answer.
        let doubt = store.journal_in_doubt("invitations").unwrap();
        assert_eq!(doubt, vec![(1, "b".to_owned()), (1, "d".to_owned())]);
        assert!(store.journal_in_doubt("fields").unwrap().is_empty());
        let entry: (String, Option<String>) = store
            .conn
            .query_row(
                "SELECT state, created_id FROM push_log WHERE run = 1 AND key = 'a'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(entry, ("sent".to_owned(), Some("inv1".to_owned())));
        // The next push gets the next run number; resolving an old entry.
        assert_eq!(store.journal("invitations").unwrap().run, 2);
        store
            .journal_end(1, "invitations", "b", WriteState::Sent, Some("inv2"), None)
            .unwrap();
        assert_eq!(store.journal_in_doubt("invitations").unwrap().len(), 1);
        // Sending again counts the attempt.
        store.journal_sending(&j, "c", 4).unwrap();
        let attempts: i64 = store
            .conn
            .query_row("SELECT attempts FROM push_log WHERE key = 'c'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(attempts, 2);
    }
}
