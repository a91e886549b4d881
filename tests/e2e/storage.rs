//! Object storage refusals, against a real S3-compatible server on
//! loopback (moto in server mode, which .ci/run installs): wrong
//! credentials, a missing bucket and an unreachable endpoint each end the
//! run before it reads the organization or writes anything, with one line
//! naming the cause (exit 1); `check` says the same, and that a good
//! destination is writable.

use crate::common;

use std::path::Path;

use common::Moto;

/// Runs huntr-sync in `dir` with S3 settings for `endpoint`.
async fn run(dir: &Path, endpoint: &str, args: &[&str]) -> std::process::Output {
    common::s3_env(&mut common::huntr_sync(dir), endpoint)
        .args(args)
        .env("HUNTR_ORG_TOKEN", "sandbox-token")
        .output()
        .await
        .unwrap()
}

/// The run failed with exit 1 and one line naming `cause`, before reading
/// more than the one request that proves the token, and left no state.
fn assert_refused(out: &std::process::Output, cause: &str, dir: &Path, requests: u64) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(
        lines[0].starts_with("huntr-sync: error: cannot write to s3://"),
        "{err}"
    );
    assert!(lines[0].contains(cause), "{cause}: {err}");
    assert_eq!(requests, 1, "only the token's proof was read");
    assert!(!dir.join(".huntr-sync").exists(), "no state was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_a_missing_bucket_and_a_dead_endpoint_fail_before_writing() {
    let sb = common::sandbox(5, 91).await;
    let open = Moto::start(false).await;
    let guarded = Moto::start(true).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let cases = [
        (
            &guarded.endpoint,
            "delta:s3://lake/huntr",
            "refused the credentials",
        ),
        (&open.endpoint, "delta:s3://missing/huntr", "does not exist"),
        (&dead, "parquet:s3://lake/huntr", "cannot be reached"),
    ];
    for (endpoint, destination, cause) in cases {
        let dir = tempfile::tempdir().unwrap();
        let before = sb.requests();
        let out = run(
            dir.path(),
            endpoint,
            &[
                "sync",
                "--base-url",
                &sb.base_url,
                "--destination",
                destination,
            ],
        )
        .await;
        assert_refused(&out, cause, dir.path(), sb.requests() - before);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_proves_a_remote_destination_writable_or_names_why_not() {
    let sb = common::sandbox(5, 92).await;
    let moto = Moto::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    let check = |destination: &'static str| {
        let (dir, url, endpoint) = (
            dir.path().to_owned(),
            sb.base_url.clone(),
            moto.endpoint.clone(),
        );
        async move {
            let args = ["check", "--base-url", &url, "--destination", destination];
            run(&dir, &endpoint, &args).await
        }
    };
    let good = check("delta:s3://lake/huntr").await;
    let text = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "{text}");
    assert!(
        text.contains("destination: writable (s3://lake/huntr (Delta Lake))"),
        "{text}"
    );
    let bad = check("parquet:s3://nowhere/huntr").await;
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("destination: FAILED") && l.contains("does not exist")),
        "{text}"
    );
}
