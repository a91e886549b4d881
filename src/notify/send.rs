//! Delivering a notice: the POST of `{"text": ...}` to `notify_url` and
//! the run of `notify_command` with the notice as JSON on standard input,
//! side by side, each given up after [`NOTIFY_TIMEOUT`]. A failure is
//! logged and goes no further.

use std::future::Future;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::RunNotice;
use crate::config::Monitoring;
use crate::defaults::NOTIFY_TIMEOUT;

/// Sends `notice` to every channel `m` names; returns when each has
/// answered or been given up.
pub async fn send(m: &Monitoring, notice: &RunNotice) {
    let url = async {
        if let Some(url) = &m.notify_url {
            let done = within(NOTIFY_TIMEOUT, post(url, &notice.text)).await;
            report("notify_url", done);
        }
    };
    let command = async {
        if let Some(cmd) = &m.notify_command {
            let json = serde_json::to_vec(notice).unwrap_or_default();
            let done = within(NOTIFY_TIMEOUT, run_command(cmd, json)).await;
            report("notify_command", done);
        }
    };
    tokio::join!(url, command);
}

fn report(what: &str, done: Result<(), String>) {
    match done {
        Ok(()) => tracing::info!("{what}: notified"),
        Err(e) => tracing::warn!("{what}: not notified: {e}"),
    }
}

/// `work`, given up after `limit`.
pub async fn within<F>(limit: Duration, work: F) -> Result<(), String>
where
    F: Future<Output = Result<(), String>>,
{
    match tokio::time::timeout(limit, work).await {
        Ok(done) => done,
        Err(_) => Err(format!("no answer within {}s; given up", limit.as_secs())),
    }
}

/// POSTs `{"text": text}` to `url`; a status other than 2xx is an error.
async fn post(url: &str, text: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(NOTIFY_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .post(url)
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .map_err(|e| format!("POST to {}: {e}", host_of(url)))?;
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{} answered {status}", host_of(url)))
    }
}

/// The URL's host, for messages (its path may hold a webhook's secret).
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "the notify_url".into())
}

/// Runs `sh -c cmd` in a process group of its own, `input` on its
/// standard input and its output on our standard error; the whole group
/// is killed if it is given up.
async fn run_command(cmd: &str, input: Vec<u8>) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(std::io::stderr()))
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let group = child.id();
    let _killer = super::os::GroupKiller(group);
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is fine.
        let _ = stdin.write_all(&input).await;
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the command exited with {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_hanging_notification_is_given_up_after_ten_seconds() {
        let start = tokio::time::Instant::now();
        let done = within(NOTIFY_TIMEOUT, std::future::pending()).await;
        assert!(done.unwrap_err().contains("given up"));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    /// A receiver that takes the connection and never answers.
    #[tokio::test(start_paused = true)]
    async fn a_receiver_that_never_answers_is_given_up_after_ten_seconds() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let hold = tokio::spawn(async move {
            let mut kept = Vec::new();
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                kept.push(sock);
            }
        });
        let start = tokio::time::Instant::now();
        let m = Monitoring {
            notify_url: Some(url),
            ..Default::default()
        };
        let notice = super::super::notice(
            super::super::Ran {
                pipeline: "p",
                command: "sync",
                status: "failed",
                exit_code: 1,
                finished: 0,
                seconds: 0.0,
                error: None,
                report: None,
            },
            false,
            &[],
        );
        send(&m, &notice).await;
        assert!(start.elapsed() <= NOTIFY_TIMEOUT + Duration::from_millis(100));
        assert!(start.elapsed() >= NOTIFY_TIMEOUT);
        hold.abort();
    }

    #[tokio::test]
    async fn the_command_gets_the_notice_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got.json");
        let cmd = format!("cat > '{}'", out.display());
        run_command(&cmd, b"{\"a\":1}".to_vec()).await.unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"a\":1}");
        let err = run_command("exit 3", Vec::new()).await.unwrap_err();
        assert!(err.contains('3'), "{err}");
    }
}
