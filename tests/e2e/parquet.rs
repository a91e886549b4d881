//! The Parquet destination: files equal the ground truth after each run,
//! the changes export replays into a warehouse, and a killed sync never
//! leaves a half-written table.

use crate::common;

use std::time::Duration;

use huntr_sync::destination::parquet::table_file;
use huntr_sync::schema::SCHEMA;
use huntr_sync::sync::{sync, SyncOptions, Target};
use rand::{Rng, SeedableRng};

fn target(dir: &std::path::Path) -> Target {
    let with_changes = huntr_sync::destination::Settings {
        export_changes: true,
        ..Default::default()
    };
    Target::with_settings(&format!("parquet:{}", dir.display()), &with_changes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_files_equal_the_ground_truth_across_days() {
    let sb = common::sandbox(25, 41).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pq");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions {
        limit: 60,
        ..Default::default()
    };
    let first = sync(&client, &target(&out), &opts).await.unwrap();
    assert_eq!(
        first.published.len(),
        SCHEMA.tables.len(),
        "every table published"
    );
    let read = |name: &str| dir.path().join(format!("{name}.db"));
    common::parquet_to_sqlite(|t| table_file(&out, t), &read("day0"));
    common::assert_matches_truth(&read("day0"), &sb.truth());

    sb.advance_days(1);
    let second = sync(&client, &target(&out), &opts).await.unwrap();
    assert!(second.published.contains(&"jobs".to_string()));
    assert!(
        !second
            .published
            .contains(&"activity_categories".to_string()),
        "unchanged tables are not rewritten"
    );
    common::parquet_to_sqlite(|t| table_file(&out, t), &read("day1"));
    common::assert_matches_truth(&read("day1"), &sb.truth());
    common::assert_no_duplicate_keys(&read("day1"));

    // The changes export replays onto yesterday's snapshot, as a warehouse
    // MERGE would: upsert by key; children replaced by parent key.
    let changes = out.join("_changes").join(format!("run={}", second.run_id));
    assert!(changes.join("jobs.parquet").exists());
    assert!(second.changes_exported > 0);
    let delta = common::parquet_to_sqlite(|t| changes.join(format!("{t}.parquet")), &read("delta"));
    drop(delta);
    let warehouse = rusqlite::Connection::open(read("day0")).unwrap();
    warehouse
        .execute_batch(&format!("ATTACH '{}' AS delta", read("delta").display()))
        .unwrap();
    for t in &SCHEMA.tables {
        let cols: Vec<&str> = t.visible().map(|c| c.name.as_str()).collect();
        if let Some((parent, col)) = &t.parent {
            let pkey = &SCHEMA.get(parent).unwrap().key[0];
            warehouse
                .execute_batch(&format!(
                    "DELETE FROM {0} WHERE {col} IN (SELECT {pkey} FROM delta.{parent})",
                    t.name
                ))
                .unwrap();
        }
        warehouse
            .execute_batch(&format!(
                "INSERT OR REPLACE INTO {0} ({1}) SELECT {1} FROM delta.{0}",
                t.name,
                cols.join(", ")
            ))
            .unwrap();
    }
    drop(warehouse);
    common::assert_matches_truth(&read("day0"), &sb.truth());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_parquet_sync_leaves_complete_tables() {
    let sb = common::sandbox(20, 43).await;
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "sync",
        "--base-url",
        &sb.base_url,
        "--destination",
        "parquet:pq",
        "--limit",
        "25",
    ];
    let run = || {
        common::huntr_sync(dir.path())
            .args(args)
            .env("HUNTR_ORG_TOKEN", &sb.token)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    assert!(run().wait().await.unwrap().success());
    let seed: u64 = rand::random();
    eprintln!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let out = dir.path().join("pq");
    for round in 0..10 {
        if round % 3 == 0 {
            sb.advance_days(1);
        }
        let mut child = run();
        tokio::time::sleep(Duration::from_millis(rng.random_range(5..700))).await;
        let _ = child.start_kill();
        child.wait().await.unwrap();
        // Whatever the kill interrupted, each table is one complete file.
        let snapshot = dir.path().join(format!("read{round}.db"));
        common::parquet_to_sqlite(|t| table_file(&out, t), &snapshot);
        for t in &SCHEMA.tables {
            assert!(
                table_file(&out, &t.name).exists(),
                "{} lost its file",
                t.name
            );
        }
        common::assert_no_duplicate_keys(&snapshot);
    }
    assert!(run().wait().await.unwrap().success());
    let last = dir.path().join("last.db");
    common::parquet_to_sqlite(|t| table_file(&out, t), &last);
    common::assert_matches_truth(&last, &sb.truth());
}
