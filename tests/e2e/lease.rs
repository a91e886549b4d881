//! One writer per remote destination, against an S3-compatible server on
//! loopback (moto): two syncs into one bucket, each with a state directory
//! of its own as two hosts would have, are started together: one publishes,
//! the other exits 4 naming the holder. Then a holder killed with SIGKILL
//! leaves its lease; the next sync, told to wait, takes it over once it
//! lapses and completes; the bucket's tables equal the sandbox's truth.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use huntr_sync::sandbox::{RunningSandbox, SandboxOptions};
use huntr_sync::schema::SCHEMA;

const DESTINATION: &str = "parquet:s3://lake/huntr";

/// A lease's lifetime in these runs: renewed every second.
const TTL_SECS: &str = "3";

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `huntr-sync sync` into the bucket, run in `dir` (its state goes there).
fn sync(
    dir: &Path,
    sb: &RunningSandbox,
    moto: &common::Moto,
    extra: &[&str],
) -> tokio::process::Command {
    let mut cmd = common::huntr_sync(dir);
    moto.point(&mut cmd)
        .args(["sync", "--base-url", &sb.base_url, "--destination"])
        .args([DESTINATION, "--limit", "20"])
        .args(extra)
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .env("HUNTR_LEASE_TTL_SECS", TTL_SECS)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// The lease object, if there is one.
async fn lease(moto: &common::Moto) -> Option<serde_json::Value> {
    let bytes = moto.get("huntr/_huntr_sync/lease.json").await?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

/// Whether any file named `state.db` is under `dir`.
fn has_state(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let path = e.unwrap().path();
        path.file_name().is_some_and(|n| n == "state.db") || (path.is_dir() && has_state(&path))
    })
}

/// Reads `child`'s stderr as it comes: the first receiver is told when a
/// line holds `mark`, the second gets the whole text at the end.
fn read_stderr(
    child: &mut tokio::process::Child,
    mark: &'static str,
) -> (
    tokio::sync::oneshot::Receiver<()>,
    tokio::task::JoinHandle<String>,
) {
    use tokio::io::AsyncBufReadExt;
    let stderr = child.stderr.take().unwrap();
    let (seen, waiting) = tokio::sync::oneshot::channel();
    let all = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let (mut seen, mut all) = (Some(seen), String::new());
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(mark) {
                seen.take().map(|s| s.send(()));
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (waiting, all)
}

/// The bucket's tables, downloaded and loaded into the SQLite file `db`.
async fn bucket_tables(moto: &common::Moto, dir: &Path, db: &Path) {
    for t in &SCHEMA.tables {
        let name = &t.name;
        let key = format!("huntr/{name}/{name}.parquet");
        let bytes = moto
            .get(&key)
            .await
            .unwrap_or_else(|| panic!("{key} missing"));
        std::fs::write(dir.join(format!("{name}.parquet")), bytes).unwrap();
    }
    common::parquet_to_sqlite(|t| dir.join(format!("{t}.parquet")), db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sync_at_a_time_writes_a_bucket_and_a_killed_holders_lease_is_taken_over() {
    // A slow organization keeps a sync busy for several lease lifetimes.
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 10,
        seed: 61,
        latency: Duration::from_millis(150),
        ..Default::default()
    })
    .await
    .unwrap();
    let moto = common::Moto::start(false).await;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim();
    let hosts: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();

    // Two hosts start together: exactly one publishes.
    let a = sync(hosts[0].path(), &sb, &moto, &[]).spawn().unwrap();
    let b = sync(hosts[1].path(), &sb, &moto, &[]).spawn().unwrap();
    let pids = [a.id().unwrap(), b.id().unwrap()];
    let started = Instant::now();
    let (a, b) = tokio::join!(a.wait_with_output(), b.wait_with_output());
    let outs = [a.unwrap(), b.unwrap()];
    eprintln!("the two syncs took {:?}", started.elapsed());
    let codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
    let won = match codes[..] {
        [Some(0), Some(4)] => 0,
        [Some(4), Some(0)] => 1,
        _ => panic!("{codes:?}:\n{}\n{}", text(&outs[0]), text(&outs[1])),
    };
    let lost = 1 - won;
    let refusal = text(&outs[lost]);
    let holder = format!("pid {} on {host}", pids[won]);
    assert!(
        refusal.contains("already syncing into this destination") && refusal.contains(&holder),
        "{refusal}"
    );
    assert!(refusal.contains("lease s3://lake/huntr/_huntr_sync/lease.json"));
    assert!(
        !has_state(hosts[lost].path()),
        "the refused run began nothing"
    );
    assert!(
        lease(&moto).await.is_none(),
        "the winner released its lease"
    );

    // A holder killed mid-run leaves its lease behind, and a run told to
    // wait takes it over once it lapses.
    let mut holder = sync(hosts[2].path(), &sb, &moto, &[]).spawn().unwrap();
    let victim = holder.id().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lease(&moto).await.and_then(|l| l["pid"].as_u64()) != Some(victim as u64) {
        assert!(Instant::now() < deadline, "the holder never took the lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut heir = sync(hosts[lost].path(), &sb, &moto, &["--wait", "60", "-v"])
        .spawn()
        .unwrap();
    let (waiting, said) = read_stderr(&mut heir, "waiting up to 60s for the destination");
    tokio::select! {
        seen = waiting => seen.expect("the heir's stderr ended before it waited"),
        status = heir.wait() => panic!("the heir ended ({status:?}) without waiting: {}", said.await.unwrap()),
    }
    holder.start_kill().unwrap(); // SIGKILL
    assert!(
        !holder.wait().await.unwrap().success(),
        "killed while it ran"
    );
    let left = lease(&moto).await.expect("a killed holder's lease stays");
    assert_eq!(left["pid"].as_u64(), Some(victim as u64));
    let status = heir.wait().await.unwrap();
    let said = said.await.unwrap();
    assert!(status.success(), "{said}");
    assert!(
        said.contains("took over the lease") && said.contains(&format!("from pid {victim} on")),
        "{said}"
    );
    assert!(lease(&moto).await.is_none(), "the heir released its lease");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bucket.db");
    bucket_tables(&moto, dir.path(), &db).await;
    common::assert_matches_truth(&db, &sb.truth());
    common::assert_no_duplicate_keys(&db);
}
