//! A nightly run into PostgreSQL merges the tables it has read while it
//! still reads the jobs again: nothing of it shows before the commit, and
//! what changes after the merge (the listings' removals, recorded at the
//! run's end) is merged again before it.

use crate::common;
use crate::pg_server::server;
use crate::postgres::{assert_pg_matches_truth, pg_counts, state_counts, target};

use std::time::{Duration, Instant};

use huntr_sandbox::{RunningSandbox, SandboxOptions};
use huntr_sync::sync::{sync, SyncOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nightly_run_merges_ahead_unseen_and_merges_again_what_changed_after() {
    // Slow answers: the jobs are read again long enough to be watched.
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 40,
        seed: 147,
        latency: Duration::from_millis(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let db = server().database("ahead").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions {
        limit: 100,
        ..Default::default()
    };
    sync(&client, &target(&db, &state), &opts).await.unwrap();
    sb.advance_days(3);
    let admin = db.client().await;
    let actions_before: i64 = admin
        .query_one("SELECT count(*) FROM huntr.actions", &[])
        .await
        .unwrap()
        .get(0);
    // Watches for the run's transaction holding the lock its merge into
    // `actions` took, idle while the run still reads.
    let name = db.name.clone();
    let watcher = tokio::spawn(async move {
        let merged = "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid \
                      WHERE a.datname = $1 AND a.application_name = 'huntr-sync publishing' \
                        AND a.state = 'idle in transaction' AND l.mode = 'RowExclusiveLock' \
                        AND l.relation = 'huntr.actions'::regclass";
        let since = Instant::now();
        loop {
            if admin.query_opt(merged, &[&name]).await.unwrap().is_some() {
                break;
            }
            if since.elapsed() > Duration::from_secs(60) {
                return Err("no merge was seen before the run's end".to_string());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let seen: i64 = admin
            .query_one("SELECT count(*) FROM huntr.actions", &[])
            .await
            .unwrap()
            .get(0);
        Ok(seen)
    });
    let run = sync(&client, &target(&db, &state), &opts).await.unwrap();
    let seen = watcher.await.unwrap().unwrap();
    assert_eq!(
        seen, actions_before,
        "the merged rows showed before the commit"
    );
    let new_actions = run.tables["actions"].inserted;
    assert!(new_actions > 0, "the days brought actions");
    // The removals are recorded at the run's end, after the merge ahead:
    // the invitations' family was merged again.
    let removed = run.tables["organization_invitations"].removed;
    assert!(removed > 0, "no invitation left the listing: {run:?}");
    assert_pg_matches_truth(&db, dir.path(), "ahead", &sb.truth()).await;
    assert_eq!(pg_counts(&db).await, state_counts(&state));
}
