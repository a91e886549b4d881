//! What the status page shows, read from the state database: the newest
//! runs, each resource's freshness, rows per table, recent errors and
//! pushes. Everything here is data; `html` decides how it looks.

use crate::store::{PushRecord, ResourceState, RunRecord, Store, StoreError};

use super::{MAX_LISTED, MAX_RUNS};

/// Everything the page shows.
#[derive(Debug, Clone, Default)]
pub struct StatusData {
    /// Names the pipeline or destination.
    pub title: String,
    /// When the data was read (unix seconds); ages are counted from it.
    pub now: i64,
    /// Syncs and pushes, newest first, at most [`MAX_RUNS`] (a webhook
    /// receiver's sessions are counted apart).
    pub runs: Vec<RunRecord>,
    pub last_success: Option<RunRecord>,
    /// A webhook receiver's newest session, if any.
    pub last_session: Option<RunRecord>,
    /// Each resource's watermark and last complete listing.
    pub freshness: Vec<ResourceState>,
    /// Rows per table, in the schema's order.
    pub tables: Vec<(String, i64)>,
    /// Runs that ended with an error, newest first.
    pub errors: Vec<RunRecord>,
    pub pushes: Vec<PushRecord>,
}

/// Reads what the page shows from `store`, as of `now`.
pub fn gather(store: &Store, title: &str, now: i64) -> Result<StatusData, StoreError> {
    let last_session = store.recent_runs(1, true)?.pop();
    Ok(StatusData {
        title: title.to_owned(),
        now,
        runs: store.recent_runs(MAX_RUNS, false)?,
        last_success: store.last_success()?,
        last_session,
        freshness: store.resource_states()?,
        tables: store.row_counts()?,
        errors: store.recent_errors(MAX_LISTED)?,
        pushes: store.recent_pushes(MAX_LISTED)?,
    })
}
