//! A first run into PostgreSQL begins its transaction, and creates its
//! tables, while it still reads the API: nothing of it shows to other
//! sessions before the commit, and losing that connection before the
//! publication costs the run nothing (it publishes on a fresh one).

use crate::common;
use crate::pg_server::server;
use crate::postgres::{assert_pg_matches_truth, target};

use std::time::{Duration, Instant};

use huntr_sandbox::{RunningSandbox, SandboxOptions};
use huntr_sync::sync::{sync, SyncOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_run_creates_its_tables_while_reading_and_survives_losing_that_connection() {
    // Slow answers: the reading lasts long enough to be watched.
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 40,
        seed: 146,
        latency: Duration::from_millis(40),
        ..Default::default()
    })
    .await
    .unwrap();
    let db = server().database("early").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let target = target(&db, &state);
    let opts = SyncOptions {
        limit: 20,
        ..Default::default()
    };
    // Watches for the run's transaction, idle while the run reads; checks
    // another session cannot see its schema; ends its connection.
    let admin = db.client().await;
    let name = db.name.clone();
    let watcher = tokio::spawn(async move {
        let early = "SELECT pid FROM pg_stat_activity WHERE datname = $1 \
                     AND application_name = 'huntr-sync publishing' \
                     AND state = 'idle in transaction'";
        let since = Instant::now();
        let pid: i32 = loop {
            if let Some(row) = admin.query_opt(early, &[&name]).await.unwrap() {
                break row.get(0);
            }
            if since.elapsed() > Duration::from_secs(60) {
                return Err("no early transaction was seen");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let visible: bool = admin
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'huntr')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if visible {
            return Err("the uncommitted schema shows to another session");
        }
        admin
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap();
        Ok(pid)
    });
    let run = sync(&client, &target, &opts).await;
    watcher.await.unwrap().unwrap();
    let summary = run.expect("the run publishes on a fresh connection");
    assert!(summary.run_id > 0);
    assert_pg_matches_truth(&db, dir.path(), "early", &sb.truth()).await;
}
