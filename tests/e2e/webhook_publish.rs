//! The receiver publishes to a destination of files while it runs: a
//! delivered action shows in the Parquet files, and in the Delta table,
//! within 15 s (the receiver publishes every 10 s at most while
//! deliveries arrive), and a sync beside it still runs and publishes.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use huntr_sync::sync::{sync, SyncOptions, Target};
use parquet::file::reader::{FileReader, SerializedFileReader};

const SECRET: &[u8] = b"publish-test-secret";

/// Rows of one Parquet file, from its footer.
fn rows_in(file: &Path) -> i64 {
    let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
    reader.metadata().file_metadata().num_rows()
}

/// The `actions` rows the destination shows now.
async fn actions_shown(kind: &str, out: &Path) -> i64 {
    let file: PathBuf = match kind {
        "parquet" => huntr_sync::destination::parquet::table_file(out, "actions"),
        _ => {
            let url = url::Url::from_directory_path(out.join("actions")).unwrap();
            let table = deltalake_core::DeltaTableBuilder::from_url(url)
                .unwrap()
                .load()
                .await
                .unwrap();
            let snapshot = table.snapshot().unwrap();
            let files: Vec<PathBuf> = snapshot
                .log_data()
                .iter()
                .map(|f| out.join("actions").join(f.path().as_ref()))
                .collect();
            assert_eq!(files.len(), 1, "one file per version");
            files[0].clone()
        }
    };
    rows_in(&file)
}

async fn delivered_actions_show_within_15_seconds(kind: &str) {
    let sb = common::sandbox(6, 83).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(kind);
    let target = Target::parse(&format!("{kind}:{}", out.display())).unwrap();
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync(&client, &target, &SyncOptions::default())
        .await
        .unwrap();
    let before = actions_shown(kind, &out).await;
    let rx = common::receiver_into(target.clone(), SECRET, 256).await;
    let url = format!("http://{}/webhook", rx.addr);
    sb.skip_undelivered();
    sb.advance_days(1);
    let delivered = sb.deliver(&url, SECRET).await.unwrap();
    let delivered_at = Instant::now();
    let want = sb.truth().count("actions") as i64;
    assert!(want > before && delivered > 0, "{before} -> {want}");
    loop {
        if actions_shown(kind, &out).await == want {
            break;
        }
        assert!(
            delivered_at.elapsed() < Duration::from_secs(15),
            "{kind}: the delivered actions did not show within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A nightly sync beside the receiver runs, and ends equal to the truth.
    sb.advance_days(1);
    let report = sync(&client, &target, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.complete());
    rx.shutdown().await;
    assert_eq!(
        actions_shown(kind, &out).await,
        sb.truth().count("actions") as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_destination_shows_a_delivered_action_within_15_seconds() {
    delivered_actions_show_within_15_seconds("parquet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_destination_shows_a_delivered_action_within_15_seconds() {
    delivered_actions_show_within_15_seconds("delta").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_receiver_into_one_destination_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::parquet(&dir.path().join("pq"));
    let first = common::receiver_into(target.clone(), SECRET, 8).await;
    let mut opts = huntr_sync::webhook::ServeOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        target,
        SECRET.to_vec(),
    );
    opts.queue = 8;
    let second = huntr_sync::webhook::Receiver::start(opts).await;
    let err = second
        .err()
        .expect("a second receiver is refused")
        .to_string();
    assert!(err.contains("already"), "{err}");
    first.shutdown().await;
}
