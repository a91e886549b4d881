//! What `sync` and `push` do once a run is over, whatever its outcome:
//! record how it ended beside the state (`crate::outcome`), write the
//! pipeline's metrics file and send its notifications. None of it changes
//! the exit code: a failure is logged.

use std::collections::BTreeMap;

use crate::config::Pipeline;
use crate::metrics::{self, PushCounts, RunFacts, StoreFacts};
use crate::notify::{self, Ran};
use crate::outcome::LastRun;
use crate::store::{Store, TableCounts};
use crate::timefmt::now_unix;

/// How a run went, as the CLI saw it.
pub struct Outcome {
    /// `sync` or `push`.
    pub command: &'static str,
    pub started: i64,
    pub seconds: f64,
    pub exit_code: u8,
    /// The error line of a failed run.
    pub error: Option<String>,
    /// Requests, retries, throttled answers.
    pub stats: (u64, u64, u64),
    pub tables: BTreeMap<String, TableCounts>,
    pub push: Option<PushCounts>,
    /// The command's JSON report, when it got as far as one.
    pub report: Option<serde_json::Value>,
}

impl Outcome {
    /// `complete`, `partial` (exit 3) or `failed`.
    pub fn status(&self) -> &'static str {
        match self.exit_code {
            super::exit::OK => "complete",
            super::exit::PARTIAL => "partial",
            _ => "failed",
        }
    }
}

/// Writes the metrics file and notifies, as the pipeline says.
pub async fn after_run(p: &Pipeline, o: Outcome) {
    let finished = now_unix();
    if let Some(path) = &p.monitoring.metrics_file {
        let run = RunFacts {
            command: o.command.into(),
            status: o.status().into(),
            started: o.started,
            finished,
            seconds: o.seconds,
            requests: o.stats.0,
            retries: o.stats.1,
            throttled: Some(o.stats.2),
            tables: o.tables.clone(),
            push: o.push.clone(),
        };
        let db = p.destination.state_db().to_owned();
        let store = tokio::task::spawn_blocking(move || store_facts(&db))
            .await
            .unwrap_or_default();
        let text = metrics::render(&metrics::families(p.label(), finished, Some(&run), &store));
        if let Err(e) = metrics::write_atomic(path, &text) {
            tracing::error!("{e}");
        }
    }
    let db = p.destination.state_db();
    let previous = crate::outcome::read(db).map(|l| l.status);
    let last = LastRun {
        command: o.command.into(),
        status: o.status().into(),
        finished,
        exit_code: o.exit_code,
        error: o.error.clone(),
    };
    // Refused because another run holds the destination: how that run
    // ends is what the state's next reader needs.
    if o.exit_code != super::exit::LOCKED {
        crate::outcome::write(db, &last);
    }
    let ran = Ran {
        pipeline: p.label(),
        command: o.command,
        status: o.status(),
        exit_code: o.exit_code,
        finished,
        seconds: o.seconds,
        error: o.error,
        report: o.report,
    };
    let secrets = secrets(p);
    notify::after_run(&p.monitoring, previous.as_deref(), ran, &secrets).await;
}

/// What the state database shows; nothing when there is none yet.
fn store_facts(db: &std::path::Path) -> StoreFacts {
    if !db.exists() {
        return StoreFacts::default();
    }
    match Store::open_read(db).and_then(|s| StoreFacts::read(&s)) {
        Ok(facts) => facts,
        Err(e) => {
            tracing::warn!("metrics: {e}");
            StoreFacts::default()
        }
    }
}

/// Values no message may show: the token, the webhook secret, the
/// PostgreSQL password.
fn secrets(p: &Pipeline) -> Vec<String> {
    let mut out: Vec<String> = [p.token_env.as_str(), &p.webhook_secret_env, "PGPASSWORD"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .collect();
    if let Some(file) = &p.token_file {
        out.extend(std::fs::read_to_string(file).ok());
    }
    out
}
