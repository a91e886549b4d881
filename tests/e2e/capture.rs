//! Change capture against a less tidy API (the sandbox's quirks): job
//! changes whose actions reach `/actions` after a run although dated
//! before it, and activity updates of the same second, applied by a sync
//! and by the webhook receiver in any order.

use crate::common;

use huntr_sync::sandbox::{RunningSandbox, SandboxOptions};
use huntr_sync::sync::{sync_sqlite, SyncOptions};

const SECRET: &[u8] = b"whsec-capture-7d1e";

async fn quirky(
    scale: u32,
    seed: u64,
    late_changes: u32,
    same_second_pairs: u32,
) -> RunningSandbox {
    RunningSandbox::start(SandboxOptions {
        scale,
        seed,
        late_changes,
        same_second_pairs,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn opts() -> SyncOptions {
    SyncOptions {
        limit: 100,
        ..Default::default()
    }
}

/// Actions stored that are dated before the run that preceded their
/// first reading: the late ones.
fn late_actions(db: &std::path::Path, before: i64) -> i64 {
    common::count(
        db,
        &format!(
            "SELECT COUNT(*) FROM actions WHERE action_type IN ('JOB_MOVED', 'JOB_UPDATED') \
             AND date < '{}' AND _ins_run = (SELECT MAX(run_id) FROM sync_runs)",
            huntr_sync::timefmt::iso(before)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_job_changes_dated_inside_the_lookback_are_caught_by_the_next_run() {
    let sb = quirky(30, 23, 8, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &opts()).await.unwrap();
    for day in 1..=3 {
        let previous_run = sb.shared.org.read().unwrap().now;
        sb.advance_days(1);
        let report = sync_sqlite(&client, &db, &opts()).await.unwrap();
        assert!(report.complete(), "{:?}", report.incomplete);
        if day > 1 {
            // The previous day's held changes: read by the previous run as
            // they were, their actions visible only now.
            assert!(late_actions(&db, previous_run) >= 8, "day {day}");
        }
        let problems = common::diff(&db, &sb.truth());
        assert!(
            problems.is_empty(),
            "after day {day}:\n{}",
            problems.join("\n")
        );
    }
}

/// Ids of the activities the sandbox completed and reopened in one second
/// that are still open (a later day may complete or delete one).
fn paired_activities(sb: &RunningSandbox) -> Vec<String> {
    common::open_activities(sb, |a| a.snapshot.is_some())
}

fn reopened(db: &std::path::Path, ids: &[String]) -> i64 {
    let list = common::sql_list(ids);
    common::count(
        db,
        &format!("SELECT COUNT(*) FROM activities WHERE completed = 0 AND id IN ({list})"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_second_updates_end_equal_to_the_truth_after_a_sync_alone() {
    let sb = quirky(30, 29, 0, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &opts()).await.unwrap();
    for day in 1..=3 {
        sb.advance_days(1);
        let report = sync_sqlite(&client, &db, &opts()).await.unwrap();
        assert!(report.complete(), "{:?}", report.incomplete);
        let problems = common::diff(&db, &sb.truth());
        assert!(
            problems.is_empty(),
            "after day {day}:\n{}",
            problems.join("\n")
        );
    }
    let pairs = paired_activities(&sb);
    assert!(pairs.len() >= 6, "{pairs:?}");
    assert_eq!(reopened(&db, &pairs), pairs.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_second_updates_delivered_in_either_order_then_a_sync_equal_the_truth() {
    for newest_first in [false, true] {
        let sb = quirky(20, 61, 0, 5).await;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("org.db");
        let client = common::fast_client(&sb.base_url, &sb.token);
        sync_sqlite(&client, &db, &opts()).await.unwrap();
        let rx = common::receiver(&db, SECRET, 256).await;
        let url = format!("http://{}/webhook", rx.addr);
        sb.skip_undelivered();
        sb.advance_days(1);
        let delivered = if newest_first {
            sb.deliver_newest_first(&url, SECRET).await.unwrap()
        } else {
            sb.deliver(&url, SECRET).await.unwrap()
        };
        assert!(delivered > 20, "{delivered}");
        // The receiver alone already ends with the later update of each pair.
        let pairs = paired_activities(&sb);
        assert!(!pairs.is_empty());
        assert_eq!(
            reopened(&db, &pairs),
            pairs.len() as i64,
            "newest first: {newest_first}"
        );
        let report = sync_sqlite(&client, &db, &opts()).await.unwrap();
        assert!(report.complete());
        rx.shutdown().await;
        let problems = common::diff(&db, &sb.truth());
        assert!(
            problems.is_empty(),
            "delivered newest first: {newest_first}:\n{}",
            problems.join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quirks_are_off_by_default_and_set_through_the_control_endpoint() {
    let sb = common::sandbox(10, 3).await;
    let url = format!("http://{}/_sandbox/quirks", sb.addr);
    let http = reqwest::Client::new();
    let now: serde_json::Value = http.post(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        now,
        serde_json::json!({"late_changes": 0, "same_second_pairs": 0, "reopened_activities": 0})
    );
    let set: serde_json::Value = http
        .post(format!(
            "{url}?late_changes=3&same_second_pairs=2&reopened_activities=4"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        set,
        serde_json::json!({"late_changes": 3, "same_second_pairs": 2, "reopened_activities": 4})
    );
    let quirks = sb.shared.org.read().unwrap().quirks.clone();
    assert_eq!(
        (
            quirks.late_changes,
            quirks.same_second_pairs,
            quirks.reopened_activities
        ),
        (3, 2, 4)
    );
}
