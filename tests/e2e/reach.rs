//! When the API cannot be reached (a mistyped base URL, a host that does
//! not resolve, an https:// URL on a plain HTTP server, a refused token):
//! `check` answers at the first request, and `sync` says so at once, then
//! fails in one line naming the cause, the host, the attempts and the
//! setting to fix.

use crate::common;

use std::path::Path;
use std::process::Output;
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_huntr-sync");

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `check --base-url URL`: exit code and the stderr's one line.
async fn check(dir: &Path, url: &str, token: &str) -> (Option<i32>, String) {
    let started = Instant::now();
    let out = common::huntr_sync(dir)
        .args(["check", "--base-url", url])
        .env("HUNTR_ORG_TOKEN", token)
        .output()
        .await
        .unwrap();
    eprintln!("check {url} answered in {:?}", started.elapsed());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    (out.status.code(), err.trim().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_host_cause_and_setting_at_the_first_request() {
    let dir = tempfile::tempdir().unwrap();
    // A refused connection: one retry, then the answer.
    let port = closed_port();
    let (code, line) = check(dir.path(), &format!("http://127.0.0.1:{port}/org"), "t").await;
    assert_eq!(code, Some(1));
    let head = format!(
        "huntr-sync: error: cannot connect to 127.0.0.1:{port}: connection refused (nothing listens at that address and port); gave up after 2 attempts in "
    );
    assert!(line.starts_with(&head), "{line}");
    assert!(line.ends_with("; check --base-url"), "{line}");
    // A host that does not resolve.
    let (code, line) = check(dir.path(), "https://huntr-sync-test.invalid/org", "t").await;
    assert_eq!(code, Some(1));
    assert!(
        line.starts_with("huntr-sync: error: cannot connect to huntr-sync-test.invalid: the host name does not resolve ("),
        "{line}"
    );
    assert!(line.contains("gave up after 2 attempts") && line.ends_with("; check --base-url"));
    // https:// on a server that speaks plain HTTP.
    let sb = common::sandbox(3, 91).await;
    let tls_url = sb.base_url.replacen("http://", "https://", 1);
    let host = tls_url
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap();
    let (code, line) = check(dir.path(), &tls_url, &sb.token).await;
    assert_eq!(code, Some(1));
    assert!(
        line.starts_with(&format!(
            "huntr-sync: error: cannot connect to {host}: the TLS handshake failed ("
        )),
        "{line}"
    );
    assert!(line.contains("needs an http:// URL") && line.ends_with("; check --base-url"));
    assert_eq!(sb.requests(), 0, "no HTTP request got through");
    // A refused token: not retried.
    let (code, line) = check(dir.path(), &sb.base_url, "not-the-token").await;
    assert_eq!(code, Some(1));
    assert!(
        line.starts_with(&format!(
            "huntr-sync: error: {host} refused the token in HUNTR_ORG_TOKEN (HTTP 401 on GET /"
        )),
        "{line}"
    );
    assert!(line.ends_with("export it as HUNTR_ORG_TOKEN"), "{line}");
    assert_eq!(sb.requests(), 1);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// A pipeline whose API nothing answers; 3 retries (up to 3.5 s).
fn unreachable_pipeline(dir: &Path) -> u16 {
    let port = closed_port();
    std::fs::write(
        dir.join("pipelines.toml"),
        format!("[pipelines.p]\nbase_url = \"http://127.0.0.1:{port}/org\"\ndestination = \"sqlite:org.db\"\nretries = 3\n"),
    )
    .unwrap();
    port
}

const SETTING: &str = "check base_url in [pipelines.p] of pipelines.toml";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_warns_in_the_log_then_fails_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = unreachable_pipeline(dir.path());
    let out = common::huntr_sync(dir.path())
        .args(["sync", "--pipeline", "p"])
        .env("HUNTR_ORG_TOKEN", "t")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.trim().lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    // Without a terminal the first failure is a warning in the log...
    let told = format!(
        "cannot connect to 127.0.0.1:{port}: connection refused (nothing listens at that address and port); retrying for up to 4 s; {SETTING}"
    );
    assert!(
        lines[0].contains("WARN") && lines[0].ends_with(&told),
        "{err}"
    );
    // ... and the end is one line: cause, host, attempts, time, setting.
    let head = format!("huntr-sync: error: cannot connect to 127.0.0.1:{port}: connection refused (nothing listens at that address and port); gave up after 4 attempts in ");
    assert!(lines[1].starts_with(&head), "{err}");
    assert!(lines[1].ends_with(&format!(" s; {SETTING}")), "{err}");
    assert!(!dir.path().join("org.db").exists(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_on_a_terminal_says_at_once_that_it_is_retrying() {
    let dir = tempfile::tempdir().unwrap();
    let port = unreachable_pipeline(dir.path());
    // Under a pseudo-terminal (util-linux `script` provides one).
    let out = tokio::process::Command::new("script")
        .args(["-qfec", &format!("'{BIN}' sync --pipeline p"), "/dev/null"])
        .current_dir(dir.path())
        .env("HUNTR_ORG_TOKEN", "t")
        .env_remove("RUST_LOG")
        .env("TERM", "xterm")
        .output()
        .await
        .expect("util-linux `script` runs commands under a pseudo-terminal");
    let tty = String::from_utf8_lossy(&out.stdout);
    let told = format!(
        "huntr-sync: cannot connect to 127.0.0.1:{port}: connection refused (nothing listens at that address and port); retrying for up to 4 s; {SETTING}"
    );
    let at = tty.find(&told).unwrap_or_else(|| panic!("{tty}"));
    let end = tty
        .find("huntr-sync: error: cannot connect")
        .expect("the final line");
    assert!(at < end, "told before the end: {tty}");
    assert!(
        !tty.contains("WARN"),
        "a line for a person, not a log line: {tty}"
    );
    assert!(tty[end..].contains("gave up after 4 attempts in "), "{tty}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_against_a_server_that_never_answers_ends_within_10_seconds_naming_the_host() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts connections (the kernel's backlog) and never reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = silent.local_addr().unwrap().to_string();
    let started = Instant::now();
    let (code, line) = check(dir.path(), &format!("http://{host}/org"), "t").await;
    let took = started.elapsed();
    assert_eq!(code, Some(1), "{line}");
    assert!(line.contains(&format!(" on {host}: ")), "{line}");
    assert!(
        line.contains("no complete answer within the timeout"),
        "{line}"
    );
    // The requirement itself (two attempts of 3 s): far from the bound.
    assert!(took.as_secs() < 10, "check took {took:?}");
    drop(silent);
}
