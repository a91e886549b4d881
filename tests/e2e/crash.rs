//! A sync killed with SIGKILL at random points, many times, with days
//! passing in between, then one clean run: the destination equals the
//! sandbox's ground truth, with no duplicates.

use crate::common;

use std::time::Duration;

use rand::{Rng, SeedableRng};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_syncs_are_repaired_by_the_next_run() {
    let sb = common::sandbox(20, 21).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    // Small pages: many windows, pages and commits to land in.
    let args = [
        "sync",
        "--base-url",
        &sb.base_url,
        "--destination",
        "sqlite:org.db",
        "--limit",
        "25",
    ];
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut killed = 0;
    for round in 0..16 {
        if round % 4 == 3 {
            sb.advance_days(1);
        }
        let mut child = common::huntr_sync(dir.path())
            .args(args)
            .env("HUNTR_ORG_TOKEN", &sb.token)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(rng.random_range(5..600));
        tokio::select! {
            _ = tokio::time::sleep(delay) => {
                child.start_kill().unwrap(); // SIGKILL
                child.wait().await.unwrap();
                killed += 1;
            }
            status = child.wait() => {
                assert!(status.unwrap().success(), "round {round} failed on its own");
            }
        }
    }
    assert!(
        killed >= 8,
        "only {killed} runs were killed; the kill points are too late"
    );
    let out = common::huntr_sync(dir.path())
        .args(args)
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    common::assert_ok(&out);
    common::assert_matches_truth(&db, &sb.truth());
    common::assert_no_duplicate_keys(&db);
    // Kills before the first answer leave no trace; most land mid-write.
    let interrupted = common::count(
        &db,
        "SELECT COUNT(*) FROM sync_runs WHERE status = 'running'",
    );
    eprintln!("{killed} runs killed, {interrupted} of them while writing");
    assert!(
        interrupted >= 4,
        "only {interrupted} kills landed while a run was writing"
    );
}
