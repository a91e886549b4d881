//! Watching runs: the metrics file after a success, a failure and a
//! push, accepted by `promtool check metrics` and equal to the run's JSON
//! report; the receiver's `/metrics` and `/healthz`; `status` for fresh,
//! failed and stale states, and while a sync holds the destination.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use huntr_sync::store::DestLock;
use huntr_sync::sync::{SyncOptions, Target};
use huntr_sync::webhook::{sign, SIGNATURE_HEADER};
use serde_json::Value;

/// `promtool check metrics` accepts `text` (Debian's `prometheus`
/// package; .ci/run installs it).
pub fn promtool(text: &str) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's `prometheus` package) is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every sample, by its name and labels as written.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

fn get(m: &BTreeMap<String, f64>, key: &str) -> f64 {
    *m.get(key).unwrap_or_else(|| panic!("no sample {key}"))
}

async fn sync(dir: &Path, base_url: &str, token: &str, extra: &[&str]) -> Output {
    common::huntr_sync(dir)
        .args([
            "sync",
            "--base-url",
            base_url,
            "--destination",
            "sqlite:org.db",
        ])
        .args(extra)
        .env("HUNTR_ORG_TOKEN", token)
        .output()
        .await
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The run's families equal its JSON report; every table's rows equal
/// the destination's.
fn assert_equals_report(m: &BTreeMap<String, f64>, report: &Value, db: &Path) {
    let at = |name: &str| format!("{name}{{pipeline=\"default\",command=\"sync\"}}");
    for (family, key) in [
        ("huntr_sync_last_run_requests", "requests"),
        ("huntr_sync_last_run_retries", "retries"),
        ("huntr_sync_last_run_throttled", "throttled"),
        ("huntr_sync_last_run_duration_seconds", "seconds"),
    ] {
        // The same f64 written twice; serde_json's default parser may read
        // a 17-digit number one unit in the last place off, Rust's does not.
        let (metric, reported) = (get(m, &at(family)), report[key].as_f64().unwrap());
        assert!(
            (metric - reported).abs() <= 1e-12 * reported.abs().max(1.0),
            "{key}: {metric} against {reported}"
        );
    }
    let status =
        "huntr_sync_last_run_status{pipeline=\"default\",command=\"sync\",status=\"complete\"}";
    assert_eq!(get(m, status), 1.0);
    let tables = report["tables"].as_object().unwrap();
    assert!(!tables.is_empty());
    for (table, counts) in tables {
        for change in ["inserted", "updated", "deleted", "removed"] {
            let key = format!(
                "huntr_sync_last_run_rows{{pipeline=\"default\",table=\"{table}\",change=\"{change}\"}}"
            );
            assert_eq!(get(m, &key), counts[change].as_f64().unwrap(), "{key}");
        }
        let rows = common::count(db, &format!("SELECT COUNT(*) FROM {table}"));
        let key = format!("huntr_sync_table_rows{{pipeline=\"default\",table=\"{table}\"}}");
        assert_eq!(get(m, &key), rows as f64, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_file_after_a_success_a_failure_and_a_push() {
    let sb = common::sandbox(10, 91).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let prom = dir.path().join("huntr.prom");
    let out = sync(
        dir.path(),
        &sb.base_url,
        &sb.token,
        &["--json", "--metrics-file", "huntr.prom"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = std::fs::read_to_string(&prom).unwrap();
    promtool(&text);
    let m = samples(&text);
    assert_equals_report(&m, &report, &db);
    let success = "huntr_sync_last_success_timestamp_seconds{pipeline=\"default\"}";
    let ended = get(&m, success);
    let last = "huntr_sync_last_run_timestamp_seconds{pipeline=\"default\",command=\"sync\"}";
    assert!(ended <= get(&m, last) && ended > 0.0);

    // A refused token: the file says the run failed, and when the last
    // success was.
    let out = sync(
        dir.path(),
        &sb.base_url,
        "not-the-token",
        &["--metrics-file", "huntr.prom"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = std::fs::read_to_string(&prom).unwrap();
    promtool(&text);
    let m = samples(&text);
    let failed =
        "huntr_sync_last_run_status{pipeline=\"default\",command=\"sync\",status=\"failed\"}";
    assert_eq!(get(&m, failed), 1.0);
    assert_eq!(
        get(
            &m,
            "huntr_sync_last_run_requests{pipeline=\"default\",command=\"sync\"}"
        ),
        1.0
    );
    assert_eq!(get(&m, success), ended);

    // A push: its rows by outcome equal its JSON summary.
    let csv = "name,field_type,choices\nCohort,MULTIPLE_CHOICE,Fall;Spring\nNickname,TEXT,\nOdd,NO_SUCH_TYPE,\n";
    std::fs::write(dir.path().join("f.csv"), csv).unwrap();
    let out = common::huntr_sync(dir.path())
        .args([
            "push",
            "fields",
            "--from",
            "f.csv",
            "--base-url",
            &sb.base_url,
        ])
        .args([
            "--destination",
            "sqlite:org.db",
            "--yes",
            "--skip-invalid",
            "--json",
        ])
        .args(["--metrics-file", "huntr.prom"])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = std::fs::read_to_string(&prom).unwrap();
    promtool(&text);
    let m = samples(&text);
    let skipped: u64 = summary["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    for (outcome, want) in [
        ("sent", summary["sent"].as_u64().unwrap()),
        ("skipped", skipped),
        ("invalid", summary["invalid"].as_u64().unwrap()),
        ("failed", summary["failed"].as_u64().unwrap()),
    ] {
        let key = format!(
            "huntr_sync_last_push_rows{{pipeline=\"default\",kind=\"fields\",outcome=\"{outcome}\"}}"
        );
        assert_eq!(get(&m, &key), want as f64, "{key}");
    }
    assert_eq!(summary["sent"], 2);
    assert_eq!(summary["invalid"], 1);
    let requests = "huntr_sync_last_run_requests{pipeline=\"default\",command=\"push\"}";
    assert!(get(&m, requests) >= summary["requests"].as_f64().unwrap());
}

fn action(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": id,
        "actionType": "NOTE_CREATED",
        "date": 1_780_000_000,
        "createdAt": 1_780_000_000,
        "ownerMember": {"id": "m1", "givenName": "Zoe", "familyName": "O", "email": "z@example.org"},
        "jobId": "j1",
        "job": {"id": "j1", "title": "Engineer", "location": {}, "createdAt": 1_779_000_000},
        "note": {"id": format!("note-{id}"), "text": "Great interview"},
        "noteId": format!("note-{id}"),
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_serves_metrics_and_its_health() {
    const SECRET: &[u8] = b"whsec-metrics";
    let sb = common::sandbox(8, 93).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let report = huntr_sync::sync::sync_sqlite(&client, &db, &SyncOptions::default())
        .await
        .unwrap();
    let rx = common::receiver(&db, SECRET, 64).await;
    let base = format!("http://{}", rx.addr);
    let http = reqwest::Client::new();
    let body = action("a1");
    let post = |sig: String| {
        http.post(format!("{base}/"))
            .header(SIGNATURE_HEADER, sig)
            .body(body.clone())
            .send()
    };
    assert_eq!(post(sign(SECRET, &body)).await.unwrap().status(), 200);
    assert_eq!(post(sign(b"wrong", &body)).await.unwrap().status(), 401);
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let resp = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    promtool(&text);
    let m = samples(&text);
    let d = |o: &str| {
        format!("huntr_sync_webhook_deliveries_total{{pipeline=\"default\",outcome=\"{o}\"}}")
    };
    assert_eq!(get(&m, &d("accepted")), 1.0);
    assert_eq!(get(&m, &d("refused")), 1.0);
    assert_eq!(get(&m, &d("stored")), 1.0);
    assert_eq!(
        get(&m, "huntr_sync_webhook_queue_depth{pipeline=\"default\"}"),
        0.0
    );
    assert_eq!(
        get(&m, "huntr_sync_webhook_writer_up{pipeline=\"default\"}"),
        1.0
    );
    // The last run is the sync's, as its report and its row say.
    let at = |name: &str| format!("{name}{{pipeline=\"default\",command=\"sync\"}}");
    assert_eq!(
        get(&m, &at("huntr_sync_last_run_requests")),
        report.requests as f64
    );
    assert_eq!(
        get(&m, &at("huntr_sync_last_run_retries")),
        report.retries as f64
    );
    let notes = common::count(&db, "SELECT COUNT(*) FROM notes");
    assert_eq!(
        get(
            &m,
            "huntr_sync_table_rows{pipeline=\"default\",table=\"notes\"}"
        ),
        notes as f64
    );
    rx.shutdown().await;
}

async fn status(dir: &Path, extra: &[&str]) -> Output {
    let run = common::huntr_sync(dir)
        .args(["status", "--destination", "sqlite:org.db"])
        .args(extra)
        .output();
    // A generous bound, so that a status that waits fails instead of hanging.
    tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("status answers without waiting for the lock")
        .unwrap()
}

fn verdict(out: &Output) -> String {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["pipelines"][0]["verdict"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_fresh_failed_or_stale_and_answers_beside_a_sync() {
    let sb = common::sandbox(8, 95).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let out = status(dir.path(), &["--json"]).await;
    assert_eq!(
        (out.status.code(), verdict(&out)),
        (Some(1), "never".into())
    );
    let out = status(dir.path(), &["--max-age", "soon"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    assert!(sync(dir.path(), &sb.base_url, &sb.token, &[])
        .await
        .status
        .success());
    let out = status(dir.path(), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("default: fresh") && text.contains("last success"),
        "{text}"
    );

    // While a sync holds the destination's lock, in the middle of a write.
    {
        let _lock = DestLock::acquire(&Target::sqlite(&db).lock_file()).unwrap();
        let writing = rusqlite::Connection::open(&db).unwrap();
        writing
            .execute_batch("BEGIN IMMEDIATE; UPDATE sync_state SET updated_at = updated_at;")
            .unwrap();
        let out = sync(dir.path(), &sb.base_url, &sb.token, &[]).await;
        assert_eq!(
            out.status.code(),
            Some(4),
            "the lock is held: {}",
            stderr(&out)
        );
        let out = status(dir.path(), &["--json"]).await;
        assert_eq!(
            (out.status.code(), verdict(&out)),
            (Some(0), "fresh".into())
        );
        writing.execute_batch("ROLLBACK").unwrap();
    }

    // Failed: a refused token, before the run began.
    let out = sync(dir.path(), &sb.base_url, "not-the-token", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let out = status(dir.path(), &["--json"]).await;
    assert_eq!(
        (out.status.code(), verdict(&out)),
        (Some(1), "failed".into())
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = v["pipelines"][0]["last_attempt"]["error"].as_str().unwrap();
    assert!(error.contains("refused the token"), "{error}");

    // Fresh again, then stale: the last success ended long ago.
    assert!(sync(dir.path(), &sb.base_url, &sb.token, &[])
        .await
        .status
        .success());
    assert_eq!(status(dir.path(), &[]).await.status.code(), Some(0));
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE sync_runs SET started_at = '2020-01-01T00:00:00Z', finished_at = '2020-01-01T00:00:10Z'")
        .unwrap();
    let out = status(dir.path(), &["--json"]).await;
    assert_eq!(
        (out.status.code(), verdict(&out)),
        (Some(1), "stale".into())
    );
    let out = status(dir.path(), &["--max-age", "5000d"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
