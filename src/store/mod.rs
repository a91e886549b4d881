//! The store: the destination's state database and everything written to
//! it. It is the only code that speaks SQL to that file.
//!
//! A SQLite destination's tables live in it; a Parquet (or any other)
//! destination keeps its merge state in one and publishes from it (see
//! `crate::destination`). WAL mode and a busy timeout let a BI tool read
//! while a sync writes. The file holds, besides the contract tables:
//! `sync_state` (watermarks, last complete listings), `sync_runs` (one row
//! per run), `sync_pending_jobs` (jobs changed by actions, to re-read),
//! `sync_table_changes` (the last run that changed each table) and
//! `sync_published` (what each publisher last wrote), at the schema
//! version [`migrate::LATEST`].
//!
//! Modules: `migrate` (versions), `sql` (generated merge SQL), `bind` (a
//! row's parameters), `apply` (a batch in one transaction), `recent`
//! (snapshot cache), `runs` (run bookkeeping and summary), `history`
//! (past runs, pushes and resource states: what the status page,
//! `status` and the metrics read back), `state`
//! (watermarks, listings, pending jobs), `read` (what publishers may
//! read), `writer` (the single writer thread that sync and webhook share),
//! `lock` (one writer per destination), `views` (the outcome views).

mod apply;
mod bind;
mod candidates;
mod error;
mod history;
pub mod lock;
pub mod migrate;
mod push_log;
mod read;
mod recent;
mod runs;
mod sql;
mod state;
mod sync_state;
mod views;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::resources::Resource;
use crate::rows::Op;
use crate::schema::SCHEMA;
use crate::timefmt::now_unix;
use apply::{Changed, Ledger, Queued};
use recent::Recent;
use sql::TableSql;

pub use apply::Marks;
pub use error::{no_space_why, StoreError};
pub use history::{PushRecord, ResourceState, RunRecord};
pub use lock::{DestLock, LockError};
pub use push_log::{Journal, WriteState};
pub use read::{Cell, Rows, Tables};
pub use runs::{RunEnd, RunStatus};
pub use state::StateRow;
pub use sync_state::SyncState;
pub use writer::{Writer, WriterConfig, WriterGone, WriterThread};

/// The page size of a new state file.
const PAGE_SIZE: i64 = 16_384;
/// WAL bytes between automatic checkpoints.
const WAL_CHECKPOINT_BYTES: i64 = 40 << 20;

/// A run's id in `sync_runs`.
pub type RunId = i64;

/// Sync-state change committed atomically with a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum StateUpdate {
    /// Every record created before `value` has been loaded for `resource`.
    Watermark { resource: Resource, value: i64 },
    /// `resource` was listed completely in this run. `due`: the count of
    /// announced changes (`sync_state.relist_due`) read before the listing
    /// began, which it covers; the run's mirror takes them off the count
    /// (`Store::mirror`), so changes announced while the listing was read
    /// stay due.
    Listed { resource: Resource, due: i64 },
}

/// Counters kept for the run summary.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TableCounts {
    /// Rows created by the run.
    pub inserted: u64,
    /// Existing rows whose values the run changed.
    pub updated: u64,
    /// Rows the run marked deleted (`deleted_at`).
    pub deleted: u64,
    /// Rows the run marked removed (`removed_at`): no longer listed.
    pub removed: u64,
}

/// An open state database; the only writer of its file during a run.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    sql: Vec<TableSql>,
    /// Per-table counters of the current run.
    counts: BTreeMap<String, TableCounts>,
    recent: Recent,
    changed: Changed,
    queued: Queued,
}

/// The lock file guarding a state database.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

