//! Alerts: after a run, a message to a chat webhook (`notify_url`, posted
//! `{"text": "..."}`) and a command of the operator's (`notify_command`,
//! given the run's JSON report on standard input), on a failed run and
//! on the first complete run after a failure, or after every run with
//! `notify_on = "always"`.
//!
//! Whether the run before failed is read from `crate::outcome`. The
//! message names the pipeline, the host, the time and the error line,
//! with every secret the caller names blanked out. A notification that
//! fails or hangs is logged and given up after [`crate::defaults::NOTIFY_TIMEOUT`]:
//! it never changes the run's outcome.
//!
//! - `send`: posting and running the command, each with its time limit;
//! - `os`: the host's name and killing a command's process group.

mod os;
pub mod send;

pub use os::hostname;

use serde::Serialize;

use crate::config::{Monitoring, NotifyOn};
use crate::timefmt::iso;

/// A run's end, as a notification tells it.
#[derive(Debug, Clone, Serialize)]
pub struct RunNotice {
    pub pipeline: String,
    pub host: String,
    /// `sync` or `push`.
    pub command: String,
    /// `complete`, `partial` or `failed`.
    pub status: String,
    pub exit_code: u8,
    /// When the run ended (ISO 8601, UTC).
    pub finished: String,
    pub seconds: f64,
    pub error: Option<String>,
    /// The message posted to `notify_url`.
    pub text: String,
    /// Whether the run before it failed.
    pub recovered: bool,
    /// The command's own JSON report (`sync --json`, `push --json`), when
    /// it got as far as one.
    pub report: Option<serde_json::Value>,
}

/// A run's end, before it becomes a [`RunNotice`].
#[derive(Debug, Clone)]
pub struct Ran<'a> {
    pub pipeline: &'a str,
    pub command: &'a str,
    pub status: &'a str,
    pub exit_code: u8,
    pub finished: i64,
    pub seconds: f64,
    pub error: Option<String>,
    pub report: Option<serde_json::Value>,
}

/// Whether this run is told: a failure, a recovery, or any with `always`.
pub fn due(on: NotifyOn, status: &str, previous: Option<&str>) -> bool {
    on == NotifyOn::Always
        || status == "failed"
        || (status == "complete" && previous == Some("failed"))
}

/// Notifies as `m` says, when due: `previous` is how the run before
/// ended (see `crate::outcome`). `secrets` are blanked out of the message.
pub async fn after_run(m: &Monitoring, previous: Option<&str>, end: Ran<'_>, secrets: &[String]) {
    if !m.notifies() || !due(m.notify_on, end.status, previous) {
        return;
    }
    let recovered = end.status == "complete" && previous == Some("failed");
    let notice = notice(end, recovered, secrets);
    send::send(m, &notice).await;
}

/// The notice, its text written and every secret blanked out.
pub fn notice(end: Ran<'_>, recovered: bool, secrets: &[String]) -> RunNotice {
    let host = hostname();
    let error = end.error.map(|e| redact(&first_line(&e), secrets));
    let what = match (end.status, recovered) {
        ("complete", true) => "complete again after a failure".to_owned(),
        (s, _) => s.to_owned(),
    };
    let mut text = format!(
        "huntr-sync {} of pipeline \"{}\" on {host} at {}: {what} (exit {}, {:.1}s)",
        end.command,
        end.pipeline,
        iso(end.finished),
        end.exit_code,
        end.seconds
    );
    if let Some(e) = &error {
        text.push_str(": ");
        text.push_str(e);
    }
    RunNotice {
        pipeline: end.pipeline.to_owned(),
        host,
        command: end.command.to_owned(),
        status: end.status.to_owned(),
        exit_code: end.exit_code,
        finished: iso(end.finished),
        seconds: end.seconds,
        error,
        text,
        recovered,
        report: end.report,
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

/// `text` with each secret, and the password of any `scheme://user:pw@`
/// URL, replaced by `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().map(|s| s.trim()).filter(|s| s.len() >= 4) {
        out = out.replace(s, "***");
    }
    let mut result = String::new();
    let mut rest = out.as_str();
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        result.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                result.push_str(&authority[..colon]);
                result.push_str(":***");
                result.push_str(&authority[at..]);
            }
            _ => result.push_str(authority),
        }
        rest = &tail[end..];
    }
    result.push_str(rest);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_recoveries_are_due_and_quiet_nights_are_not() {
        let f = NotifyOn::Failure;
        assert!(due(f, "failed", None));
        assert!(due(f, "failed", Some("failed")));
        assert!(due(f, "complete", Some("failed")));
        assert!(!due(f, "complete", Some("complete")));
        assert!(!due(f, "complete", None));
        assert!(!due(f, "partial", Some("failed")));
        assert!(due(NotifyOn::Always, "complete", Some("complete")));
    }

    #[test]
    fn the_message_names_pipeline_host_time_and_error_and_no_secret() {
        let end = Ran {
            pipeline: "nightly",
            command: "sync",
            status: "failed",
            exit_code: 1,
            finished: 1_588_634_675,
            seconds: 2.0,
            error: Some(
                "cannot reach postgres://huntr:hunter2pw@db:5432/x with tok_s3cret\nmore".into(),
            ),
            report: None,
        };
        let n = notice(end, false, &["tok_s3cret".into()]);
        assert!(n.text.contains("pipeline \"nightly\""), "{}", n.text);
        assert!(n.text.contains(&hostname()), "{}", n.text);
        assert!(n.text.contains("2020-05-04T23:24:35Z"), "{}", n.text);
        assert!(
            n.text.contains("postgres://huntr:***@db:5432/x with ***"),
            "{}",
            n.text
        );
        assert!(
            !n.text.contains("hunter2pw") && !n.text.contains("s3cret") && !n.text.contains("more")
        );
    }

    #[test]
    fn urls_without_a_password_are_left_alone() {
        let t = "GET http://127.0.0.1:8080/jobs and s3://bucket/p, a@b";
        assert_eq!(redact(t, &[]), t);
    }
}
