//! Alerts: a local receiver gets exactly one message for a failed run and
//! one for the first complete run after it, naming the pipeline, the host,
//! the time and the error, never the token; `notify_command` gets the
//! run's JSON; a receiver that never answers leaves the exit code alone.

use crate::common;

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// A chat webhook stand-in: stores every JSON body POSTed to `/hook`.
async fn chat() -> (String, Arc<Mutex<Vec<Value>>>) {
    use axum::routing::post;
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<Value>| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

fn config(dir: &Path, name: &str, url: &str) {
    let text = format!(
        "[pipelines.{name}]\ndestination = \"sqlite:org.db\"\nnotify_url = \"{url}\"\n\
         notify_command = \"cat > notice.json\"\n"
    );
    std::fs::write(dir.join("pipelines.toml"), text).unwrap();
}

async fn sync(dir: &Path, name: &str, base_url: &str, token: &str) -> Output {
    let run = common::huntr_sync(dir)
        .args(["sync", "--pipeline", name, "--base-url", base_url])
        .env("HUNTR_ORG_TOKEN", token)
        .output();
    tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("the run ends")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_message_for_a_failure_and_one_for_the_recovery() {
    let sb = common::sandbox(8, 97).await;
    let dir = tempfile::tempdir().unwrap();
    let (url, got) = chat().await;
    config(dir.path(), "nightly", &url);
    let texts = || -> Vec<String> {
        got.lock()
            .unwrap()
            .iter()
            .map(|v| v["text"].as_str().unwrap().to_owned())
            .collect()
    };
    let out = sync(dir.path(), "nightly", &sb.base_url, &sb.token).await;
    assert!(out.status.success());
    assert!(
        texts().is_empty(),
        "a quiet night says nothing: {:?}",
        texts()
    );

    let token = "wrong-token-3f9a7c";
    let out = sync(dir.path(), "nightly", &sb.base_url, token).await;
    assert_eq!(out.status.code(), Some(1));
    let t = texts();
    assert_eq!(t.len(), 1, "{t:?}");
    let host = huntr_sync::notify::hostname();
    for part in [
        "pipeline \"nightly\"",
        &host,
        "failed",
        "refused the token in HUNTR_ORG_TOKEN",
    ] {
        assert!(t[0].contains(part), "{part}: {}", t[0]);
    }
    let year = huntr_sync::timefmt::iso(huntr_sync::timefmt::now_unix())[..4].to_owned();
    assert!(t[0].contains(&format!(" at {year}-")), "{}", t[0]);
    assert!(
        !t[0].contains(token) && !t[0].contains(&sb.token),
        "{}",
        t[0]
    );
    let notice: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("notice.json")).unwrap())
            .unwrap();
    assert_eq!(
        (notice["status"].as_str(), notice["exit_code"].as_u64()),
        (Some("failed"), Some(1))
    );

    let out = sync(dir.path(), "nightly", &sb.base_url, &sb.token).await;
    assert!(out.status.success());
    let t = texts();
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(
        t[1].contains("complete again after a failure") && t[1].contains(&host),
        "{}",
        t[1]
    );
    let notice: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("notice.json")).unwrap())
            .unwrap();
    assert_eq!(notice["recovered"], true);
    assert_eq!(notice["report"]["status"], "complete");

    let out = sync(dir.path(), "nightly", &sb.base_url, &sb.token).await;
    assert!(out.status.success());
    assert_eq!(
        texts().len(),
        2,
        "only the first success after a failure is told"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_leaves_the_exit_code_alone() {
    let sb = common::sandbox(8, 99).await;
    let dir = tempfile::tempdir().unwrap();
    // Takes connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            kept.push(sock);
        }
    });
    config(dir.path(), "night", &url);
    let out = sync(dir.path(), "night", &sb.base_url, &sb.token).await;
    assert!(out.status.success());
    let out = sync(dir.path(), "night", &sb.base_url, "wrong-token").await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notify_url: not notified") && err.contains("given up"),
        "{err}"
    );
    hold.abort();
}
