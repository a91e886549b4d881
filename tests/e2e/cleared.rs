//! Values cleared in Huntr are cleared here too: after days in which
//! completed activities were reopened (the API then shows no
//! `completedAt`) and notes emptied (no `note`), every live row equals the
//! sandbox's truth, column by column, in SQLite, Parquet and Delta, by a
//! sync alone and by the webhook receiver followed by a sync.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use huntr_sync::sandbox::{RunningSandbox, SandboxOptions};
use huntr_sync::sync::{sync, SyncOptions, Target};

const SECRET: &[u8] = b"whsec-cleared-41c2";

/// Reopened activities a day: enough that a missed clearing cannot hide.
const REOPENED: u32 = 12;

async fn sandbox(seed: u64) -> RunningSandbox {
    RunningSandbox::start(SandboxOptions {
        scale: 25,
        seed,
        reopened_activities: REOPENED,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Ids of the activities the sandbox reopened that are still open and
/// live, and how many of them have no note now.
fn reopened(sb: &RunningSandbox) -> (Vec<String>, usize) {
    let ids = common::open_activities(sb, |a| {
        a.update.as_ref().is_some_and(|u| u["completed"] == false)
    });
    let org = sb.shared.org.read().unwrap();
    let without_note = org
        .activities
        .iter()
        .filter(|a| ids.contains(&a.id.hex()) && a.note.is_none())
        .count();
    (ids, without_note)
}

/// The destination's tables as one SQLite file to compare.
async fn as_sqlite(kind: &str, out: &Path, work: &Path) -> PathBuf {
    match kind {
        "sqlite" => out.to_owned(),
        "parquet" => {
            let db = work.join("from-parquet.db");
            let _ = std::fs::remove_file(&db);
            common::parquet_to_sqlite(
                |t| huntr_sync::destination::parquet::table_file(out, t),
                &db,
            );
            db
        }
        _ => {
            let db = work.join("from-delta.db");
            let _ = std::fs::remove_file(&db);
            crate::delta::to_sqlite(out, &HashMap::new(), &db).await;
            db
        }
    }
}

/// Every reopened activity shows no completion time, and those whose note
/// was emptied no note, and everything else equals the truth.
async fn assert_exact(kind: &str, out: &Path, work: &Path, sb: &RunningSandbox, when: &str) {
    let db = as_sqlite(kind, out, work).await;
    let problems = common::diff(&db, &sb.truth());
    assert!(
        problems.is_empty(),
        "{kind}, {when}:\n{}",
        problems.join("\n")
    );
    let (ids, without_note) = reopened(sb);
    assert!(ids.len() >= REOPENED as usize, "{kind}: {ids:?}");
    let list = common::sql_list(&ids);
    let cleared = |cond: &str| {
        common::count(
            &db,
            &format!("SELECT COUNT(*) FROM activities WHERE id IN ({list}) AND {cond}"),
        )
    };
    assert_eq!(
        cleared("completed_at IS NULL") as usize,
        ids.len(),
        "{kind}, {when}"
    );
    assert_eq!(
        cleared("note IS NULL") as usize,
        without_note,
        "{kind}, {when}"
    );
    assert!(without_note > 0, "{kind}: no note was emptied");
}

fn target(kind: &str, out: &Path) -> Target {
    Target::parse(&format!("{kind}:{}", out.display())).unwrap()
}

fn out_of(kind: &str, dir: &Path) -> PathBuf {
    match kind {
        "sqlite" => dir.join("org.db"),
        _ => dir.join(kind),
    }
}

/// A sandbox with reopened activities, and a destination of `kind` its
/// first sync has filled.
struct Case {
    sb: RunningSandbox,
    dir: tempfile::TempDir,
    out: PathBuf,
    client: huntr_sync::api::Client,
}

impl Case {
    async fn start(kind: &str, seed: u64) -> Case {
        let sb = sandbox(seed).await;
        let dir = tempfile::tempdir().unwrap();
        let out = out_of(kind, dir.path());
        let client = common::fast_client(&sb.base_url, &sb.token);
        let case = Case {
            sb,
            dir,
            out,
            client,
        };
        case.sync(kind).await;
        case
    }

    /// A complete sync into the destination.
    async fn sync(&self, kind: &str) {
        let target = target(kind, &self.out);
        let report = sync(&self.client, &target, &SyncOptions::default())
            .await
            .unwrap();
        assert!(report.complete(), "{:?}", report.incomplete);
    }
}

async fn by_sync_alone(kind: &str) {
    let case = Case::start(kind, 37).await;
    for day in 1..=3 {
        case.sb.advance_days(1);
        case.sync(kind).await;
        let when = format!("day {day}");
        assert_exact(kind, &case.out, case.dir.path(), &case.sb, &when).await;
    }
}

async fn by_receiver_then_sync(kind: &str) {
    let case = Case::start(kind, 53).await;
    let (sb, out) = (&case.sb, &case.out);
    // A first day completes activities, the second reopens some of them.
    sb.advance_days(1);
    case.sync(kind).await;
    let rx = common::receiver_into(target(kind, out), SECRET, 256).await;
    let url = format!("http://{}/webhook", rx.addr);
    sb.skip_undelivered();
    sb.advance_days(1);
    let delivered = sb.deliver(&url, SECRET).await.unwrap();
    assert!(delivered > 0);
    sb.advance_days(1);
    sb.deliver(&url, SECRET).await.unwrap();
    if kind == "sqlite" {
        // The receiver alone has cleared them (a delivery is answered once
        // it is stored).
        let (ids, _) = reopened(sb);
        let list = common::sql_list(&ids);
        let still = common::count(
            out,
            &format!(
                "SELECT COUNT(*) FROM activities WHERE id IN ({list}) AND completed_at IS NOT NULL"
            ),
        );
        assert_eq!(
            still, 0,
            "the receiver left completion times of reopened activities"
        );
    }
    case.sync(kind).await;
    rx.shutdown().await;
    assert_exact(kind, out, case.dir.path(), sb, "receiver, then a sync").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopened_activities_and_emptied_notes_are_cleared_in_sqlite_by_a_sync() {
    by_sync_alone("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopened_activities_and_emptied_notes_are_cleared_in_parquet_by_a_sync() {
    by_sync_alone("parquet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopened_activities_and_emptied_notes_are_cleared_in_delta_by_a_sync() {
    by_sync_alone("delta").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopened_activities_and_emptied_notes_are_cleared_in_sqlite_by_the_receiver() {
    by_receiver_then_sync("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopened_activities_and_emptied_notes_are_cleared_in_parquet_by_the_receiver() {
    by_receiver_then_sync("parquet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopened_activities_and_emptied_notes_are_cleared_in_delta_by_the_receiver() {
    by_receiver_then_sync("delta").await;
}

/// Requests per endpoint of the sync after one simulated day of the
/// organization seeded `seed`, with `reopened` activities reopened.
async fn day_requests(seed: u64, reopened: u32) -> std::collections::BTreeMap<String, u64> {
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 200,
        seed,
        reopened_activities: reopened,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions::default();
    sync(&client, &Target::sqlite(&db), &opts).await.unwrap();
    sb.advance_days(1);
    let before = sb.requests_by_endpoint();
    let report = sync(&client, &Target::sqlite(&db), &opts).await.unwrap();
    assert!(report.complete());
    common::assert_matches_truth(&db, &sb.truth());
    sb.requests_by_endpoint()
        .into_iter()
        .map(|(k, v)| {
            let n = v - before.get(&k).copied().unwrap_or(0);
            (k, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Clearing costs no request: a day on which 40 activities were reopened
/// is read with exactly the requests of the same day without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_values_costs_no_extra_request() {
    let plain = day_requests(71, 0).await;
    let reopened = day_requests(71, 40).await;
    eprintln!("a day's requests: {plain:?}; with 40 reopened activities: {reopened:?}");
    assert_eq!(reopened, plain);
}
