//! What an operator sees: progress on a terminal and silence without one,
//! the --json summary, `check`, JSON logs, completions.

use crate::common;

use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_huntr-sync");

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_shows_on_a_terminal_and_nowhere_else() {
    let sb = common::sandbox(15, 71).await;
    let dir = tempfile::tempdir().unwrap();
    // Under a pseudo-terminal (util-linux `script` provides one).
    let cmd = format!(
        "{} sync --base-url {} --destination sqlite:tty.db --limit 20",
        shell_quote(BIN),
        shell_quote(&sb.base_url)
    );
    let out = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .current_dir(dir.path())
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .env("TERM", "xterm")
        .output()
        .await
        .expect("util-linux `script` runs commands under a pseudo-terminal");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{tty}");
    assert!(
        tty.contains("pages") && tty.contains("rows") && tty.contains("requests"),
        "no progress on a terminal:\n{tty}"
    );
    // Without a terminal: the summary on stdout, nothing on stderr.
    let out = common::huntr_sync(dir.path())
        .args([
            "sync",
            "--base-url",
            &sb.base_url,
            "--destination",
            "sqlite:pipe.db",
            "--limit",
            "20",
        ])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(" pages "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_summary_counts_equal_the_destination() {
    let sb = common::sandbox(15, 73).await;
    let dir = tempfile::tempdir().unwrap();
    let run = || async {
        let out = common::huntr_sync(dir.path())
            .args([
                "sync",
                "--base-url",
                &sb.base_url,
                "--destination",
                "sqlite:org.db",
                "--json",
            ])
            .env("HUNTR_ORG_TOKEN", &sb.token)
            .output()
            .await
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("one JSON object on stdout")
    };
    let first = run().await;
    let db = dir.path().join("org.db");
    for t in huntr_sync::schema::SCHEMA.tables.iter() {
        let rows = common::count(&db, &format!("SELECT COUNT(*) FROM {}", t.name));
        assert_eq!(
            first["tables"][&t.name]["inserted"].as_i64().unwrap_or(0),
            rows,
            "{}",
            t.name
        );
    }
    assert_eq!(first["status"], "complete");
    assert!(first["requests"].as_u64().unwrap() > 10);
    sb.advance_days(1);
    let second = run().await;
    let deleted = second["tables"]["jobs"]["deleted"].as_i64().unwrap();
    assert_eq!(
        deleted,
        common::count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE deleted_at IS NOT NULL"
        )
    );
    let stored: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT rows_json FROM sync_runs ORDER BY run_id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
        second["tables"]
    );
}

/// A reader that closes the pipe before the report is printed (`sync
/// --json | head -c 0`): the sync still commits and exits 0, and nothing
/// panics. Printing the schema likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_standard_output_is_not_a_failure() {
    let sb = common::sandbox(5, 74).await;
    let dir = tempfile::tempdir().unwrap();
    let runs: [&[&str]; 2] = [
        &[
            "sync",
            "--base-url",
            &sb.base_url,
            "--destination",
            "sqlite:org.db",
            "--json",
        ],
        &["schema", "--format", "markdown"],
    ];
    for args in runs {
        let mut child = common::huntr_sync(dir.path())
            .args(args)
            .env("HUNTR_ORG_TOKEN", &sb.token)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let runs = common::count(
        &dir.path().join("org.db"),
        "SELECT COUNT(*) FROM sync_runs WHERE status = 'complete'",
    );
    assert_eq!(runs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_endpoints_and_refused_tokens_without_loading() {
    let sb = common::sandbox(5, 75).await;
    let dir = tempfile::tempdir().unwrap();
    let check = |token: &'static str| {
        let url = sb.base_url.clone();
        let dir = dir.path().to_owned();
        async move {
            common::huntr_sync(&dir)
                .args(["check", "--base-url", &url])
                .env("HUNTR_ORG_TOKEN", token)
                .output()
                .await
                .unwrap()
        }
    };
    let good = check("sandbox-token").await;
    let text = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "{text}");
    for r in huntr_sync::resources::Resource::ALL {
        assert!(
            text.lines()
                .any(|l| l.starts_with(r.path()) && l.contains("ok")),
            "{r}: {text}"
        );
    }
    assert!(text.contains("token: accepted"));
    let bad = check("wrong").await;
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("HUNTR_ORG_TOKEN") && err.contains("refused"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "check loads nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_and_completions() {
    let sb = common::sandbox(5, 77).await;
    let dir = tempfile::tempdir().unwrap();
    let out = common::huntr_sync(dir.path())
        .args([
            "--log-format",
            "json",
            "-v",
            "sync",
            "--base-url",
            &sb.base_url,
            "--destination",
            "sqlite:o.db",
        ])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{l}"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("huntr-sync"),
            "{shell}"
        );
    }
}
