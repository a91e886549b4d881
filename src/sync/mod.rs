//! One sync run: fetch every selected resource concurrently, flatten, and
//! hand batches to the store's single writer (docs/SYNC_MODEL.md says how
//! a sync behaves); then the run lifecycle publishes the store.
//!
//! - The run's upper bound `T` is the server's clock at the first answer.
//! - Listed resources are read in full; once a listing is complete the
//!   destination mirrors it (rows not seen get `removed_at`) at run end.
//!   A short page still carrying `next` ends a listing when nothing
//!   would be removed (`run::Run::nothing_unseen`). Job posts and goals,
//!   which actions announce every change of, are listed after the
//!   actions and only when one was announced (or a week has passed).
//! - Windowed resources read `[watermark - lookback, T)`; the new watermark
//!   `T` commits in the same transaction as the window's last page.
//! - Change capture: loading an action records what it implies (deletions,
//!   notes, contacts, activity snapshots, jobs to re-read) in the same
//!   transaction; the run ends by re-reading the recorded jobs not read
//!   at least the lookback after their change (a late action's change
//!   may postdate a read made after its date), one by one or, when that
//!   takes fewer requests, by re-listing every job.
//!
//! `run` holds the phases a run's fetchers share (one [`run::Run`]
//! context), `windows` the windowed reading, `refresh` the choice to
//! re-list jobs, and this file the start and end of a run.

mod by_id;
mod candidates;
mod refresh;
mod run;
pub mod windows;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::api::{ApiError, Client};
use crate::destination::PublishError;
pub use crate::destination::Target;
use crate::lifecycle::{Ending, Lifecycle, RunError};
use crate::resources::Resource;
use crate::store::{
    writer, LockError, RunId, RunStatus, Store, StoreError, TableCounts, WriterConfig,
};
use crate::timefmt::now_unix;
use run::{Outcome, Run};

#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub resources: Vec<Resource>,
    pub limit: u32,
    /// Seconds re-read below the watermark, for records that arrive late.
    pub lookback: i64,
    /// Ignore watermarks and read everything again.
    pub full_refresh: bool,
    /// Batches that may wait for the writer.
    pub queue: usize,
    /// Concurrent `GET /jobs/<id>` re-reads.
    pub refresh_concurrency: usize,
    /// Sub-windows of one windowed resource read at once (backfills).
    pub window_concurrency: usize,
    /// Progress bars (off unless the CLI turns them on).
    pub progress: crate::progress::Progress,
    /// Shown every record read (`push` builds its view of the organization
    /// from the run that also brings the destination up to date).
    pub seen: Option<Seen>,
    /// How long to wait for another run holding the destination.
    pub wait: std::time::Duration,
}

/// What [`Seen`] calls with each record and its resource.
pub type SeenFn = dyn Fn(Resource, &crate::json::Node) + Send + Sync;

/// A function shown each record a run reads, with its resource.
#[derive(Clone)]
pub struct Seen(pub std::sync::Arc<SeenFn>);

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seen(..)")
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            resources: Resource::ALL.to_vec(),
            limit: crate::defaults::PAGE_LIMIT,
            lookback: crate::defaults::LOOKBACK_SECONDS,
            full_refresh: false,
            queue: crate::defaults::SYNC_QUEUE,
            refresh_concurrency: crate::defaults::BY_ID_CONCURRENCY,
            window_concurrency: crate::defaults::WINDOW_CONCURRENCY,
            progress: Default::default(),
            seen: None,
            wait: std::time::Duration::ZERO,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Destination(#[from] StoreError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("the destination writer stopped unexpectedly")]
    WriterGone,
}

impl From<RunError> for SyncError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Lock(e) => SyncError::Lock(e),
            RunError::Store(e) => SyncError::Destination(e),
            RunError::Publish(e) => SyncError::Publish(e),
        }
    }
}

impl From<crate::store::WriterGone> for SyncError {
    fn from(_: crate::store::WriterGone) -> Self {
        SyncError::WriterGone
    }
}

