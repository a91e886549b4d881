//! Destinations written by release 0.1 (tests/fixtures/v0.1: before the
//! state database had a schema version) open with the current code, are
//! migrated, and sync incrementally to the sandbox's ground truth.

use std::path::{Path, PathBuf};

use huntr_sync::destination::parquet::table_file;
use huntr_sync::schema::SCHEMA;
use huntr_sync::store::{migrate, Store};
use huntr_sync::sync::{sync, SyncOptions, Target};

use crate::common;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v0.1")
        .join(name)
}

/// Copies a fixture directory into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn user_version(db: &Path) -> i64 {
    common::count(db, "PRAGMA user_version")
}

fn runs(db: &Path) -> i64 {
    common::count(db, "SELECT COUNT(*) FROM sync_runs")
}

/// The fixtures were written by syncing this organization once (before
/// the sandbox had goal, document and employer portal actions: their
/// history would be older than the fixtures' watermark).
async fn fixture_org() -> huntr_sync::sandbox::RunningSandbox {
    huntr_sync::sandbox::RunningSandbox::start(huntr_sync::sandbox::SandboxOptions {
        scale: 12,
        seed: 7,
        goal_history: false,
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_destination_from_release_0_1_migrates_and_syncs_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("sqlite"), dir.path());
    let db = dir.path().join("huntr.db");
    assert_eq!(user_version(&db), 0, "written before schema versions");
    let before = runs(&db);

    Store::open(&db).unwrap();
    assert_eq!(user_version(&db), migrate::LATEST);

    let sb = fixture_org().await;
    sb.advance_days(1);
    let client = common::fast_client(&sb.base_url, &sb.token);
    let report = sync(&client, &Target::sqlite(&db), &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    assert_eq!(runs(&db), before + 1);
    // Incremental: the day's changes, not the organization again.
    let inserted: u64 = report.tables.values().map(|c| c.inserted).sum();
    let total = common::count(&db, "SELECT COUNT(*) FROM actions") as u64;
    assert!(
        inserted < total,
        "{inserted} rows inserted of {total} actions"
    );
    common::assert_matches_truth(&db, &sb.truth());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_destination_from_release_0_1_migrates_and_publishes_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pq");
    copy_dir(&fixture("parquet"), &out);
    let state = huntr_sync::destination::parquet::state_db(&out);
    assert_eq!(user_version(&state), 0, "written before schema versions");

    let sb = fixture_org().await;
    sb.advance_days(1);
    let client = common::fast_client(&sb.base_url, &sb.token);
    let target = Target::parquet(&out);
    let report = sync(&client, &target, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    assert_eq!(user_version(&state), migrate::LATEST);
    assert!(
        !report.published.is_empty() && report.published.len() < SCHEMA.tables.len(),
        "only the changed tables are published again: {:?}",
        report.published
    );
    let read = dir.path().join("read.db");
    common::parquet_to_sqlite(|t| table_file(&out, t), &read);
    common::assert_matches_truth(&read, &sb.truth());
}

#[test]
fn a_state_from_a_newer_release_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", migrate::LATEST + 1)
        .unwrap();
    let err = Store::open(&db).err().expect("refused").to_string();
    assert!(err.contains("written by a newer huntr-sync"), "{err}");
    assert!(err.contains("upgrade huntr-sync"), "{err}");
}

/// A digest of the file's bytes and the names beside it, to tell any
/// write.
fn snapshot(dir: &Path, db: &Path) -> (u64, Vec<String>) {
    // SQLite's shared-memory index, and an empty log, which a reader of a
    // WAL-mode file may leave behind; a write would fill the log.
    let wal = dir.join("huntr.db-wal");
    if wal.exists() {
        assert_eq!(
            std::fs::metadata(&wal).unwrap().len(),
            0,
            "the log holds a write"
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("csv") && !n.ends_with("-shm") && !n.ends_with("-wal"))
        .collect();
    names.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&std::fs::read(db).unwrap(), &mut h);
    (std::hash::Hasher::finish(&h), names)
}

async fn read_command(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = common::huntr_sync(dir)
        .args(args)
        .args(["--destination", "sqlite:huntr.db"])
        .output()
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_commands_neither_migrate_nor_write_the_state() {
    let export = ["export", "--format", "csv", "--to", "csv"];
    // A state from release 0.1: refused with what to do, left as it was.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("sqlite"), dir.path());
    let db = dir.path().join("huntr.db");
    let before = snapshot(dir.path(), &db);
    for args in [&["state", "show"][..], &export] {
        let (code, err) = read_command(dir.path(), args).await;
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains("last written by an older huntr-sync")
                && err.contains("run `huntr-sync sync` once to upgrade it"),
            "{args:?}: {err}"
        );
        assert_eq!(snapshot(dir.path(), &db), before, "{args:?} wrote");
        assert_eq!(user_version(&db), 0);
    }
    // A current state: read, and not one byte written.
    let sb = common::sandbox(6, 19).await;
    let client = common::fast_client(&sb.base_url, &sb.token);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("huntr.db");
    sync(&client, &Target::sqlite(&db), &SyncOptions::default())
        .await
        .unwrap();
    let before = snapshot(dir.path(), &db);
    for args in [&["state", "show"][..], &export] {
        let (code, err) = read_command(dir.path(), args).await;
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_eq!(snapshot(dir.path(), &db), before, "{args:?} wrote");
    }
    assert!(dir.path().join("csv/jobs.csv").exists());
}
