//! The binary as users run it.

use crate::common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use tokio::process::Command;

fn cmd(dir: &Path) -> Command {
    common::huntr_sync(dir)
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn readme_funnel_query() -> String {
    readme_query("<!-- funnel -->")
}

/// The SQL block after `marker` in the README.
fn readme_query(marker: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = &readme[readme.find(marker).expect("funnel marker")..];
    let start = after.find("```sql\n").unwrap() + 7;
    let end = after[start..].find("```").unwrap();
    after[start..start + end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_command_works_on_a_fresh_checkout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines.toml"),
        dir.path().join("pipelines.toml"),
    )
    .unwrap();
    let out = cmd(dir.path())
        .args(["sync", "--pipeline", "demo"])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("complete") && stdout.contains("members") && stdout.contains("actions"),
        "{stdout}"
    );
    let db = dir.path().join("data/demo.db");
    for t in huntr_sync::schema::SCHEMA.tables.iter() {
        assert!(
            common::count(&db, &format!("SELECT COUNT(*) FROM {}", t.name)) > 0,
            "{} is empty",
            t.name
        );
    }
    // The README's funnel query answers on the demo data.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn.prepare(&readme_funnel_query()).unwrap();
    let rows: Vec<(String, i64, i64, i64, i64)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(rows.len() > 1, "{rows:?}");
    assert!(
        rows.iter().any(|r| r.2 > 0 && r.3 > 0 && r.4 > 0),
        "{rows:?}"
    );
    // Its per-advisor variant too (#17).
    let mut stmt = conn
        .prepare(&readme_query("<!-- funnel-advisor -->"))
        .unwrap();
    let rows: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        rows.len() > 2 && rows.iter().any(|r| r.0 == "(no advisor)"),
        "{rows:?}"
    );
    // A second run is incremental and cheap.
    let out = cmd(dir.path())
        .args(["sync", "--pipeline", "demo", "--json"])
        .output()
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "complete");
    // 16 before #17, plus one request per new (optional) listed resource.
    let new = huntr_sync::resources::Resource::ALL
        .iter()
        .filter(|r| r.optional())
        .count() as u64;
    assert!(report["requests"].as_u64().unwrap() <= 16 + new, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exact_form_works_without_a_config_file() {
    let sb = common::sandbox(12, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(dir.path())
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
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    common::assert_matches_truth(&dir.path().join("out/org.db"), &sb.truth());
    // --resources limits the run.
    let out = cmd(dir.path())
        .args([
            "sync",
            "--base-url",
            &sb.base_url,
            "--destination",
            "sqlite:only.db",
            "--resources",
            "members,jobs",
            "--json",
        ])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let db = dir.path().join("only.db");
    assert!(common::count(&db, "SELECT COUNT(*) FROM members") > 0);
    assert_eq!(common::count(&db, "SELECT COUNT(*) FROM actions"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_fast_with_one_line_and_leaves_no_destination() {
    let sb = common::sandbox(5, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = cmd(dir.path())
        .args([
            "sync",
            "--base-url",
            &sb.base_url,
            "--destination",
            "sqlite:org.db",
        ])
        .env("HUNTR_ORG_TOKEN", "not-the-token")
        .output()
        .await
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("HUNTR_ORG_TOKEN") && stderr.contains("401") && stderr.contains("refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-token"));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "destination untouched, no file created: {left:?}"
    );
    assert_eq!(sb.requests(), 1, "a refused token is not retried");
    eprintln!("wrong token answered in {:?}", started.elapsed());
}

#[tokio::test]
async fn usage_errors_exit_2_before_any_request() {
    let sb = common::sandbox(3, 1).await;
    let dir = tempfile::tempdir().unwrap();
    // No token.
    let out = cmd(dir.path())
        .args([
            "sync",
            "--base-url",
            &sb.base_url,
            "--destination",
            "sqlite:x.db",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("HUNTR_ORG_TOKEN is not set"));
    // Limit out of range.
    let out = cmd(dir.path())
        .args([
            "sync",
            "--base-url",
            &sb.base_url,
            "--destination",
            "sqlite:x.db",
            "--limit",
            "501",
        ])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("501"), "{}", text(&out).1);
    // A bad config file names the file and the key.
    std::fs::write(
        dir.path().join("bad.toml"),
        "[pipelines.p]\ndestination = \"sqlite:x.db\"\nrequests_per_sec = 3\n",
    )
    .unwrap();
    let out = cmd(dir.path())
        .args(["sync", "--config", "bad.toml", "--pipeline", "p"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(
        err.contains("bad.toml") && err.contains("requests_per_sec"),
        "{err}"
    );
    // No destination at all.
    let out = cmd(dir.path())
        .args(["sync"])
        .env("HUNTR_ORG_TOKEN", "x")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--destination"));
    assert_eq!(sb.requests(), 0);
    assert!(!dir.path().join("x.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_show_and_reset() {
    let sb = common::sandbox(5, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = ["--destination", "sqlite:org.db"];
    let out = cmd(dir.path())
        .args(["sync", "--base-url", &sb.base_url])
        .args(dest)
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let out = cmd(dir.path())
        .args(["state", "show"])
        .args(dest)
        .output()
        .await
        .unwrap();
    let shown = text(&out).0;
    assert!(
        shown.contains("jobs") && shown.contains("2026-06-01T00:00:00Z"),
        "{shown}"
    );
    let out = cmd(dir.path())
        .args(["state", "reset", "--resource", "jobs"])
        .args(dest)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let db = dir.path().join("org.db");
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM sync_state WHERE resource = 'jobs'"
        ),
        0
    );
    assert!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM sync_state WHERE resource = 'actions'"
        ) > 0
    );
    let out = cmd(dir.path())
        .args(["state", "reset", "--resource", "widgets"])
        .args(dest)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_into_one_destination_cannot_run_at_once() {
    // A slow organization keeps the first sync busy.
    let sb = huntr_sync::sandbox::RunningSandbox::start(huntr_sync::sandbox::SandboxOptions {
        scale: 10,
        latency: Duration::from_millis(150),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "sync",
        "--base-url",
        &sb.base_url,
        "--destination",
        "sqlite:org.db",
        "--limit",
        "20",
    ];
    let first = cmd(dir.path())
        .args(args)
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .spawn()
        .unwrap();
    let lock = dir.path().join("org.db.lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&lock)
        .map(|s| s.is_empty())
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "first sync never took the lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = cmd(dir.path())
        .args(args)
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    let (_, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(4), "{stderr}");
    let pid = first.id().unwrap();
    assert!(
        stderr.contains(&format!("pid {pid}")) && stderr.contains("already syncing"),
        "{stderr}"
    );
    let out = first.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    common::assert_matches_truth(&dir.path().join("org.db"), &sb.truth());
}
