//! Goals, documents and the employer portal (#17) end to end: their tables
//! equal the sandbox's truth after a full sync and after simulated days
//! (SQLite and Parquet), and the webhook receiver stores what GOAL_*,
//! DOCUMENT_* and ORGANIZATION_EMPLOYER_* actions carry, as a sync does.

use crate::common;

use huntr_sync::destination::parquet::table_file;
use huntr_sync::sandbox::Truth;
use huntr_sync::sync::{sync, sync_sqlite, SyncOptions, Target};
use huntr_sync::webhook::{sign, Receiver, SIGNATURE_HEADER};
use serde_json::{json, Value};

/// The tables of this feature.
const TABLES: [&str; 14] = [
    "goals",
    "goal_conditions",
    "goal_enrollment_triggers",
    "goal_recurrence_values",
    "goal_intervals",
    "goal_enrollments",
    "goal_progresses",
    "goal_progress_activities",
    "goal_progress_jobs",
    "goal_progress_contacts",
    "documents",
    "employer_requests",
    "employer_partnerships",
    "actions",
];

/// The truth of `tables` alone.
fn only(truth: &Truth, tables: &[&str]) -> Truth {
    let mut t = truth.clone();
    t.tables.retain(|k, _| tables.contains(k));
    t.deleted.retain(|k, _| tables.contains(k));
    t
}

