//! What a sync may ask of its writer between batches ([`Writer::call`]):
//! how far each resource was read, the mirror of a complete listing, and
//! the jobs and candidates to read again. Only this view crosses to the
//! fetchers, never the whole [`Store`].
//!
//! [`Writer::call`]: super::Writer::call

use std::collections::HashSet;

use super::{RunId, Store, StoreError};
use crate::resources::Resource;

/// The store as a sync's fetchers see it.
pub struct SyncState<'s> {
    store: &'s mut Store,
}

impl Store {
    pub(super) fn sync_state(&mut self) -> SyncState<'_> {
        SyncState { store: self }
    }
}

impl SyncState<'_> {
    /// See [`Store::watermark`].
    pub fn watermark(&self, resource: Resource) -> Result<Option<i64>, StoreError> {
        self.store.watermark(resource)
    }

    /// See [`Store::listing`].
    pub fn listing(&self, resource: Resource) -> Result<(Option<i64>, i64), StoreError> {
        self.store.listing(resource)
    }

    /// See [`Store::listing_leaves_unseen`].
    pub fn listing_leaves_unseen(
        &self,
        resource: Resource,
        run_id: RunId,
        ids: &HashSet<String>,
    ) -> Result<bool, StoreError> {
        self.store.listing_leaves_unseen(resource, run_id, ids)
    }

    /// See [`Store::marks`]: read here, after the writer committed what
    /// it applied, they describe the committed tables.
    pub fn marks(&self) -> super::Marks {
        self.store.marks()
    }

    /// See [`Store::mirror`].
    pub fn mirror(
        &mut self,
        resources: &[Resource],
        run_id: RunId,
        at: i64,
    ) -> Result<(), StoreError> {
        self.store.mirror(resources, run_id, at)
    }

    /// See [`Store::pending_jobs`].
    pub fn pending_jobs(&mut self, lookback: i64) -> Result<Vec<String>, StoreError> {
        self.store.pending_jobs(lookback)
    }

    /// See [`Store::jobs_reread`].
    pub fn jobs_reread(&mut self, ids: &[String]) -> Result<(), StoreError> {
        self.store.jobs_reread(ids)
    }

    /// See [`Store::live_jobs`].
    pub fn live_jobs(&self) -> Result<u64, StoreError> {
        self.store.live_jobs()
    }

    /// See [`Store::candidates_to_read`].
    pub fn candidates_to_read(&self, all: bool) -> Result<Vec<String>, StoreError> {
        self.store.candidates_to_read(all)
    }
}
