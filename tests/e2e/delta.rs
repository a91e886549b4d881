//! The Delta Lake destination on a local disk: every table equals the
//! ground truth after each run, a changed table gets exactly one new
//! version naming its run, `_huntr_sync_runs` lists a consistent set of
//! versions, time travel shows the previous night, and the retention
//! decides when replaced files go. (Object storage, and readers other than
//! delta-rs, are checked by scripts/lake_check.py; refusals by `storage`.)

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use deltalake_core::{DeltaTable, DeltaTableBuilder};
use huntr_sync::destination::delta::{RUNS_TABLE, RUN_ID_KEY};
use huntr_sync::schema::SCHEMA;
use huntr_sync::sync::{sync, SyncOptions, Target};

async fn table_at(out: &Path, name: &str, version: Option<i64>) -> DeltaTable {
    let url = url::Url::from_directory_path(out.join(name)).unwrap();
    let mut b = DeltaTableBuilder::from_url(url).unwrap();
    if let Some(v) = version {
        b = b.with_version(v as u64);
    }
    b.load().await.unwrap()
}

/// The data files of `table` at `version` (the latest if `None`).
async fn files_of(out: &Path, name: &str, version: Option<i64>) -> Vec<PathBuf> {
    let t = table_at(out, name, version).await;
    let snapshot = t.snapshot().unwrap();
    snapshot
        .log_data()
        .iter()
        .map(|f| out.join(name).join(f.path().as_ref()))
        .collect()
}

/// Every contract table at the versions given (latest if absent), loaded
/// into a SQLite file with the contract's DDL.
pub(crate) async fn to_sqlite(out: &Path, versions: &HashMap<String, i64>, db: &Path) {
    let mut file_of = HashMap::new();
    for t in &SCHEMA.tables {
        let files = files_of(out, &t.name, versions.get(&t.name).copied()).await;
        assert_eq!(files.len(), 1, "{}: one file per version", t.name);
        file_of.insert(t.name.clone(), files[0].clone());
    }
    common::parquet_to_sqlite(|t| file_of[t].clone(), db);
}

/// `_huntr_sync_runs` as (run, table) -> version.
async fn runs(out: &Path) -> HashMap<(i64, String), i64> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut out_map = HashMap::new();
    for f in files_of(out, RUNS_TABLE, None).await {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let b = batch.unwrap();
            let run = b
                .column_by_name("run_id")
                .unwrap()
                .as_primitive::<Int64Type>();
            let table = b.column_by_name("table_name").unwrap().as_string::<i32>();
            let version = b
                .column_by_name("version")
                .unwrap()
                .as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                out_map.insert((run.value(i), table.value(i).to_owned()), version.value(i));
            }
        }
    }
    out_map
}

fn versions_of(runs: &HashMap<(i64, String), i64>, run: i64) -> HashMap<String, i64> {
    runs.iter()
        .filter(|((r, _), _)| *r == run)
        .map(|((_, t), v)| (t.clone(), *v))
        .collect()
}