impl Store {
    /// Opens (creating it and its directory when missing) and migrates.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::Dir {
                path: dir.to_owned(),
                error,
            })?;
        }
        let conn = Connection::open(path).map_err(|error| StoreError::Open {
            path: path.to_owned(),
            error,
        })?;
        let mut store = Store::over(conn, path);
        store.configure().map_err(|e| store.err(e))?;
        match migrate::upgrade(&mut store.conn, &SCHEMA).map_err(|e| store.err(e))? {
            migrate::Upgrade::From(_) => Ok(store),
            migrate::Upgrade::TooNew(found) => Err(StoreError::TooNew {
                path: path.to_owned(),
                found,
                known: migrate::LATEST,
            }),
        }
    }

    /// Opens an existing state database for reading only: nothing is
    /// created, migrated or written (`export`, `state show`), so a reading
    /// command works beside a sync and leaves the file as it found it. A
    /// file of another version is refused with what to do.
    pub fn open_read(path: &Path) -> Result<Store, StoreError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|error| StoreError::Open {
            path: path.to_owned(),
            error,
        })?;
        let store = Store::over(conn, path);
        store
            .conn
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| store.err(e))?;
        let found = migrate::version(&store.conn).map_err(|e| store.err(e))?;
        let known = migrate::LATEST;
        if found > known {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found,
                known,
            });
        }
        if found < known {
            return Err(StoreError::Older {
                path: path.to_owned(),
                found,
                known,
            });
        }
        Ok(store)
    }

    /// A store over an open connection, with nothing cached yet.
    fn over(conn: Connection, path: &Path) -> Store {
        Store {
            conn,
            path: path.to_owned(),
            sql: SCHEMA.tables.iter().map(sql::table_sql).collect(),
            counts: BTreeMap::new(),
            recent: Recent::default(),
            changed: Changed::default(),
            queued: Queued::default(),
        }
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, error: rusqlite::Error) -> StoreError {
        // SAFETY: the handle is this store's open connection, used on this
        // thread; reading its last system error changes nothing.
        let errno = unsafe { rusqlite::ffi::sqlite3_system_errno(self.conn.handle()) };
        StoreError::sqlite(&self.path, error, errno)
    }

    fn configure(&mut self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // 16 KiB pages in a new file (an existing one keeps its size): a
        // backfill's rows are hundreds of bytes (an action about 500), and
        // at 4 KiB the B-trees split pages and the WAL framed them four
        // times as often. Measured at scale 2,000: 7% less CPU.
        self.conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        let page_size: i64 = self
            .conn
            .pragma_query_value(None, "page_size", |r| r.get(0))?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 16 MiB of pages: snapshot upserts look rows up at random.
        self.conn.pragma_update(None, "cache_size", -16_384)?;
        // Checkpoint every 40 MiB of WAL instead of 4 MiB: a page that
        // a sync dirties again and again (an index's inner pages, a busy
        // job) is copied into the file far less often. Measured on a
        // million-action backfill: 30% less CPU (README "Performance").
        self.conn
            .pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_BYTES / page_size)?;
        self.conn.set_prepared_statement_cache_capacity(256);
        Ok(())
    }

    /// Every commit reaches the disk before it returns (the webhook
    /// receiver answers 200 only then); syncs keep the faster default.
    pub fn set_durable(&mut self) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| self.err(e))
    }

    /// Applies a batch and its state change in one transaction.
    pub fn apply(
        &mut self,
        ops: &[Op],
        run_id: RunId,
        state: Option<&StateUpdate>,
    ) -> Result<(), StoreError> {
        self.apply_all(&[(ops, state)], run_id)
    }

    /// Applies several batches, each with its state change, in one
    /// transaction (a group commit): all of them land or none.
    pub fn apply_all(
        &mut self,
        batches: &[(&[Op], Option<&StateUpdate>)],
        run_id: RunId,
    ) -> Result<(), StoreError> {
        self.apply_open(batches, run_id)?;
        self.commit_open()
    }

    /// Applies batches inside the open transaction, opening one if none
    /// is: a sync's writer commits several pages at once (see `writer`).
    /// On an error everything since the last commit rolls back.
    pub fn apply_open(
        &mut self,
        batches: &[(&[Op], Option<&StateUpdate>)],
        run_id: RunId,
    ) -> Result<(), StoreError> {
        let res = (|| -> rusqlite::Result<()> {
            if self.conn.is_autocommit() {
                self.conn.execute_batch("BEGIN")?;
            }
            for (ops, state) in batches {
                let ledger = Ledger {
                    sql: &self.sql,
                    run_id,
                    counts: &mut self.counts,
                    recent: &mut self.recent,
                    changed: &mut self.changed,
                    queued: &mut self.queued,
                };
                apply::apply_ops(&self.conn, ledger, ops)?;
                if let Some(state) = state {
                    state::write_state(&self.conn, state, now_unix())?;
                }
            }
            self.changed.record(&self.conn, run_id)
        })();
        res.map_err(|e| {
            let e = self.err(e);
            self.roll_back();
            e
        })
    }

    /// Commits the transaction [`Store::apply_open`] opened, if any.
    pub fn commit_open(&mut self) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => {
                self.changed.committed();
                Ok(())
            }
            Err(e) => {
                let e = self.err(e);
                self.roll_back();
                Err(e)
            }
        }
    }

    /// Abandons the open transaction: what it applied is not there, so
    /// the caches that describe the file forget it too.
    fn roll_back(&mut self) {
        // A failed statement may have ended the transaction already.
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.recent = Recent::default();
        self.changed.forget_fresh();
        self.queued.forget();
    }

    /// Remembers the re-reads this store queues, to skip queuing them
    /// again (a sync's store: see [`apply::Queued`]).
    pub fn remember_queued_jobs(&mut self) {
        self.queued.enable();
    }

    /// How often each table changed so far (see [`Marks`]).
    pub fn marks(&self) -> Marks {
        self.changed.marks().clone()
    }

    /// The current run's per-table counters, for its report.
    pub fn take_counts(&mut self) -> BTreeMap<String, TableCounts> {
        std::mem::take(&mut self.counts)
    }
}

#[cfg(test)]
mod reread_tests;
#[cfg(test)]
mod tests;
