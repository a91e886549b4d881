//! One sync run: fetch every selected resource concurrently, flatten, and
//! hand batches to the single writer, following DESIGN.md.
//!
//! - The run's upper bound `T` is the server's clock at the first answer.
//! - Listed resources are read in full; once a listing is complete the
//!   destination mirrors it (rows not seen get `removed_at`) at run end.
//! - Windowed resources read `[watermark - lookback, T)`; the new watermark
//!   `T` commits in the same transaction as the window's last page.
//! - Change capture: loading an action records what it implies (deletions,
//!   notes, contacts, activity snapshots, jobs to re-read) in the same
//!   transaction; the run ends by re-reading the recorded jobs.

pub mod windows;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use crate::api::{ApiError, Client, Page, Pager};
use crate::flatten::{self, Op};
use crate::load::sqlite::{RunEnd, SqliteDest, SqliteError};
use crate::load::{StateUpdate, TableCounts};
use crate::lock::{DestLock, LockError};
use crate::resources::{Kind, Resource};
use crate::schema::SCHEMA;
use crate::timefmt::now_unix;
use writer::Writer;

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
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            resources: Resource::ALL.to_vec(),
            limit: 500,
            lookback: 3600,
            full_refresh: false,
            queue: 4,
            refresh_concurrency: 4,
            window_concurrency: 4,
            progress: Default::default(),
        }
    }
}

/// Where a sync writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Sqlite(PathBuf),
    /// A directory of Parquet files; its merge state lives inside it.
    Parquet {
        dir: PathBuf,
        export_changes: bool,
    },
}

