//! Changed jobs are re-read one by one, or re-listed in full when that
//! takes fewer requests: a busy night (600 moves among about 2,000 jobs), a
//! quiet one, and changed jobs deleted before the re-listing saw them.
//! Requests are counted by the sandbox, per endpoint.

use std::path::Path;

use huntr_sync::api::Client;
use huntr_sync::sandbox::{Busy, RunningSandbox};
use huntr_sync::sync::{sync_sqlite, SyncOptions, SyncReport};

use crate::common;

/// Members: the sandbox's scale; about 2,000 jobs.
const SCALE: u32 = 230;
const LIMIT: u32 = 500;

/// Requests for jobs during one run.
#[derive(Debug)]
struct JobRequests {
    /// Pages of `/jobs` (the window and any re-listing).
    list: u64,
    /// `GET /jobs/<id>`.
    by_id: u64,
}

fn opts() -> SyncOptions {
    SyncOptions {
        limit: LIMIT,
        ..Default::default()
    }
}

/// A sync, and what it asked of the jobs endpoints.
async fn sync_counting(
    sb: &RunningSandbox,
    client: &Client,
    db: &Path,
) -> (SyncReport, JobRequests) {
    let before = sb.requests_by_endpoint();
    let report = sync_sqlite(client, db, &opts()).await.unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    let after = sb.requests_by_endpoint();
    let delta = |k: &str| after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
    let jobs = JobRequests {
        list: delta("jobs"),
        by_id: delta("jobs/<id>"),
    };
    (report, jobs)
}

/// Pages of a listing of every job the sandbox holds.
fn full_listing_pages(sb: &RunningSandbox) -> u64 {
    (sb.truth().count("jobs") as u64).div_ceil(u64::from(LIMIT))
}

/// A sandbox of about 2,000 jobs, synced into `db`; then a day without
/// changes, synced too: the next night's window holds no job (every job it
/// would read again is older), and what the first sync left to re-read is
/// settled, so only a test's own moves are pending.
async fn synced(seed: u64, db: &Path) -> (RunningSandbox, Client) {
    let sb = common::sandbox(SCALE, seed).await;
    let jobs = sb.truth().count("jobs");
    assert!((1_800..=2_400).contains(&jobs), "{jobs} jobs");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, db, &opts()).await.unwrap();
    common::assert_matches_truth(db, &sb.truth());
    sb.busy_day(Busy::default());
    sync_counting(&sb, &client, db).await;
    (sb, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_night_relists_jobs_and_a_quiet_one_rereads_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let (sb, client) = synced(21, &db).await;

    // A quiet night: three moves, three re-reads, no re-listing.
    let done = sb.busy_day(Busy {
        moves: 3,
        ..Default::default()
    });
    assert_eq!(done.moved, 3);
    let (report, quiet) = sync_counting(&sb, &client, &db).await;
    assert_eq!(quiet.list, 1, "the (empty) window's page only: {quiet:?}");
    assert_eq!(quiet.by_id, 3, "{quiet:?}");
    assert_eq!(report.jobs_reread, 3);
    common::assert_matches_truth(&db, &sb.truth());

    // A busy night: 600 moves; a listing of every job instead of 600
    // re-reads.
    let done = sb.busy_day(Busy {
        moves: 600,
        ..Default::default()
    });
    assert_eq!(done.moved, 600);
    let pages = full_listing_pages(&sb);
    let (report, busy) = sync_counting(&sb, &client, &db).await;
    assert!(
        busy.list + busy.by_id <= pages + 2,
        "a full listing is {pages} pages; the run asked {busy:?}"
    );
    assert_eq!(busy.by_id, 0, "every changed job was listed");
    assert!(
        (600..=603).contains(&report.jobs_reread),
        "the 600 moved jobs (and at most the quiet night's three again): {}",
        report.jobs_reread
    );
    common::assert_matches_truth(&db, &sb.truth());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_jobs_the_relisting_misses_are_reread_and_found_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let (sb, client) = synced(22, &db).await;

    // 600 moves, and 4 of the moved jobs deleted before the sync, their
    // JOB_DELETED not listed: the re-listing does not return them.
    let done = sb.busy_day(Busy {
        moves: 600,
        unlisted_deletions: 4,
    });
    assert_eq!((done.moved, done.deleted), (600, 4));
    let pages = full_listing_pages(&sb);
    let (report, night) = sync_counting(&sb, &client, &db).await;
    assert_eq!(
        night.by_id, 4,
        "only the jobs the listing missed: {night:?}"
    );
    assert!(
        night.list <= pages + 2,
        "a full listing is {pages} pages; the run asked {night:?}"
    );
    assert_eq!(
        report.jobs_reread, 596,
        "the listed ones (a 404 reads nothing)"
    );
    let jobs = report.tables.get("jobs").cloned().unwrap_or_default();
    assert_eq!(jobs.deleted, 4, "the 404s mark them deleted: {jobs:?}");
    common::assert_matches_truth(&db, &sb.truth());
}
