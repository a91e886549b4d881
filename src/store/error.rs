//! What can go wrong with the state database, with the file it concerns.
//! Each message states SQLite's cause once (no chained source repeats it)
//! and says what to do when there is something to do.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open SQLite database {path}: {error}")]
    Open {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("cannot create directory {path} for the database: {error}")]
    Dir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("SQLite error in {path}: {error}")]
    Sql {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("no space left for {path} ({why}): nothing was lost (what was committed stays, the failed write was undone); make room and run again, the next run continues from there")]
    NoSpace { path: PathBuf, why: &'static str },
    #[error("{path} was written by a newer huntr-sync (state schema version {found}; this one knows up to {known}): upgrade huntr-sync, or sync into a new destination")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{path} was last written by an older huntr-sync (state schema version {found}; this one reads {known}): run `huntr-sync sync` once to upgrade it, then read it again")]
    Older {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

impl StoreError {
    /// A failed statement on `path`; `errno` is the system's error of the
    /// connection's last failed I/O. SQLite's "database or disk is full",
    /// and a write refused for want of space (a quota, a file size limit),
    /// become [`StoreError::NoSpace`].
    pub fn sqlite(path: &Path, error: rusqlite::Error, errno: i32) -> StoreError {
        use rusqlite::ErrorCode;
        let why = match error.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Some("the disk is full"),
            Some(ErrorCode::SystemIoFailure) => no_space_why(errno),
            _ => None,
        };
        match why {
            Some(why) => StoreError::NoSpace {
                path: path.to_owned(),
                why,
            },
            None => StoreError::Sql {
                path: path.to_owned(),
                error,
            },
        }
    }
}

/// Why a write was refused for want of space, from the system's error
/// number; `None` for any other failure. Shared by every writer of files,
/// so a full disk reads the same whatever was being written.
pub fn no_space_why(errno: i32) -> Option<&'static str> {
    match errno {
        libc::ENOSPC => Some("the disk is full"),
        libc::EDQUOT => Some("the disk quota is used up"),
        libc::EFBIG => Some("the file size limit is reached"),
        _ => None,
    }
}