/// What a run did; also stored in `sync_runs`.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub run_id: RunId,
    pub status: RunStatus,
    /// Resources that could not be completed, with the reason.
    pub incomplete: BTreeMap<String, String>,
    /// Optional endpoints skipped because the organization's API does not
    /// serve them (404, or 403 for a product it has not bought), with the
    /// status; the run is complete without them.
    pub skipped: BTreeMap<String, String>,
    pub tables: BTreeMap<String, TableCounts>,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub jobs_reread: u64,
    /// Pages read by re-listing every job, when that was cheaper than
    /// re-reading the changed ones (0 otherwise).
    pub jobs_relist_pages: u64,
    /// Tables (re)published by this run's publishers.
    pub published: Vec<String>,
    /// Rows written to the changes export.
    pub changes_exported: u64,
    pub window_end: i64,
    pub seconds: f64,
}

impl SyncReport {
    pub fn complete(&self) -> bool {
        self.incomplete.is_empty()
    }
}

/// Syncs the organization behind `client` into the SQLite file `db`.
pub async fn sync_sqlite(
    client: &Client,
    db: &Path,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    sync(client, &Target::sqlite(db), opts).await
}

/// Syncs the organization behind `client` into `target`.
pub async fn sync(
    client: &Client,
    target: &Target,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    crate::api::check_limit(opts.limit)?;
    // The first answer fixes T and proves the token before anything is
    // created: a refused token leaves no file behind.
    let probe = Resource::ActivityCategories;
    let (first, _) = crate::api::pager::get_page(client, probe.path(), &[]).await?;
    let t = first.date.unwrap_or_else(now_unix);
    let names: Vec<&str> = opts.resources.iter().map(|r| r.path()).collect();
    let (life, mut store) = Lifecycle::begin(target, &names.join(","), opts.wait).await?;
    let run_id = life.run_id();
    tracing::info!(
        "run {run_id}: syncing {} into {} up to {} (the server's clock)",
        names.join(", "),
        target.describe(),
        crate::timefmt::iso(t)
    );
    store.remember_queued_jobs();
    let (writer, thread) = writer::spawn(store, WriterConfig::sync(run_id, opts.queue));
    let ahead = |marks, later| life.publish_ahead(marks, later);
    let run = Run {
        client,
        writer,
        t,
        id: run_id,
        opts,
        relist_pages: Default::default(),
        ahead: life
            .publishes_ahead()
            .then_some(&ahead as &run::PublishAhead),
    };
    let outcome = run.fetch_all(probe, first).await;
    let (store, write_err) = thread.join();
    finish(life, store, outcome, write_err, started).await
}

/// Publishes (what a partial run committed is current too), records how
/// the run ended, and reports.
async fn finish(
    life: Lifecycle,
    store: Store,
    mut outcome: Outcome,
    write_err: Option<StoreError>,
    started: Instant,
) -> Result<SyncReport, SyncError> {
    let (requests, retries, throttled) = outcome.stats;
    let status = match (&outcome.fatal, &write_err, outcome.incomplete.is_empty()) {
        (None, None, true) => RunStatus::Complete,
        (None, None, false) => RunStatus::Partial,
        _ => RunStatus::Failed,
    };
    let ending = Ending {
        status,
        window_end: Some(outcome.t),
        requests,
        retries,
        throttled,
        error: outcome.error_text(write_err.as_ref()),
        publish: write_err.is_none(),
    };
    let mut ended = life.end(store, ending).await;
    ended.recorded?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    if let Some(e) = outcome.fatal.take() {
        return Err(e);
    }
    let published = ended.published?;
    Ok(SyncReport {
        run_id: outcome.run_id,
        status: ended.status,
        incomplete: outcome.incomplete,
        skipped: outcome.skipped,
        tables: ended.store.take_counts(),
        requests,
        retries,
        throttled,
        jobs_reread: outcome.jobs_reread,
        jobs_relist_pages: outcome.jobs_relist_pages,
        published: published.tables,
        changes_exported: published.changes_exported,
        window_end: outcome.t,
        seconds: started.elapsed().as_secs_f64(),
    })
}
