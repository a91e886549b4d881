//! What the status page shows, read from the state database: the newest
//! runs, each resource's freshness, rows per table, recent errors and
//! pushes. Everything here is data; `html` decides how it looks.

use crate::store::{PushRecord, RunRecord, Store, StoreError};
use crate::timefmt::parse_iso;

use super::{MAX_LISTED, MAX_RUNS};

/// One resource's freshness (unix seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Freshness {
    pub resource: String,
    /// Everything created before this was read.
    pub watermark: Option<i64>,
    /// The last complete listing.
    pub listed: Option<i64>,
    /// The last change of this resource's state.
    pub updated: Option<i64>,
}

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
    pub freshness: Vec<Freshness>,
    /// Rows per table, in the schema's order.
    pub tables: Vec<(String, i64)>,
    /// Runs that ended with an error, newest first.
    pub errors: Vec<RunRecord>,
    pub pushes: Vec<PushRecord>,
}

/// Reads what the page shows from `store`, as of `now`.
pub fn gather(store: &Store, title: &str, now: i64) -> Result<StatusData, StoreError> {
    let freshness = store
        .state_rows()?
        .into_iter()
        .map(|r| Freshness {
            resource: r.resource,
            watermark: r.watermark.as_deref().and_then(parse_iso),
            listed: r.listed_at.as_deref().and_then(parse_iso),
            updated: r.updated_at.as_deref().and_then(parse_iso),
        })
        .collect();
    let last_session = store.recent_runs(1, true)?.pop();
    Ok(StatusData {
        title: title.to_owned(),
        now,
        runs: store.recent_runs(MAX_RUNS, false)?,
        last_success: store.last_success()?,
        last_session,
        freshness,
        tables: store.row_counts()?,
        errors: store.recent_errors(MAX_LISTED)?,
        pushes: store.recent_pushes(MAX_LISTED)?,
    })
}