impl Target {
    /// The SQLite file that holds the tables and the sync state.
    pub fn state_db(&self) -> PathBuf {
        match self {
            Target::Sqlite(p) => p.clone(),
            Target::Parquet { dir, .. } => crate::load::parquet::state_db(dir),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Destination(#[from] SqliteError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Parquet(#[from] crate::load::parquet::ParquetError),
    #[error("the destination writer stopped unexpectedly")]
    WriterGone,
}

/// What a run did; also stored in `sync_runs`.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub run_id: i64,
    pub status: String,
    /// Resources that could not be completed, with the reason.
    pub incomplete: BTreeMap<String, String>,
    pub tables: BTreeMap<String, TableCounts>,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub jobs_reread: u64,
    /// Parquet tables (re)published by this run.
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

/// The lock file guarding a SQLite destination.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Syncs the organization behind `client` into the SQLite file `db`.
pub async fn sync_sqlite(
    client: &Client,
    db: &Path,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    sync(client, &Target::Sqlite(db.to_owned()), opts).await
}

/// Syncs the organization behind `client` into `target`.
pub async fn sync(
    client: &Client,
    target: &Target,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let db = &target.state_db();
    let started = Instant::now();
    crate::api::check_limit(opts.limit)?;
    // The first answer fixes T and proves the token before anything is
    // created: a refused token leaves no file behind.
    let probe = Resource::ActivityCategories;
    let (first, _) = crate::api::pager::get_page(client, probe.path(), &[]).await?;
    let t = first.date.unwrap_or_else(now_unix);
    let _lock = DestLock::acquire(&lock_path(db))?;
    let mut dest = SqliteDest::open(db)?;
    let names: Vec<&str> = opts.resources.iter().map(|r| r.path()).collect();
    let run_id = dest.begin_run(now_unix(), &names.join(","))?;
    tracing::info!(
        "run {run_id}: syncing {} into {} up to {} (the server's clock)",
        names.join(", "),
        db.display(),
        crate::timefmt::iso(t)
    );
    let (writer, thread) = writer::spawn(dest, opts.queue);
    let ticker = {
        let (progress, stats) = (opts.progress.clone(), client.stats.clone());
        tokio::spawn(async move {
            loop {
                progress.stats(&stats);
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    };

    let mut incomplete = BTreeMap::new();
    let mut listed_done = Vec::new();
    let fetches = opts.resources.iter().map(|&r| {
        let writer = writer.clone();
        let first = (r == probe).then(|| first.clone());
        async move {
            let res = fetch_resource(client, &writer, r, t, run_id, opts, first).await;
            opts.progress.done(r);
            if res.is_ok() {
                tracing::info!("{r}: read to the end");
            }
            (r, res)
        }
    });
    let results: Vec<(Resource, Result<(), SyncError>)> =
        futures_util::future::join_all(fetches).await;
    let mut fatal = None;
    for (r, res) in results {
        match res {
            Ok(()) if r.kind() == Kind::Listed => listed_done.push(r),
            Ok(()) => {}
            Err(SyncError::Api(e @ ApiError::Unauthorized { .. })) => {
                fatal = Some(SyncError::Api(e))
            }
            Err(SyncError::WriterGone) => {
                fatal.get_or_insert(SyncError::WriterGone);
            }
            Err(e) => {
                tracing::warn!("{r}: incomplete: {e}");
                incomplete.insert(r.path().to_owned(), e.to_string());
            }
        }
    }

    let mut jobs_reread = 0;
    if fatal.is_none() {
        match refresh_jobs(client, &writer, t, run_id, opts).await {
            Ok(n) => jobs_reread = n,
            Err(SyncError::Api(e)) => {
                tracing::warn!("re-reading changed jobs: {e}");
                incomplete.insert("jobs (re-read of changed jobs)".into(), e.to_string());
            }
            Err(e) => fatal = Some(e),
        }
    }
    if fatal.is_none() && !listed_done.is_empty() {
        let listed = listed_done.clone();
        let _ = writer.send(move |d| d.mirror(&listed, run_id, t)).await;
    }
    drop(writer);
    ticker.abort();
    opts.progress.clear();
    let (dest, write_err) = thread.join();
    // Parquet: publish what the merge state now holds, even after a
    // partial run (what was committed is current).
    let (mut dest, published) = match (target, &write_err) {
        (
            Target::Parquet {
                dir,
                export_changes,
            },
            None,
        ) => {
            let (dir, export) = (dir.clone(), *export_changes);
            tokio::task::spawn_blocking(move || {
                let res = (|| {
                    let tables = crate::load::parquet::publish(&dest, &dir, run_id)?;
                    let exported = if export {
                        crate::load::parquet::export_changes(&dest, &dir, run_id)?
                    } else {
                        0
                    };
                    Ok::<_, crate::load::parquet::ParquetError>((tables, exported))
                })();
                (dest, Some(res))
            })
            .await
            .expect("publishing thread panicked")
        }
        _ => (dest, None),
    };
    let (published, changes_exported) = match published {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            fatal.get_or_insert(SyncError::Parquet(e));
            (Vec::new(), 0)
        }
        None => (Vec::new(), 0),
    };
    let (requests, retries, throttled) = client.stats.get();
    let status = match (&fatal, &write_err, incomplete.is_empty()) {
        (None, None, true) => "complete",
        (None, None, false) => "partial",
        _ => "failed",
    };
    let error_text = fatal
        .as_ref()
        .map(|e| e.to_string())
        .or_else(|| write_err.as_ref().map(|e| e.to_string()))
        .or_else(|| {
            (!incomplete.is_empty()).then(|| {
                format!(
                    "incomplete: {}",
                    incomplete.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })
        });
    let end = RunEnd {
        finished: now_unix(),
        window_end: Some(t),
        status,
        requests,
        retries,
        error: error_text,
    };
    dest.finish_run(run_id, &end)?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    Ok(SyncReport {
        run_id,
        status: status.to_owned(),
        incomplete,
        tables: std::mem::take(&mut dest.counts),
        requests,
        retries,
        throttled,
        jobs_reread,
        published,
        changes_exported,
        window_end: t,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Flattens a page and queues it, with an optional state change.
async fn load_page(
    writer: &Writer,
    r: Resource,
    page: Page,
    t: i64,
    run_id: i64,
    state: Option<StateUpdate>,
) -> Result<(), SyncError> {
    let mut ops: Vec<Op> = Vec::with_capacity(page.len() * 4);
    for item in page.nodes() {
        match item {
            Ok(node) => flatten::flatten_node(r, &node, t, &mut ops),
            Err(e) => tracing::warn!("{r}: skipped a list item that does not parse: {e}"),
        }
    }
    drop(page);
    flatten::dedup_snapshots(&mut ops);
    writer
        .send(move |d| d.apply(&ops, run_id, state.as_ref(), now_unix()))
        .await
        .map_err(|_| SyncError::WriterGone)
}

async fn fetch_resource(
    client: &Client,
    writer: &Writer,
    r: Resource,
    t: i64,
    run_id: i64,
    opts: &SyncOptions,
    first: Option<Page>,
) -> Result<(), SyncError> {
    let lower = match r.kind() {
        Kind::Listed => None,
        _ if opts.full_refresh => None,
        _ => {
            let wm = writer
                .call(move |d| d.watermark(r))
                .await
                .map_err(|_| SyncError::WriterGone)?;
            wm.map(|w| w - opts.lookback)
        }
    };
    // A probe answer already holds the whole (unpaged) listing.
    if let Some(page) = first.filter(|_| !r.paged()) {
        let state = Some(StateUpdate::Listed { resource: r });
        return load_page(writer, r, page, t, run_id, state).await;
    }
    if r.kind() == Kind::Windowed {
        // `created_after` may be exclusive: ask from one second earlier.
        let after = lower.map(|lo| lo - 1);
        let load = |page: Page| {
            opts.progress.page(r, page.len());
            load_page(writer, r, page, t, run_id, None)
        };
        windows::read(
            client,
            r,
            opts.limit,
            after,
            t,
            opts.window_concurrency,
            load,
        )
        .await?;
        let state = Some(StateUpdate::Watermark {
            resource: r,
            value: t,
        });
        return load_page(writer, r, Page::default(), t, run_id, state).await;
    }
    let limit = r.paged().then_some(opts.limit);
    let mut pager = Pager::new(client, r.path(), limit, Vec::new())?;
    let mut pending: Option<Page> = None;
    loop {
        let page = match pager.next_page().await {
            Ok(p) => p,
            Err(e) if r == Resource::Events && matches!(e.status(), Some(404 | 410)) => {
                tracing::warn!(
                    "/events answered {}: the deprecated endpoint is gone; skipping it",
                    e.status().unwrap_or(0)
                );
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let Some(page) = page else { break };
        opts.progress.page(r, page.len());
        // Hold one page back so the last one commits with the state change.
        if let Some(prev) = pending.take() {
            load_page(writer, r, prev, t, run_id, None).await?;
        }
        let past_window = r.kind() == Kind::Feed
            && lower.is_some_and(|lo| page.last_created().is_some_and(|c| c < lo));
        pending = Some(page);
        if past_window {
            break;
        }
    }
    let state = match r.kind() {
        Kind::Listed => StateUpdate::Listed { resource: r },
        // Events: the feed was read past the window.
        _ => StateUpdate::Watermark {
            resource: r,
            value: t,
        },
    };
    load_page(
        writer,
        r,
        pending.unwrap_or_default(),
        t,
        run_id,
        Some(state),
    )
    .await
}

/// Re-reads the jobs that actions changed after they were last read.
/// A 404 means the job is gone: it is marked deleted.
async fn refresh_jobs(
    client: &Client,
    writer: &Writer,
    t: i64,
    run_id: i64,
    opts: &SyncOptions,
) -> Result<u64, SyncError> {
    let ids = writer
        .call(|d| d.pending_jobs())
        .await
        .map_err(|_| SyncError::WriterGone)?;
    if ids.is_empty() {
        return Ok(0);
    }
    tracing::info!("re-reading {} changed jobs", ids.len());
    let jobs = SCHEMA.id("jobs");
    let mut results = stream::iter(ids.into_iter().map(|id| async move {
        let res = client.get(&format!("jobs/{id}"), &[]).await;
        (id, res)
    }))
    .buffer_unordered(opts.refresh_concurrency.max(1));
    let mut n = 0u64;
    let mut first_err = None;
    let mut ops = Vec::new();
    while let Some((id, res)) = results.next().await {
        match res {
            Ok(resp) => {
                flatten::flatten(Resource::Jobs, &resp.body, t, &mut ops);
                n += 1;
            }
            Err(e) if e.status() == Some(404) => ops.push(Op::Delete {
                table: jobs,
                id,
                at: t,
            }),
            Err(e @ ApiError::Unauthorized { .. }) => return Err(e.into()),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
        if ops.len() >= 2000 {
            let batch = std::mem::take(&mut ops);
            writer
                .send(move |d| d.apply(&batch, run_id, None, now_unix()))
                .await
                .map_err(|_| SyncError::WriterGone)?;
        }
    }
    writer
        .send(move |d| d.apply(&ops, run_id, None, now_unix()))
        .await
        .map_err(|_| SyncError::WriterGone)?;
    match first_err {
        Some(e) => Err(e.into()),
        None => Ok(n),
    }
}
