//! A run into PostgreSQL merges the tables the windows filled while it
//! still reads the jobs again (a first load copies them in): nothing of
//! it shows before the commit. The listings, whose removals are recorded
//! at the run's end, and the candidates are published at the end, so each
//! row's change is counted once.

use crate::common;
use crate::pg_server::{server, TestDb};
use crate::postgres::{assert_pg_matches_truth, pg_counts, state_counts, target};

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use huntr_sandbox::{RunningSandbox, SandboxOptions};
use huntr_sync::api::Client;
use huntr_sync::sync::{sync, SyncOptions};
use tempfile::TempDir;

/// A small organization answering slowly (the jobs are read again long
/// enough to be watched), an empty database, a directory for the state,
/// a client and the options the runs use.
async fn slow_organization(
    seed: u64,
    name: &str,
) -> (RunningSandbox, TestDb, TempDir, Client, SyncOptions) {
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 40,
        seed,
        latency: Duration::from_millis(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let db = server().database(name).await;
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions {
        limit: 100,
        ..Default::default()
    };
    (sb, db, tempfile::tempdir().unwrap(), client, opts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nightly_run_merges_ahead_unseen_and_counts_each_change_once() {
    let (sb, db, dir, client, opts) = slow_organization(147, "ahead").await;
    let state = dir.path().join("state.db");
    sync(&client, &target(&db, &state), &opts).await.unwrap();
    sb.advance_days(3);
    let admin = db.client().await;
    let pending: Vec<String> = admin
        .query(
            "SELECT id FROM huntr.organization_invitations WHERE removed_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
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
    // The removals are recorded at the run's end, and counted once.
    let removed = run.tables["organization_invitations"].removed;
    assert!(removed > 0, "no invitation left the listing: {run:?}");
    let gone: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM huntr.organization_invitations \
             WHERE removed_at IS NOT NULL AND id = ANY($1)",
            &[&pending],
        )
        .await
        .unwrap()
        .get(0);
    assert!(gone > 0);
    assert_eq!(run_tables(&db).await["organization_invitations"][3], gone);
    assert_pg_matches_truth(&db, dir.path(), "ahead", &sb.truth()).await;
    assert_eq!(pg_counts(&db).await, state_counts(&state));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_load_copies_ahead_unseen_and_counts_each_row_once() {
    let (sb, db, dir, client, opts) = slow_organization(148, "ahead_first").await;
    let state = dir.path().join("state.db");
    // Watches for the run's transaction having copied `actions` while
    // the run still reads: the sandbox's requests at that moment.
    let admin = db.client().await;
    let name = db.name.clone();
    let watcher = async {
        let copied = "SELECT 1 FROM pg_stat_activity WHERE datname = $1 \
                        AND application_name = 'huntr-sync publishing' \
                        AND query LIKE 'COPY \"huntr\".\"actions\"%'";
        let since = Instant::now();
        while admin.query_opt(copied, &[&name]).await.unwrap().is_none() {
            if since.elapsed() > Duration::from_secs(60) {
                return Err("no copy was seen".to_string());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let at = sb.requests();
        let shown: Option<String> = admin
            .query_one("SELECT to_regclass('huntr.actions')::text", &[])
            .await
            .unwrap()
            .get(0);
        Ok::<_, String>((at, shown))
    };
    let to = target(&db, &state);
    let (run, watched) = tokio::join!(sync(&client, &to, &opts), watcher);
    run.unwrap();
    let (at, shown) = watched.unwrap();
    assert!(
        at < sb.requests(),
        "actions were copied only after the last read ({at} requests)"
    );
    assert_eq!(shown, None, "the copied table showed before the commit");
    assert_pg_matches_truth(&db, dir.path(), "ahead_first", &sb.truth()).await;
    let profiles = pg_counts(&db).await["candidate_profiles"];
    assert!(profiles > 0, "the sandbox has candidates");
    assert_eq!(pg_counts(&db).await, state_counts(&state));
    assert_each_row_inserted_once(&db).await;

    // The same state into an empty database days later, with removals
    // recorded at the run's end: every row still counted once, as
    // inserted.
    sb.advance_days(3);
    let other = server().database("ahead_first_b").await;
    let run = sync(&client, &target(&other, &state), &opts).await.unwrap();
    assert!(
        run.tables["organization_invitations"].removed > 0,
        "{run:?}"
    );
    assert_pg_matches_truth(&other, dir.path(), "ahead_first_b", &sb.truth()).await;
    assert_eq!(pg_counts(&other).await, state_counts(&state));
    assert_each_row_inserted_once(&other).await;
}

/// What the database's last run says it did to each table: inserted,
/// updated, deleted, removed.
async fn run_tables(db: &TestDb) -> BTreeMap<String, [i64; 4]> {
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT table_name, inserted, updated, deleted, removed \
             FROM huntr._huntr_sync_run_tables \
             WHERE run_id = (SELECT max(run_id) FROM huntr._huntr_sync_runs)",
            &[],
        )
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for r in rows {
        out.insert(r.get(0), [r.get(1), r.get(2), r.get(3), r.get(4)]);
    }
    out
}

/// A run into an empty database: each table's rows counted as inserted,
/// once, and nothing else.
async fn assert_each_row_inserted_once(db: &TestDb) {
    let counts = pg_counts(db).await;
    let published = run_tables(db).await;
    for (table, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
        let want = [n, 0, 0, 0];
        assert_eq!(published.get(&table), Some(&want), "{table}");
    }
}
