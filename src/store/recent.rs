//! A cache of the nested snapshots written lately, so that re-applying an
//! identical one (the same advisor or employer inside thousands of actions)
//! costs a hash lookup instead of an upsert.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::rows::hash::hash_text;
use crate::rows::Row;
use crate::schema::{Table, TableId};

/// The nested snapshots applied lately, per row: the same advisor or
/// employer arrives inside thousands of actions, and re-applying an
/// identical snapshot changes nothing. Any other write to the row forgets
/// its entry, so skipping never changes the result.
#[derive(Default)]
pub struct Recent {
    /// Hash of (table, key) to the hash of the row last written.
    current: HashMap<u64, u64, BuildHasherDefault<Prehashed>>,
    /// The generation before `current`, still consulted: a full map is not
    /// simply cleared, or the busiest rows would be forgotten with the rest.
    previous: HashMap<u64, u64, BuildHasherDefault<Prehashed>>,
    /// The tables (bit per table id) that ever had an entry: a write to
    /// any other table has nothing to forget, and skips hashing its key
    /// and probing both maps (in a backfill: every action, for nothing).
    tables: u64,
}

/// Entries per generation (about 16 bytes each; two generations, so
/// 7 MiB at most). Large enough to span the actions between two mentions
/// of a busy job.
const RECENT_MAX: usize = 200_000;

impl Recent {
    pub fn key(t: &Table, row: &Row) -> Option<u64> {
        match t.key.as_slice() {
            [one] => row.vals[t.col(one)]
                .as_str()
                .map(|k| Self::slot(row.table, k)),
            _ => None,
        }
    }
    pub fn slot(table: TableId, key: &str) -> u64 {
        hash_text(key) ^ (table as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    /// True when this exact snapshot was the last write to its row.
    pub fn seen(&mut self, t: &Table, row: &Row) -> bool {
        let Some(key) = Self::key(t, row) else {
            return false;
        };
        self.tables |= Self::bit(row.table);
        let hash = row.fingerprint();
        if self.current.len() >= RECENT_MAX {
            self.previous = std::mem::take(&mut self.current);
        }
        let before = match self.current.insert(key, hash) {
            Some(h) => Some(h),
            None => self.previous.remove(&key),
        };
        before == Some(hash)
    }
    /// Forgets the entry of the row with `key` in `table`; `key` is
    /// called only when the table may have one. True when there was one:
    /// a snapshot of the row was written lately, so the row is stored.
    pub fn forget(&mut self, table: TableId, key: impl FnOnce() -> Option<u64>) -> bool {
        if self.tables & Self::bit(table) == 0 {
            return false;
        }
        let Some(key) = key() else { return false };
        let current = self.current.remove(&key).is_some();
        self.previous.remove(&key).is_some() || current
    }
    /// A table's bit in `tables` (ids past 63 share the last one).
    fn bit(table: TableId) -> u64 {
        1 << table.min(63)
    }
}

/// The keys of [`Recent`] are hashes already: hashing them again is waste.
#[derive(Default)]
pub(super) struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
