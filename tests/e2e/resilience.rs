//! Rate limits, faults, exhausted retries, schema drift and secrets.

use crate::common;

use std::process::Output;
use std::time::Duration;

use huntr_sync::api::{Client, ClientConfig, Token};
use huntr_sync::sandbox::{RunningSandbox, SandboxOptions};
use huntr_sync::sync::{sync_sqlite, SyncOptions};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_through_faults_and_a_rate_limit_loses_nothing() {
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 12,
        seed: 31,
        rps: Some(40.0),
        faults: 0.2,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    // The client's limiter matches the API's limit: 429s stay rare.
    let mut cfg = ClientConfig::new(
        &sb.base_url,
        Token::new(sb.token.clone()),
        "HUNTR_ORG_TOKEN",
    );
    cfg.requests_per_second = 40.0;
    cfg.burst = 40;
    cfg.retry.base = Duration::from_millis(20);
    cfg.retry.cap = Duration::from_millis(500);
    cfg.retry.min_wait = Duration::from_millis(10);
    cfg.retry.max_retries = 12;
    let client = Client::new(&cfg).unwrap();
    let opts = SyncOptions {
        limit: 40,
        ..Default::default()
    };
    let report = sync_sqlite(&client, &db, &opts).await.unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    sb.advance_days(1);
    let report2 = sync_sqlite(&client, &db, &opts).await.unwrap();
    assert!(report2.complete(), "{:?}", report2.incomplete);
    sb.set_faults(0.0);
    common::assert_matches_truth(&db, &sb.truth());
    let requests = sb.requests();
    let faulted = sb.shared.faulted.load(std::sync::atomic::Ordering::Relaxed);
    let throttled = sb.throttled();
    eprintln!(
        "{requests} requests, {faulted} faults injected, {throttled} rate-limit 429s, {} retries",
        report.retries + report2.retries
    );
    // About 110 requests at a 0.2 fault rate inject 15 to 22 faults; 10
    // happened once (a tail of a few percent), so the floor is 5%.
    assert!(
        faulted as f64 > requests as f64 * 0.05,
        "faults were injected: {faulted}/{requests}"
    );
    assert!(
        (throttled as f64) < requests as f64 * 0.05,
        "rate-limit 429s: {throttled}/{requests}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_rate_sync_finds_the_limit_and_loses_nothing() {
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 12,
        seed: 37,
        rps: Some(10.0),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    // Starts at twice the API's limit: only the 429s can bring it down.
    let mut cfg = ClientConfig::new(
        &sb.base_url,
        Token::new(sb.token.clone()),
        "HUNTR_ORG_TOKEN",
    );
    cfg.requests_per_second = 20.0;
    cfg.max_requests_per_second = Some(50.0);
    let client = Client::new(&cfg).unwrap();
    let opts = SyncOptions {
        limit: 40,
        ..Default::default()
    };
    let report = sync_sqlite(&client, &db, &opts).await.unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    common::assert_matches_truth(&db, &sb.truth());
    let (requests, throttled) = (sb.requests(), sb.throttled());
    eprintln!("{requests} requests, {throttled} rate-limit 429s");
    assert!(throttled > 0, "the API's limit was met");
    assert_eq!(report.throttled, throttled);
}

fn pipeline_file(dir: &std::path::Path, base_url: &str, extra: &str) {
    std::fs::write(
        dir.join("pipelines.toml"),
        format!("[pipelines.p]\nbase_url = \"{base_url}\"\ndestination = \"sqlite:org.db\"\nlimit = 50\nrequests_per_second = 500\n{extra}\n"),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_on_one_resource_keep_the_rest_and_the_next_run_finishes() {
    let sb = common::sandbox(10, 17).await;
    let dir = tempfile::tempdir().unwrap();
    pipeline_file(dir.path(), &sb.base_url, "retries = 2");
    sb.set_outage(Some("activities"));
    let out = common::huntr_sync(dir.path())
        .args(["sync", "--pipeline", "p"])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("incomplete: activities"), "{all}");
    let db = dir.path().join("org.db");
    let truth = sb.truth();
    for t in ["members", "jobs", "actions", "employers"] {
        assert_eq!(
            common::count(&db, &format!("SELECT COUNT(*) FROM {t}")) as usize,
            truth.count(t),
            "{t} kept"
        );
    }
    assert_eq!(common::count(&db, "SELECT COUNT(*) FROM sync_state WHERE resource = 'activities' AND watermark IS NOT NULL"), 0);
    assert_eq!(common::count(&db, "SELECT COUNT(*) FROM sync_state WHERE resource IN ('jobs', 'actions') AND watermark IS NOT NULL"), 2);
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM sync_runs WHERE status = 'partial'"
        ),
        1
    );

    sb.set_outage(None);
    let out = common::huntr_sync(dir.path())
        .args(["sync", "--pipeline", "p"])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    common::assert_matches_truth(&db, &sb.truth());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drifting_fields_and_types_lose_no_row() {
    let sb = common::sandbox(12, 23).await;
    sb.set_drift(true);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let report = sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.complete());
    let truth = sb.truth();
    for t in ["members", "jobs", "activities", "actions"] {
        assert_eq!(
            common::count(&db, &format!("SELECT COUNT(*) FROM {t}")) as usize,
            truth.count(t),
            "{t}"
        );
    }
    // New fields land in _extra; lossless type changes stay in their column.
    let members = truth.count("members") as i64;
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM members WHERE json_extract(_extra, '$.cohortCode') = 'YVR-002'"
        ),
        members
    );
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM members WHERE is_active IN (0, 1)"
        ),
        members,
        "\"true\" still a boolean"
    );
    let jobs = truth.count("jobs") as i64;
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE json_extract(_extra, '$.remote') = 1"
        ),
        jobs
    );
    // A salary that became an object cannot be text without loss: kept whole
    // in _extra (nested snapshots, still sending text, may fill the column).
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE json_extract(_extra, '$.salary.max') = 120000"
        ),
        jobs
    );
    assert!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE deadline LIKE '2026-%' OR deadline LIKE '2025-%'"
        ) > 0,
        "string timestamps converted"
    );
    // One warning per drifting field, however many rows carry it.
    let out = common::huntr_sync(dir.path())
        .args([
            "sync",
            "--base-url",
            &sb.base_url,
            "--destination",
            "sqlite:cli.db",
        ])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("field `salary`").count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_appears_in_output_even_at_trace_level() {
    let token = "tok-7f3a9c1e5b2d-secret";
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 5,
        token: token.into(),
        faults: 0.3,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runs = [
        (
            token,
            vec![
                "-vvv",
                "sync",
                "--base-url",
                &sb.base_url,
                "--destination",
                "sqlite:org.db",
            ],
        ),
        (
            "tok-wrong-4e1d",
            vec![
                "-vvv",
                "sync",
                "--base-url",
                &sb.base_url,
                "--destination",
                "sqlite:other.db",
            ],
        ),
    ];
    for (tok, args) in runs {
        let out = common::huntr_sync(dir.path())
            .args(&args)
            .env("HUNTR_ORG_TOKEN", tok)
            .env("RUST_LOG", "trace")
            .output()
            .await
            .unwrap();
        let all = text(&out);
        assert!(
            all.len() > 1000,
            "trace output is there: {} bytes",
            all.len()
        );
        assert!(!all.contains(tok), "the token leaked");
        assert!(!all.contains(&tok[4..12]), "part of the token leaked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_file_is_read_and_a_loose_one_warned_about() {
    let sb = common::sandbox(4, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let token_path = dir.path().join("token");
    std::fs::write(&token_path, format!("{}\n", sb.token)).unwrap();
    pipeline_file(
        dir.path(),
        &sb.base_url,
        &format!("token_file = \"{}\"", token_path.display()),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = common::huntr_sync(dir.path())
        .args(["sync", "--pipeline", "p"])
        .env_remove("HUNTR_ORG_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("readable by other users"),
        "{}",
        text(&out)
    );
    std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = common::huntr_sync(dir.path())
        .args(["sync", "--pipeline", "p"])
        .env_remove("HUNTR_ORG_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(!text(&out).contains("readable by other users"));
}
