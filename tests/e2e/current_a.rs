//! The current reference's additions of #17 slice A against the sandbox:
//! advisors, member groups, tags, member notes, members' new fields and
//! MEMBER_* actions equal the truth (full, then incremental with member
//! deletions on); an optional endpoint answering 404 or 403 is skipped,
//! recorded, and the run is complete; `resources` leaves new ones out; and
//! how many member rows a night rewrites when `lastSeenAt` moves.

use crate::common;

use huntr_sync::resources::Resource;
use huntr_sync::sync::{sync_sqlite, SyncOptions};

const NEW_TABLES: [&str; 7] = [
    "advisors",
    "member_groups",
    "tags",
    "tag_target_objects",
    "member_notes",
    "member_boards",
    "members",
];

async fn control(sb: &huntr_sandbox::RunningSandbox, path: &str) {
    let resp = reqwest::Client::new()
        .post(format!("http://{}/_sandbox/{path}", sb.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path}");
}

fn text(db: &std::path::Path, sql: &str) -> Option<String> {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_tables_equal_the_truth_full_and_across_days() {
    let sb = common::sandbox(40, 17).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions {
        limit: 7,
        ..Default::default()
    };
    let report = sync_sqlite(&client, &db, &opts).await.unwrap();
    assert!(report.complete() && report.skipped.is_empty(), "{report:?}");
    let truth = sb.truth();
    for t in NEW_TABLES {
        assert!(truth.count(t) > 0, "the sandbox has {t}");
    }
    assert!(truth.count("member_notes") > 7, "several pages of notes");
    common::assert_matches_truth(&db, &truth);
    // A member's advisor resolves in advisors; keyed values are not kept twice.
    let dangling = "SELECT COUNT(*) FROM members WHERE advisor_id IS NOT NULL \
                    AND advisor_id NOT IN (SELECT id FROM advisors)";
    assert_eq!(common::count(&db, dangling), 0);
    assert!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM members WHERE advisor_id IS NOT NULL"
        ) > 0
    );
    let extra = "SELECT COUNT(*) FROM members WHERE _extra IS NOT NULL";
    assert_eq!(
        common::count(&db, extra),
        0,
        "every member field is a column"
    );
    let select = "SELECT COUNT(*) FROM member_field_values v JOIN member_fields f \
                  ON f.id = v.field_id WHERE f.field_type = 'MULTIPLE_SELECT' AND v.value LIKE '[%'";
    assert!(common::count(&db, select) > 0, "MULTIPLE_SELECT values");

    // Days later, with members deleted too: incremental runs keep up.
    control(&sb, "quirks?member_deletions=1").await;
    for _ in 0..2 {
        sb.advance_days(1);
        let report = sync_sqlite(&client, &db, &opts).await.unwrap();
        assert!(report.complete(), "{report:?}");
        common::assert_matches_truth(&db, &sb.truth());
    }
    for kind in ["MEMBER_UPDATED", "MEMBER_DEACTIVATED", "MEMBER_DELETED"] {
        let sql = format!("SELECT COUNT(*) FROM actions WHERE action_type = '{kind}'");
        assert!(common::count(&db, &sql) > 0, "{kind}");
    }
    // A deleted member: deleted_at from the action, removed_at from the
    // listing that no longer lists it.
    let deleted =
        "SELECT COUNT(*) FROM members WHERE deleted_at IS NOT NULL AND removed_at IS NOT NULL";
    assert_eq!(common::count(&db, deleted), 2);
    let removed_notes = "SELECT COUNT(*) FROM member_notes WHERE removed_at IS NOT NULL";
    let deleted_notes = {
        let org = sb.shared.org.read().unwrap();
        (org.roster.notes.len() - org.roster.notes_ix.len()) as i64
    };
    assert_eq!(
        common::count(&db, removed_notes),
        deleted_notes,
        "deleted notes are marked removed"
    );
    common::assert_no_duplicate_keys(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_not_served_is_skipped_recorded_and_the_run_completes() {
    let sb = common::sandbox(20, 5).await;
    control(&sb, "missing?endpoint=tags&status=404").await;
    control(&sb, "missing?endpoint=notes/members&status=403").await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let report = sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    assert_eq!(report.status, "complete");
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(skipped, [("notes/members", "403"), ("tags", "404")]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["skipped"]["tags"], "404");
    let run = "SELECT status || ' / ' || error FROM sync_runs ORDER BY run_id DESC LIMIT 1";
    assert_eq!(
        text(&db, run).as_deref(),
        Some("complete / skipped: notes/members (403), tags (404)")
    );
    // Every other table is complete; the skipped ones are empty.
    let mut truth = sb.truth();
    for t in ["tags", "tag_target_objects", "member_notes"] {
        truth.tables.remove(t);
        let sql = format!("SELECT COUNT(*) FROM {t}");
        assert_eq!(common::count(&db, &sql), 0, "{t}");
    }
    common::assert_matches_truth(&db, &truth);

    // Served again: the next run reads them.
    control(&sb, "missing?endpoint=tags").await;
    control(&sb, "missing?endpoint=notes/members").await;
    let report = sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.complete() && report.skipped.is_empty());
    common::assert_matches_truth(&db, &sb.truth());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_can_leave_the_new_endpoints_out() {
    let sb = common::sandbox(15, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let left_out = ["advisors", "member-groups", "tags", "member_notes"];
    let left_out: Vec<Resource> = left_out.iter().map(|r| r.parse().unwrap()).collect();
    let opts = SyncOptions {
        resources: Resource::ALL
            .into_iter()
            .filter(|r| !left_out.contains(r))
            .collect(),
        ..Default::default()
    };
    let report = sync_sqlite(&client, &db, &opts).await.unwrap();
    assert!(report.complete());
    let by = sb.requests_by_endpoint();
    for e in ["member-groups", "tags", "notes/<id>", "advisors"] {
        assert!(!by.contains_key(e), "{e} was requested: {by:?}");
    }
    for t in ["member_groups", "tags", "member_notes"] {
        assert_eq!(common::count(&db, &format!("SELECT COUNT(*) FROM {t}")), 0);
    }
    // Advisors still come as members' snapshots.
    assert!(common::count(&db, "SELECT COUNT(*) FROM advisors") > 0);
}

/// How many member rows a night rewrites: those whose `lastSeenAt` (or
/// anything else) moved, not every member. `HUNTR_CHURN_SCALE` sets the
/// scale (2,000 for the figure in the report; 200 by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_night_rewrites_only_the_members_that_changed() {
    let scale = std::env::var("HUNTR_CHURN_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let sb = common::sandbox(scale, 21).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    let seen = "SELECT COUNT(*) || ' ' || COALESCE(MAX(last_seen_at), '') FROM members";
    let before = text(&db, seen);
    // No change at all: no member row counts as updated.
    let before_requests = sb.requests();
    let by_before = sb.requests_by_endpoint();
    let quiet = sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    let used = sb.requests() - before_requests;
    let by_after = sb.requests_by_endpoint();
    let new_used: u64 = ["advisors", "member-groups", "tags", "notes/<id>"]
        .iter()
        .map(|e| by_after.get(*e).unwrap_or(&0) - by_before.get(*e).unwrap_or(&0))
        .sum();
    let updated =
        |r: &huntr_sync::sync::SyncReport| r.tables.get("members").map_or(0, |c| c.updated);
    assert_eq!(updated(&quiet), 0);
    // A night: about one member in seven was seen.
    sb.advance_days(1);
    let night = sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    let members =
        common::count(&db, "SELECT COUNT(*) FROM members WHERE removed_at IS NULL") as u64;
    let moved = updated(&night);
    eprintln!(
        "scale {scale}: {members} members, a no-change run updated {} rows with {used} requests \
         ({new_used} to the new endpoints); a night updated {moved} member rows",
        updated(&quiet)
    );
    // One request per new listed resource, and for the two paged ones
    // (advisors, notes) the empty page after a last page that carries
    // `next`, as every paged listing today; notes, listed in full (the
    // endpoint has no filter), take a page per 500.
    let notes = common::count(&db, "SELECT COUNT(*) FROM member_notes") as u64;
    assert!(
        (4..=6 + notes / 500).contains(&new_used),
        "{notes} notes: {by_after:?}"
    );
    assert!(moved > 0 && moved < members / 3, "{moved} of {members}");
    assert_ne!(text(&db, seen), before);
    common::assert_matches_truth(&db, &sb.truth());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_warns_once_exits_0_and_check_says_not_served() {
    let sb = common::sandbox(10, 8).await;
    control(&sb, "missing?endpoint=notes/members&status=403").await;
    let dir = tempfile::tempdir().unwrap();
    let out = common::huntr_sync(dir.path())
        .args([
            "sync",
            "--base-url",
            &sb.base_url,
            "--destination",
            "sqlite:out/org.db",
        ])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let warned = stderr.matches("/notes/members answered 403").count();
    assert_eq!(warned, 1, "{stderr}");
    assert!(
        stdout.contains("skipped /notes/members: answered 403"),
        "{stdout}"
    );
    let check = common::huntr_sync(dir.path())
        .args(["check", "--base-url", &sb.base_url])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("notes/members") && l.contains("not served")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("tags") && l.contains("ok (")),
        "{text}"
    );
}

/// Delivered by webhooks, MEMBER_* actions keep members current before
/// any sync: deactivations, advisor changes and deletions show at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_member_actions_keep_members_current() {
    const SECRET: &[u8] = b"whsec-slice-a";
    let sb = common::sandbox(60, 29).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    let rx = common::receiver(&db, SECRET, 256).await;
    sb.skip_undelivered();
    control(&sb, "quirks?member_deletions=1").await;
    sb.advance_days(1);
    let url = format!("http://{}/webhook", rx.addr);
    sb.deliver(&url, SECRET).await.unwrap();
    rx.shutdown().await;
    let truth = sb.truth();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        // Members a listing wrote (not those a MEMBER_CREATED just added).
        .prepare("SELECT id, is_active, advisor_id, deleted_at FROM members WHERE _full = 1")
        .unwrap();
    let rows: Vec<(String, i64, Option<String>, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let (mut inactive, mut deleted) = (0, 0);
    for (id, active, advisor, deleted_at) in rows {
        let Some(want) = truth.tables["members"].get(&id) else {
            assert!(deleted_at.is_some(), "{id} was deleted");
            deleted += 1;
            continue;
        };
        let want_active = want["is_active"].as_deref() == Some("1");
        assert_eq!(active == 1, want_active, "{id} is_active");
        assert_eq!(advisor, want["advisor_id"], "{id} advisor");
        inactive += (!want_active) as u32;
    }
    assert_eq!(deleted, 1);
    assert!(inactive > 0);
}
