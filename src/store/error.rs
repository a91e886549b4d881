//! What can go wrong with the state database, with the file it concerns.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open SQLite database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create directory {path} for the database: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SQLite error in {path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path} was written by a newer huntr-sync (state schema version {found}; this one knows up to {known}): upgrade huntr-sync, or sync into a new destination")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}
