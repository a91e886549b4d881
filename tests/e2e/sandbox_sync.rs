//! End-to-end syncs of the sandbox organization into SQLite, compared with
//! the sandbox's ground truth.

use crate::common;

use huntr_sync::sync::{sync_sqlite, SyncOptions};

fn opts(limit: u32) -> SyncOptions {
    SyncOptions {
        limit,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_equals_ground_truth_and_honours_the_contract() {
    let sb = common::sandbox(25, 11).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    // A small page size: several pages per resource.
    let report = sync_sqlite(&client, &db, &opts(40)).await.unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    let truth = sb.truth();
    assert!(truth.count("actions") > 40 * 10, "several pages of actions");
    common::assert_matches_truth(&db, &truth);

    // Foreign keys resolve, people covers advisors who created jobs.
    let dangling = [
        "SELECT COUNT(*) FROM jobs WHERE owner_member_id NOT IN (SELECT id FROM people)",
        "SELECT COUNT(*) FROM jobs WHERE creator_member_id NOT IN (SELECT id FROM people)",
        "SELECT COUNT(*) FROM jobs WHERE employer_id NOT IN (SELECT id FROM employers)",
        "SELECT COUNT(*) FROM activities WHERE job_id IS NOT NULL AND job_id NOT IN (SELECT id FROM jobs)",
        "SELECT COUNT(*) FROM activities WHERE activity_category_id NOT IN (SELECT id FROM activity_categories)",
        "SELECT COUNT(*) FROM actions WHERE job_id IS NOT NULL AND job_id NOT IN (SELECT id FROM jobs)",
        "SELECT COUNT(*) FROM actions WHERE owner_member_id NOT IN (SELECT id FROM people)",
        "SELECT COUNT(*) FROM actions WHERE note_id IS NOT NULL AND note_id NOT IN (SELECT id FROM notes)",
        "SELECT COUNT(*) FROM actions WHERE contact_id IS NOT NULL AND contact_id NOT IN (SELECT id FROM contacts)",
        "SELECT COUNT(*) FROM member_field_values WHERE field_id NOT IN (SELECT id FROM member_fields)",
        "SELECT COUNT(*) FROM member_field_values WHERE member_id NOT IN (SELECT id FROM members)",
        "SELECT COUNT(*) FROM board_template_lists WHERE board_template_id NOT IN (SELECT id FROM board_templates)",
        "SELECT COUNT(*) FROM organization_invitations WHERE board_template_id NOT IN (SELECT id FROM board_templates)",
        "SELECT COUNT(*) FROM job_interview_activities WHERE activity_id NOT IN (SELECT id FROM activities)",
        "SELECT COUNT(*) FROM events WHERE job_id NOT IN (SELECT id FROM jobs) OR member_id NOT IN (SELECT id FROM people)",
        "SELECT COUNT(*) FROM contact_profiles WHERE contact_id NOT IN (SELECT id FROM contacts)",
    ];
    for sql in dangling {
        assert_eq!(common::count(&db, sql), 0, "{sql}");
    }
    assert!(common::count(&db, "SELECT COUNT(*) FROM jobs j JOIN people p ON p.id = j.creator_member_id WHERE p.id NOT IN (SELECT id FROM members)") > 0, "advisors resolve through people");
    // Every contract table is filled.
    for t in huntr_sync::schema::SCHEMA.tables.iter() {
        assert!(
            common::count(&db, &format!("SELECT COUNT(*) FROM {}", t.name)) > 0,
            "{} is empty",
            t.name
        );
    }
    // Sample values: types as the contract says.
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE typeof(location_lat) NOT IN ('real', 'null')"
        ),
        0
    );
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE created_at NOT LIKE '____-__-__T__:__:__Z'"
        ),
        0
    );
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM members WHERE is_active NOT IN (0, 1)"
        ),
        0
    );
    assert!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM member_field_values WHERE value LIKE '[%'"
        ) > 0,
        "arrays kept as JSON text"
    );
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM sync_runs WHERE status = 'complete'"
        ),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_days_are_captured_incrementally() {
    let sb = common::sandbox(30, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &opts(100)).await.unwrap();
    common::assert_matches_truth(&db, &sb.truth());
    for day in 1..=3 {
        sb.advance_days(1);
        let report = sync_sqlite(&client, &db, &opts(100)).await.unwrap();
        assert!(report.complete());
        assert!(report.jobs_reread > 0, "moved and edited jobs are re-read");
        let problems = common::diff(&db, &sb.truth());
        assert!(
            problems.is_empty(),
            "after day {day}:\n{}",
            problems.join("\n")
        );
    }
    // Deletions keep their rows, marked.
    assert!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE deleted_at IS NOT NULL"
        ) > 0
    );
    assert!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM activities WHERE deleted_at IS NOT NULL"
        ) > 0
    );
    assert!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM organization_invitations WHERE removed_at IS NOT NULL"
        ) > 0
    );
    assert!(common::count(&db, "SELECT COUNT(*) FROM members WHERE is_active = 0") > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_no_changes_costs_about_one_request_per_resource() {
    let sb = common::sandbox(30, 9).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &opts(100)).await.unwrap();
    sb.advance_days(1);
    sync_sqlite(&client, &db, &opts(100)).await.unwrap();
    let before = sb.requests();
    let report = sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    let used = sb.requests() - before;
    assert!(report.complete());
    assert_eq!(report.jobs_reread, 0);
    // A request per resource, the first answer doubling as the activity-categories
    // listing; a listing whose last page still carries `next` costs one
    // more request (the API's documented quirk), at most once per paged
    // resource.
    let paged = huntr_sync::resources::Resource::ALL
        .iter()
        .filter(|r| r.paged())
        .count() as u64;
    assert!(
        used <= huntr_sync::resources::Resource::ALL.len() as u64 + paged,
        "a no-change run sent {used} requests: {:?}",
        sb.requests_by_endpoint()
    );
    common::assert_matches_truth(&db, &sb.truth());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_refresh_rereads_everything_without_duplicates() {
    let sb = common::sandbox(15, 13).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &opts(50)).await.unwrap();
    let rows = common::count(&db, "SELECT COUNT(*) FROM actions");
    let before = sb.requests();
    sync_sqlite(&client, &db, &opts(50)).await.unwrap();
    let incremental = sb.requests() - before;
    let before = sb.requests();
    let full = SyncOptions {
        full_refresh: true,
        ..opts(50)
    };
    sync_sqlite(&client, &db, &full).await.unwrap();
    let refreshed = sb.requests() - before;
    assert!(
        refreshed > incremental + (rows as u64) / 50,
        "full refresh re-reads every page: {refreshed} vs {incremental}"
    );
    assert_eq!(common::count(&db, "SELECT COUNT(*) FROM actions"), rows);
    common::assert_matches_truth(&db, &sb.truth());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_counts_say_what_changed() {
    let sb = common::sandbox(20, 19).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let first = sync_sqlite(&client, &db, &opts(100)).await.unwrap();
    for t in huntr_sync::schema::SCHEMA.tables.iter() {
        let rows = common::count(&db, &format!("SELECT COUNT(*) FROM {}", t.name)) as u64;
        let c = first.tables.get(&t.name).cloned().unwrap_or_default();
        assert_eq!(c.inserted, rows, "{}: first run inserts every row", t.name);
        assert_eq!(c.updated, 0, "{}", t.name);
    }
    // Nothing changed: nothing inserted, updated, deleted or removed.
    let idle = sync_sqlite(&client, &db, &opts(100)).await.unwrap();
    for (t, c) in &idle.tables {
        assert_eq!(
            (c.inserted, c.updated, c.deleted, c.removed),
            (0, 0, 0, 0),
            "{t}"
        );
    }
    sb.advance_days(1);
    let day = sync_sqlite(&client, &db, &opts(100)).await.unwrap();
    let jobs = day.tables.get("jobs").cloned().unwrap_or_default();
    assert!(
        jobs.inserted > 0 && jobs.updated > 0 && jobs.deleted > 0,
        "{jobs:?}"
    );
    assert!(day
        .tables
        .get("organization_invitations")
        .is_some_and(|c| c.removed > 0));
    assert!(
        day.tables.get("members").is_some_and(|c| c.updated > 0),
        "deactivated members"
    );
    // The same figures are in the runs table.
    let stored: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT rows_json FROM sync_runs WHERE run_id = ?",
            [day.run_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
        serde_json::to_value(&day.tables).unwrap()
    );
    common::assert_matches_truth(&db, &sb.truth());
}
