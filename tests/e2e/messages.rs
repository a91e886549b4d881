//! Error messages as a new user meets them: each states its cause once,
//! names the file, key, host or path involved and says what to do. The
//! first line of each is pinned here. Also: a full disk loses nothing, and
//! `--help` lists the environment variables a command reads.

use crate::common;

use std::path::Path;
use std::process::Output;

/// (exit code, first line of stderr)
fn first_line(out: &Output) -> (Option<i32>, String) {
    let err = String::from_utf8_lossy(&out.stderr);
    (
        out.status.code(),
        err.lines().next().unwrap_or_default().to_owned(),
    )
}

async fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = common::huntr_sync(dir)
        .args(args)
        .env("HUNTR_ORG_TOKEN", "t")
        .output()
        .await
        .unwrap();
    first_line(&out)
}

#[tokio::test]
async fn no_destination_says_where_to_set_one() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        run(dir.path(), &["sync"]).await,
        (
            Some(2),
            "huntr-sync: error: no destination: pass --destination sqlite:PATH, parquet:DIR_OR_URL, delta:DIR_OR_URL or postgres://USER@HOST:PORT/DATABASE?schema=huntr, or --pipeline NAME of a pipeline that sets destination".into()
        )
    );
    std::fs::write(dir.path().join("pipelines.toml"), "[pipelines.p]\n").unwrap();
    assert_eq!(
        run(dir.path(), &["sync", "--pipeline", "p"]).await,
        (
            Some(2),
            "huntr-sync: error: no destination for pipeline p: set destination in [pipelines.p] of pipelines.toml, or pass --destination sqlite:PATH, parquet:DIR_OR_URL, delta:DIR_OR_URL or postgres://USER@HOST:PORT/DATABASE?schema=huntr".into()
        )
    );
}

#[tokio::test]
async fn a_missing_config_file_is_named_once_with_where_it_was_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(
        run(dir.path(), &["sync", "--pipeline", "demo"]).await,
        (
            Some(2),
            format!("huntr-sync: error: config file pipelines.toml not found in {}: --pipeline demo is read from it; run huntr-sync in the directory that holds it, or pass --config FILE", cwd.display())
        )
    );
    assert_eq!(
        run(dir.path(), &["check", "--config", "mine.toml"]).await,
        (
            Some(2),
            format!(
                "huntr-sync: error: config file mine.toml not found in {}: check --config",
                cwd.display()
            )
        )
    );
}

/// The child's files stop growing at `bytes` (RLIMIT_FSIZE, with SIGXFSZ
/// ignored): a write beyond it fails with EFBIG, as one on a full disk
/// fails with ENOSPC (SQLite reports both as an I/O error; SQLITE_FULL
/// itself is covered by the store's unit test).
fn disk_full_at(cmd: &mut tokio::process::Command, bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: signal and setrlimit are async-signal-safe; nothing else runs
    // between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_without_room_fails_the_run_loses_nothing_and_the_next_run_completes() {
    let sb = common::sandbox(30, 43).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    // The tables exist already; the run's writes go to a new WAL file.
    drop(huntr_sync::store::Store::open(&db).unwrap());
    let args = [
        "sync",
        "--base-url",
        &sb.base_url,
        "--destination",
        "sqlite:org.db",
    ];
    let mut cmd = common::huntr_sync(dir.path());
    cmd.args(args).env("HUNTR_ORG_TOKEN", &sb.token);
    // Room for about nine pages more than the empty tables take, whatever
    // their number: the limit caps each file, the database as well as the
    // log, so the run's record must still fit once the log is moved in.
    let empty = std::fs::metadata(&db).unwrap().len();
    eprintln!("empty state database: {empty} bytes");
    disk_full_at(&mut cmd, empty + 36_000);
    let (code, line) = first_line(&cmd.output().await.unwrap());
    assert_eq!(code, Some(1), "{line}");
    assert_eq!(line, "huntr-sync: error: no space left for org.db (the file size limit is reached): nothing was lost (what was committed stays, the failed write was undone); make room and run again, the next run continues from there");
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM sync_runs WHERE status = 'failed'"
        ),
        1
    );
    // With space again, the next run completes exactly.
    let out = common::huntr_sync(dir.path())
        .args(args)
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    common::assert_ok(&out);
    common::assert_matches_truth(&db, &sb.truth());
    common::assert_no_duplicate_keys(&db);
}

#[tokio::test]
async fn help_lists_the_environment_each_command_reads() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &'static [&'static str]| {
        let dir = dir.path().to_owned();
        async move {
            let out = common::huntr_sync(&dir)
                .args(args)
                .arg("--help")
                .output()
                .await
                .unwrap();
            assert!(out.status.success(), "{args:?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    for cmd in [&["sync"][..], &["check"]] {
        let h = help(cmd).await;
        assert!(
            h.contains("Environment:") && h.contains("HUNTR_ORG_TOKEN"),
            "{h}"
        );
        assert!(
            h.contains("token_env") && h.contains("token_file") && h.contains("RUST_LOG"),
            "{h}"
        );
    }
    let serve = help(&["webhook", "serve"]).await;
    assert!(
        serve.contains("HUNTR_WEBHOOK_SECRET") && serve.contains("webhook_secret_env"),
        "{serve}"
    );
    assert!(help(&["sandbox"]).await.contains("HUNTR_WEBHOOK_SECRET"));
    for cmd in [
        &["state", "show"][..],
        &["state", "reset"],
        &["schema"],
        &["completions"],
    ] {
        assert!(help(cmd).await.contains("RUST_LOG"), "{cmd:?}");
    }
    let top = help(&[]).await;
    for var in ["HUNTR_ORG_TOKEN", "HUNTR_WEBHOOK_SECRET", "RUST_LOG"] {
        assert!(top.contains(var), "{top}");
    }
}
