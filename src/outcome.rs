//! How the last `sync` or `push` ended, kept in a small JSON file beside
//! the state database (`<state>.last-run`). A run can fail before it
//! opens the state (the API unreachable, the token refused, another run
//! holding the lock), and then `sync_runs` has no row for it; this file
//! has. `status` and the notifications read it. It is written only
//! beside a state database that exists: a run that created nothing
//! leaves nothing behind.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The last run's end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    /// `sync` or `push`.
    pub command: String,
    /// `complete`, `partial` or `failed`.
    pub status: String,
    /// When it ended, in unix seconds.
    pub finished: i64,
    pub exit_code: u8,
    /// Its error line, if it failed or was incomplete.
    pub error: Option<String>,
}

/// The file beside `state_db`.
pub fn path(state_db: &Path) -> PathBuf {
    let mut s = state_db.as_os_str().to_owned();
    s.push(".last-run");
    PathBuf::from(s)
}

/// The last run's end, if one was recorded (and is readable).
pub fn read(state_db: &Path) -> Option<LastRun> {
    let text = std::fs::read_to_string(path(state_db)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Records `last` beside `state_db`, when the state database exists.
pub fn write(state_db: &Path, last: &LastRun) {
    if !state_db.exists() {
        return;
    }
    let text = serde_json::to_string(last).unwrap_or_default();
    if let Err(e) = crate::metrics::write_atomic(&path(state_db), &text) {
        tracing::warn!("cannot record how the run ended: {}", e.error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_only_beside_an_existing_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let last = LastRun {
            command: "sync".into(),
            status: "failed".into(),
            finished: 5,
            exit_code: 1,
            error: Some("boom".into()),
        };
        write(&db, &last);
        assert_eq!(read(&db), None);
        std::fs::write(&db, "").unwrap();
        write(&db, &last);
        assert_eq!(read(&db), Some(last));
    }
}
