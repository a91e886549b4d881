//! Job posts and candidates (#17) end to end: the sandbox's endpoints and
//! filters, syncs equal to the truth (SQLite and Parquet, full and after
//! simulated days), and what the per-candidate reads cost.

use crate::common;

use huntr_sync::destination::parquet::table_file;
use huntr_sync::resources::Resource;
use huntr_sync::sync::{sync, sync_sqlite, SyncOptions, Target};
use serde_json::Value;

const TABLES: [&str; 9] = [
    "job_posts",
    "job_post_locations",
    "job_post_tags",
    "job_post_member_groups",
    "candidates",
    "candidate_profiles",
    "candidate_skills",
    "candidate_action_metrics",
    "action_job_posts",
];

async fn get(sb: &huntr_sync::sandbox::RunningSandbox, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/{path}", sb.base_url))
        .bearer_auth(&sb.token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_serves_job_posts_and_candidates_as_documented() {
    let sb = common::sandbox(30, 3).await;
    let (status, page) = get(&sb, "job-posts?limit=2").await;
    assert_eq!(status, 200);
    let posts = page["data"].as_array().unwrap();
    assert_eq!(posts.len(), 2);
    assert!(
        posts[0]["id"].as_str() > posts[1]["id"].as_str(),
        "newest first"
    );
    let next = page["next"].as_str().unwrap();
    let (_, second) = get(&sb, &format!("job-posts?limit=2&next={next}")).await;
    assert!(second["data"][0]["id"].as_str() < posts[1]["id"].as_str());
    let id = posts[0]["id"].as_str().unwrap();
    let (status, one) = get(&sb, &format!("job-posts/{id}")).await;
    assert_eq!((status, &one["id"]), (200, &posts[0]["id"]));
    assert!(one["jobPostStatus"]["name"].is_string() && one["locations"].is_array());
    assert_eq!(get(&sb, "job-posts/0123456789abcdef01234567").await.0, 404);

    let (_, all) = get(&sb, "candidates?limit=500").await;
    let cands = all["data"].as_array().unwrap();
    assert!(!cands.is_empty());
    // The listing is lean: the full profile is read one by one.
    assert!(cands[0].get("headline").is_none());
    let email = cands[0]["email"].as_str().unwrap();
    let query = email.replace('+', "%2B").replace('@', "%40");
    let (_, by_email) = get(&sb, &format!("candidates?email={query}")).await;
    assert_eq!(by_email["data"].as_array().unwrap().len(), 1);
    let member = cands[0]["memberId"].as_str().unwrap();
    let (_, by_member) = get(&sb, &format!("candidates?memberId={member}")).await;
    assert_eq!(by_member["data"][0]["id"], cands[0]["id"]);
    let (_, none) = get(&sb, "candidates?email=nobody@example.com").await;
    assert!(none["data"].as_array().unwrap().is_empty());
    let cid = cands[0]["id"].as_str().unwrap();
    let (status, full) = get(&sb, &format!("candidates/{cid}")).await;
    assert_eq!(status, 200);
    assert!(full["headline"].is_string() && full["skillNames"].is_array());
    let (status, metrics) = get(&sb, &format!("candidates/{cid}/action-metrics")).await;
    assert_eq!(status, 200);
    assert!(metrics["CANDIDATE_PROFILE_VIEWED"]["totalCt"].is_number());
    sb.stop().await;
}

/// Per-candidate requests (`candidates/<id>` counts both the profile and
/// the action metrics).
fn candidate_reads(sb: &huntr_sync::sandbox::RunningSandbox) -> u64 {
    sb.requests_by_endpoint()
        .get("candidates/<id>")
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_new_or_viewed_candidates_are_read_one_by_one() {
    let sb = common::sandbox(30, 8).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions::default();
    let truth = sb.truth();
    for t in TABLES {
        assert!(truth.count(t) > 0, "the sandbox has {t}");
    }
    sync_sqlite(&client, &db, &opts).await.unwrap();
    common::assert_matches_truth(&db, &truth);
    let candidates = truth.count("candidates") as u64;
    assert_eq!(
        candidate_reads(&sb),
        2 * candidates,
        "each read once in full"
    );

    // A night without changes reads no candidate.
    let before = candidate_reads(&sb);
    let report = sync_sqlite(&client, &db, &opts).await.unwrap();
    assert!(report.complete());
    assert_eq!(candidate_reads(&sb), before);

    for day in 1..=3 {
        let old = sb.truth();
        sb.advance_days(1);
        let new = sb.truth();
        // New candidates and those viewed (their metrics changed).
        let changed = new.tables["candidate_action_metrics"]
            .iter()
            .filter(|(k, v)| old.tables["candidate_action_metrics"].get(*k) != Some(*v))
            .count() as u64;
        let before = candidate_reads(&sb);
        let report = sync_sqlite(&client, &db, &opts).await.unwrap();
        assert!(report.complete(), "{:?}", report.incomplete);
        assert_eq!(candidate_reads(&sb) - before, 2 * changed, "day {day}");
        let problems = common::diff(&db, &new);
        assert!(
            problems.is_empty(),
            "after day {day}:\n{}",
            problems.join("\n")
        );
    }
    let deleted =
        "SELECT COUNT(*) FROM job_posts WHERE deleted_at IS NOT NULL AND removed_at IS NOT NULL";
    assert!(common::count(&db, deleted) > 0, "a deleted post is marked");
    let linked = "SELECT COUNT(*) FROM jobs WHERE job_post_id IN (SELECT id FROM job_posts)";
    assert!(common::count(&db, linked) > 0, "jobs resolve their post");
    let viewed = "SELECT COUNT(*) FROM actions WHERE action_type = 'CANDIDATE_PROFILE_VIEWED' \
                  AND candidate_id IN (SELECT id FROM candidates)";
    assert!(common::count(&db, viewed) > 0);
    sb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_portal_tables_equal_the_truth_across_days() {
    let sb = common::sandbox(25, 17).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pq");
    let target = Target::parquet(&out);
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions {
        limit: 50,
        ..Default::default()
    };
    for day in 0..3 {
        if day > 0 {
            sb.advance_days(1);
        }
        let report = sync(&client, &target, &opts).await.unwrap();
        assert!(report.complete(), "{:?}", report.incomplete);
        let read = dir.path().join(format!("day{day}.db"));
        common::parquet_to_sqlite(|t| table_file(&out, t), &read);
        let truth = sb.truth();
        let problems = common::diff(&read, &truth);
        assert!(problems.is_empty(), "day {day}:\n{}", problems.join("\n"));
        for t in TABLES {
            let n = common::count(&read, &format!("SELECT COUNT(*) FROM {t}"));
            assert!(n > 0, "{t} published");
        }
    }
    sb.stop().await;
}

/// #17's bound on a quiet night at 2,000 members: no more than the
/// endpoints of the older reference cost, plus one request per new
/// listed resource. Job posts and goals are read only after an action
/// announced a change; a short last page that leaves no known row unseen
/// ends a listing without the empty page its `next` would cost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_change_night_at_2000_members_costs_one_request_per_new_listing() {
    let sb = common::sandbox(2000, 21).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions::default();
    sync_sqlite(&client, &db, &opts).await.unwrap();
    sb.advance_days(1);
    sync_sqlite(&client, &db, &opts).await.unwrap();
    let before = sb.requests_by_endpoint();
    let report = sync_sqlite(&client, &db, &opts).await.unwrap();
    assert!(report.complete());
    let after = sb.requests_by_endpoint();
    let used: Vec<(String, u64)> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let truth = sb.truth();
    eprintln!(
        "no-change night, {} posts, {} candidates, {} member notes: {used:?}",
        truth.count("job_posts"),
        truth.count("candidates"),
        truth.count("member_notes")
    );
    let of = |k: &str| {
        used.iter()
            .find(|(e, _)| e == k)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    // The new endpoints: advisors, member groups, tags (one page each),
    // candidates and member notes (at most 1,000 rows: two pages each);
    // job posts and goals not at all.
    let new = [
        "advisors",
        "member-groups",
        "tags",
        "candidates",
        // (`notes/members`, counted as the sandbox counts paths)
        "notes/<id>",
        "job-posts",
        "goals",
    ];
    let paged = |n: usize| n.div_ceil(500).max(1) as u64;
    assert_eq!(of("candidates"), paged(truth.count("candidates")));
    assert_eq!(of("notes/<id>"), paged(truth.count("member_notes")));
    assert_eq!(of("job-posts") + of("goals") + of("candidates/<id>"), 0);
    let new_cost: u64 = new.iter().map(|k| of(k)).sum();
    assert!(new_cost <= new.len() as u64, "{used:?}");
    // The older endpoints: a request each, a page per 500 members or
    // employers (plus one where a last full page carries `next`).
    let old: u64 = used
        .iter()
        .filter(|(k, _)| !new.contains(&k.as_str()))
        .map(|(_, n)| n)
        .sum();
    let pages = |n: usize| (n.div_ceil(500) + 1) as u64;
    let old_bound = 8 + pages(truth.count("members")) + pages(truth.count("employers"));
    assert!(old <= old_bound, "{used:?}");
    common::assert_matches_truth(&db, &truth);
    sb.stop().await;
}

/// Webhook deliveries land the portal's actions and what they imply (a
/// deleted post marked, bulk updates' posts named, views' candidates), as
/// a sync would; the nightly sync then reads the viewed candidates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_portal_actions_are_captured_like_synced_ones() {
    const SECRET: &[u8] = b"whsec-portal";
    let sb = common::sandbox(20, 62).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    let rx = common::receiver(&db, SECRET, 256).await;
    let url = format!("http://{}/webhook", rx.addr);
    sb.skip_undelivered();
    sb.advance_days(6);
    sb.deliver(&url, SECRET).await.unwrap();
    let truth = sb.truth();
    let deleted = truth.deleted.get("job_posts").map(|d| d.len()).unwrap_or(0);
    assert!(deleted > 0, "the days deleted a post");
    let marked = "SELECT COUNT(*) FROM job_posts WHERE deleted_at IS NOT NULL";
    assert_eq!(common::count(&db, marked) as usize, deleted);
    let typed = |t: &str| {
        let sql = format!(
            "SELECT COUNT(*) FROM actions WHERE action_type = '{t}' AND job_post_id IS NOT NULL"
        );
        common::count(&db, &sql)
    };
    assert!(typed("JOB_POST_UPDATED") > 0);
    let bulk = "SELECT COUNT(*) FROM action_job_posts";
    assert!(
        common::count(&db, bulk) > 0,
        "bulk updates name their posts"
    );
    let viewed = "SELECT COUNT(*) FROM actions WHERE candidate_id IS NOT NULL";
    assert!(common::count(&db, viewed) > 0);
    // The deliveries announced the posts' changes: the sync lists them.
    let due = "SELECT relist_due FROM sync_state WHERE resource = 'job-posts'";
    assert!(common::count(&db, due) > 0);
    let report = sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    rx.shutdown().await;
    common::assert_matches_truth(&db, &sb.truth());
}

/// Job posts and goals, whose every change comes as an action, are listed
/// only after an action announced one (read by this run or delivered to
/// the receiver), or once their last listing is a week old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_posts_and_goals_are_listed_after_an_announcing_action_or_a_week() {
    let sb = common::sandbox(30, 23).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let listings = || {
        let by = sb.requests_by_endpoint();
        let of = |k: &str| by.get(k).copied().unwrap_or(0);
        (of("job-posts"), of("goals"))
    };
    let night = || async {
        let before = listings();
        let report = sync_sqlite(&client, &db, &SyncOptions::default())
            .await
            .unwrap();
        assert!(report.complete(), "{:?}", report.incomplete);
        let after = listings();
        (after.0 - before.0, after.1 - before.1)
    };
    let first = night().await;
    assert!(first.0 > 0 && first.1 > 0);
    // The backfill's actions were still arriving while the first listings
    // ran: they are listed again (at most) once more, then not at all.
    night().await;
    assert_eq!(night().await, (0, 0), "a quiet night lists neither");
    common::assert_matches_truth(&db, &sb.truth());
    // A day with post edits and goal progress: both listed, and current.
    sb.advance_days(1);
    let day = night().await;
    assert!(day.0 > 0 && day.1 > 0, "{day:?}");
    common::assert_matches_truth(&db, &sb.truth());
    assert_eq!(night().await, (0, 0));
    // A listing eight days old is read again without any announcement.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE sync_state SET listed_at = '2000-01-01T00:00:00Z' WHERE resource = 'job-posts'",
        [],
    )
    .unwrap();
    drop(conn);
    let week = night().await;
    assert!(week.0 > 0 && week.1 == 0, "{week:?}");
    // Without `actions` in the run nothing announces: listed every run.
    let opts = SyncOptions {
        resources: vec![Resource::JobPosts, Resource::Goals],
        ..Default::default()
    };
    let before = listings();
    sync_sqlite(&client, &db, &opts).await.unwrap();
    let after = listings();
    assert!(after.0 > before.0 && after.1 > before.1);
    sb.stop().await;
}