/// The run id in the commit info of the table's latest version.
async fn last_run_id(out: &Path, name: &str) -> i64 {
    let t = table_at(out, name, None).await;
    use futures_util::StreamExt;
    let last = t.history(Some(1)).next().await.unwrap().unwrap();
    last.info[RUN_ID_KEY].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_tables_equal_the_truth_and_the_previous_night_stays_readable() {
    let sb = common::sandbox(25, 43).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lake");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions {
        limit: 60,
        ..Default::default()
    };
    let db = |name: &str| dir.path().join(format!("{name}.db"));
    let first = sync(&client, &Target::delta(&out), &opts).await.unwrap();
    assert_eq!(first.published.len(), SCHEMA.tables.len());
    to_sqlite(&out, &HashMap::new(), &db("day0")).await;
    common::assert_matches_truth(&db("day0"), &sb.truth());
    let night0 = sb.truth();

    sb.advance_days(1);
    let second = sync(&client, &Target::delta(&out), &opts).await.unwrap();
    to_sqlite(&out, &HashMap::new(), &db("day1")).await;
    common::assert_matches_truth(&db("day1"), &sb.truth());
    common::assert_no_duplicate_keys(&db("day1"));

    // One new version per changed table, naming its run; the others stay.
    let listed = runs(&out).await;
    let (v1, v2) = (
        versions_of(&listed, first.run_id),
        versions_of(&listed, second.run_id),
    );
    assert_eq!(v1.len(), SCHEMA.tables.len(), "run 1 lists every table");
    assert_eq!(v2.len(), SCHEMA.tables.len(), "run 2 lists every table");
    for t in &SCHEMA.tables {
        let changed = second.published.contains(&t.name);
        let want = v1[&t.name] + i64::from(changed);
        assert_eq!(v2[&t.name], want, "{}: version after run 2", t.name);
        assert_eq!(
            table_at(&out, &t.name, None).await.version(),
            Some(want as u64)
        );
        let run = if changed { second.run_id } else { first.run_id };
        assert_eq!(last_run_id(&out, &t.name).await, run, "{}", t.name);
    }
    assert!(second.published.contains(&"jobs".to_string()));
    assert!(!second
        .published
        .contains(&"activity_categories".to_string()));

    // Time travel: run 1's versions are the first night, whole.
    to_sqlite(&out, &v1, &db("back")).await;
    common::assert_matches_truth(&db("back"), &night0);

    // A run that changes nothing commits nothing.
    let third = sync(&client, &Target::delta(&out), &opts).await.unwrap();
    assert!(third.published.is_empty(), "{:?}", third.published);
    assert!(versions_of(&runs(&out).await, third.run_id).is_empty());

    // Killed after its commits, before listing them: the next run lists
    // them, though it has nothing to commit itself.
    let store = Target::delta(&out).open_store().unwrap();
    store
        .tables()
        .mark_published(RUNS_TABLE, first.run_id, 0)
        .unwrap();
    drop(store);
    let again = sync(&client, &Target::delta(&out), &opts).await.unwrap();
    assert!(again.published.is_empty());
    assert_eq!(versions_of(&runs(&out).await, again.run_id), v2);

    // Killed between a table's commit and its record: the next run cannot
    // know the version, so it commits the table again and lists that.
    let store = Target::delta(&out).open_store().unwrap();
    store
        .tables()
        .forget_version("goal_enrollment_triggers")
        .unwrap();
    drop(store);
    let fourth = sync(&client, &Target::delta(&out), &opts).await.unwrap();
    assert_eq!(fourth.published, ["goal_enrollment_triggers"]);
    let listed = versions_of(&runs(&out).await, fourth.run_id);
    let now = table_at(&out, "goal_enrollment_triggers", None)
        .await
        .version();
    assert_eq!(Some(listed["goal_enrollment_triggers"] as u64), now);

    // The state is lost: one full refresh, and run ids go on from the
    // destination's highest, never reused.
    std::fs::remove_dir_all(out.join("_huntr_sync")).unwrap();
    let fresh = sync(&client, &Target::delta(&out), &opts).await.unwrap();
    assert_eq!(fresh.run_id, fourth.run_id + 1);
    assert_eq!(fresh.published.len(), SCHEMA.tables.len());
    to_sqlite(&out, &HashMap::new(), &db("fresh")).await;
    common::assert_no_duplicate_keys(&db("fresh"));
    common::assert_matches_truth(&db("fresh"), &sb.truth());
    assert_eq!(
        versions_of(&runs(&out).await, fresh.run_id).len(),
        SCHEMA.tables.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_files_stay_for_the_retention_then_go() {
    let sb = common::sandbox(10, 44).await;
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions::default();
    let dir = tempfile::tempdir().unwrap();
    let parquet_files = |d: &Path| {
        std::fs::read_dir(d.join("jobs"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().ends_with(".parquet")
            })
            .count()
    };
    let kept = dir.path().join("kept");
    let gone = dir.path().join("gone");
    let no_retention = huntr_sync::destination::Settings {
        retention_days: Some(0),
        ..Default::default()
    };
    let zero = Target::with_settings(&format!("delta:{}", gone.display()), &no_retention).unwrap();
    for target in [Target::delta(&kept), zero.clone()] {
        sync(&client, &target, &opts).await.unwrap();
    }
    sb.advance_days(1);
    for target in [Target::delta(&kept), zero] {
        let report = sync(&client, &target, &opts).await.unwrap();
        assert!(report.published.contains(&"jobs".to_string()));
    }
    assert_eq!(
        parquet_files(&kept),
        2,
        "yesterday's file is kept for 7 days"
    );
    assert_eq!(parquet_files(&gone), 1, "with retention 0 it goes at once");
    assert_eq!(files_of(&kept, "jobs", Some(1)).await.len(), 1);
}