fn assert_filled(db: &std::path::Path) {
    for t in TABLES {
        let n = common::count(db, &format!("SELECT COUNT(*) FROM {t}"));
        assert!(n > 0, "{t} is empty");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goal_tables_equal_the_truth_fully_and_incrementally_in_sqlite() {
    let sb = common::sandbox(30, 17).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions {
        limit: 50,
        ..Default::default()
    };
    let report = sync_sqlite(&client, &db, &opts).await.unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    common::assert_matches_truth(&db, &only(&sb.truth(), &TABLES));
    assert_filled(&db);
    // Inactive goals are listed too.
    assert!(common::count(&db, "SELECT COUNT(*) FROM goals WHERE status = 'INACTIVE'") > 0);
    for _ in 0..3 {
        sb.advance_days(1);
        let report = sync_sqlite(&client, &db, &opts).await.unwrap();
        assert!(report.complete(), "{:?}", report.incomplete);
        common::assert_matches_truth(&db, &only(&sb.truth(), &TABLES));
    }
    let deleted = "SELECT COUNT(*) FROM documents WHERE deleted_at IS NOT NULL";
    assert!(common::count(&db, deleted) > 0);
    let dangling = [
        "SELECT COUNT(*) FROM goal_enrollments WHERE goal_id NOT IN (SELECT id FROM goals)",
        "SELECT COUNT(*) FROM goal_enrollments WHERE owner_member_id NOT IN (SELECT id FROM members)",
        "SELECT COUNT(*) FROM goal_progresses WHERE goal_enrollment_id NOT IN (SELECT id FROM goal_enrollments)",
        "SELECT COUNT(*) FROM goal_progress_jobs WHERE job_id NOT IN (SELECT id FROM jobs)",
        "SELECT COUNT(*) FROM goal_intervals WHERE goal_id NOT IN (SELECT id FROM goals)",
        "SELECT COUNT(*) FROM employer_requests WHERE employer_id NOT IN (SELECT id FROM employers)",
        "SELECT COUNT(*) FROM employer_partnerships WHERE employer_id NOT IN (SELECT id FROM employers)",
        "SELECT COUNT(*) FROM actions WHERE document_id IS NOT NULL AND document_id NOT IN (SELECT id FROM documents)",
        "SELECT COUNT(*) FROM actions WHERE goal_id IS NOT NULL AND goal_id NOT IN (SELECT id FROM goals)",
    ];
    for sql in dangling {
        assert_eq!(common::count(&db, sql), 0, "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goal_tables_equal_the_truth_fully_and_incrementally_in_parquet() {
    let sb = common::sandbox(25, 23).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pq");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let target = Target::parquet(&out);
    let read = |name: &str| dir.path().join(format!("{name}.db"));
    sync(&client, &target, &SyncOptions::default())
        .await
        .unwrap();
    common::parquet_to_sqlite(|t| table_file(&out, t), &read("day0"));
    common::assert_matches_truth(&read("day0"), &only(&sb.truth(), &TABLES));
    assert_filled(&read("day0"));
    sb.advance_days(2);
    let second = sync(&client, &target, &SyncOptions::default())
        .await
        .unwrap();
    assert!(second.published.contains(&"goal_progresses".to_string()));
    common::parquet_to_sqlite(|t| table_file(&out, t), &read("day2"));
    common::assert_matches_truth(&read("day2"), &only(&sb.truth(), &TABLES));
}

const SECRET: &[u8] = b"whsec-goals-17";

async fn receiver(db: &std::path::Path) -> Receiver {
    common::receiver(db, SECRET, 256).await
}

async fn post(url: &str, body: Vec<u8>) -> u16 {
    let sig = sign(SECRET, &body);
    reqwest::Client::new()
        .post(url)
        .header(SIGNATURE_HEADER, sig)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/reference/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One action of each new type, from the reference's examples.
fn one_of_each() -> Vec<(&'static str, Value)> {
    let c = |n: &str| fixture(&format!("current/{n}"));
    let employer = fixture("action")["employer"].clone();
    let goal = json!({"goal": c("goal")});
    let enrollment = json!({"goal": c("goal"), "goalEnrollment": c("goal_enrollment")});
    let progress = json!({"goal": c("goal"), "goalEnrollment": c("goal_enrollment"),
                          "goalProgress": c("goal_progress"), "update": {"status": "COMPLETE"}});
    let document = json!({"document": c("document"), "jobs": []});
    let request =
        json!({"organizationEmployerRequest": c("employer_request"), "employer": employer});
    let partnership =
        json!({"organizationEmployerPartnership": c("employer_partnership"), "employer": employer});
    vec![
        ("GOAL_CREATED", goal.clone()),
        ("GOAL_UPDATED", goal),
        ("GOAL_ENROLLMENT_CREATED", enrollment.clone()),
        ("GOAL_ENROLLMENT_CONCLUDED", enrollment),
        ("GOAL_PROGRESS_UPDATED", progress.clone()),
        ("GOAL_PROGRESS_COMPLETED", progress.clone()),
        ("GOAL_PROGRESS_INCOMPLETE", progress.clone()),
        ("GOAL_PROGRESS_IN_PROGRESS", progress.clone()),
        ("GOAL_PROGRESS_UNENROLLED", progress),
        ("DOCUMENT_CREATED", document.clone()),
        ("DOCUMENT_UPDATED", document),
        ("ORGANIZATION_EMPLOYER_REQUEST_CREATED", request.clone()),
        ("ORGANIZATION_EMPLOYER_REQUEST_VERIFIED", request.clone()),
        ("ORGANIZATION_EMPLOYER_REQUEST_APPROVED", request.clone()),
        ("ORGANIZATION_EMPLOYER_REQUEST_DECLINED", request),
        ("ORGANIZATION_EMPLOYER_PARTNERSHIP_CREATED", partnership),
        (
            "DOCUMENT_DELETED",
            json!({"documentId": "622bc9862a2ee4f9779277eb"}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_stores_one_of_each_new_action_type_like_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let rx = receiver(&db).await;
    let url = format!("http://{}/", rx.addr);
    let all = one_of_each();
    for (i, (action_type, fields)) in all.iter().enumerate() {
        let mut a = fixture("action");
        let obj = a.as_object_mut().unwrap();
        for k in ["job", "jobId", "employer", "toList"] {
            obj.remove(k);
        }
        obj.insert("id".into(), json!(format!("act{i:02}")));
        obj.insert("actionType".into(), json!(action_type));
        // Each a second later, the deletion last.
        obj.insert("date".into(), json!(1_700_000_000 + i as i64));
        for (k, v) in fields.as_object().unwrap() {
            obj.insert(k.clone(), v.clone());
        }
        assert_eq!(
            post(&url, serde_json::to_vec(&a).unwrap()).await,
            200,
            "{action_type}"
        );
    }
    rx.shutdown().await;
    let n = |sql: &str| common::count(&db, sql);
    assert_eq!(n("SELECT COUNT(*) FROM actions") as usize, all.len());
    assert_eq!(
        n("SELECT COUNT(DISTINCT action_type) FROM actions") as usize,
        all.len()
    );
    assert_eq!(
        n("SELECT COUNT(*) FROM goals WHERE id = '61bf6eef5fda60b9fb7f3978'"),
        1
    );
    assert_eq!(
        n("SELECT COUNT(*) FROM goal_enrollments WHERE goal_id = '61a1653e0a60f10199537f84' AND status = 'ACTIVE'"),
        1
    );
    assert_eq!(
        n("SELECT COUNT(*) FROM goal_progresses WHERE status = 'IN_PROGRESS' AND objective_numeric_count = 2"),
        1
    );
    assert_eq!(n("SELECT COUNT(*) FROM goal_progress_jobs"), 2);
    assert_eq!(
        n("SELECT COUNT(*) FROM documents WHERE deleted_at = '2023-11-14T22:13:36Z'"),
        1,
        "created, updated, then deleted at the DOCUMENT_DELETED's date"
    );
    assert_eq!(
        n("SELECT COUNT(*) FROM employer_requests WHERE employer_id = '5a016b5221bce9aa2bd70296'"),
        1
    );
    assert_eq!(
        n("SELECT COUNT(*) FROM employer_partnerships WHERE employer_id = '5eb4719153a6366028ad14e6'"),
        1
    );
    for col in [
        "goal_id",
        "goal_enrollment_id",
        "goal_progress_id",
        "document_id",
        "employer_request_id",
        "employer_partnership_id",
    ] {
        assert!(
            n(&format!(
                "SELECT COUNT(*) FROM actions WHERE {col} IS NOT NULL"
            )) > 0,
            "{col}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_delivered_goal_actions_lands_before_any_sync() {
    let sb = common::sandbox(20, 29).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &Default::default())
        .await
        .unwrap();
    let rx = receiver(&db).await;
    let url = format!("http://{}/webhook", rx.addr);
    sb.skip_undelivered();
    sb.advance_days(1);
    assert!(sb.deliver(&url, SECRET).await.unwrap() > 20);
    rx.shutdown().await;
    // What only actions carry is complete without a sync.
    let carried = [
        "goal_enrollments",
        "goal_progresses",
        "goal_progress_activities",
        "goal_progress_jobs",
        "goal_progress_contacts",
        "documents",
        "employer_requests",
        "employer_partnerships",
        "actions",
    ];
    common::assert_matches_truth(&db, &only(&sb.truth(), &carried));
}

/// The README's goal-completion recipe.
fn readme_goal_query() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = &readme[readme.find("<!-- goal-completion -->").expect("marker")..];
    let start = after.find("```sql").unwrap() + 6;
    let end = start + after[start..].find("```").unwrap();
    after[start..end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_goal_completion_recipe_answers() {
    let sb = common::sandbox(30, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &Default::default())
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn.prepare(&readme_goal_query()).unwrap();
    let rows: Vec<(String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|(_, enrolled, done)| enrolled >= done));
    assert!(rows.iter().any(|(_, _, done)| *done > 0), "{rows:?}");
}
