//! `sync`: one incremental run into the destination, then the summary
//! (a table per line on stdout, or one JSON object with `--json`) and an
//! exit code that says whether every resource was completed; then the
//! metrics file and notifications (`monitor`), whatever the outcome.

use super::args::SyncArgs;
use super::exit::{self, Failure};
use super::monitor::{self, Outcome};
use super::pipeline::{connect, resolve_pipeline};
use crate::config::{Overrides, Pipeline};
use crate::sync::{SyncOptions, SyncReport, Target};
use crate::timefmt::now_unix;

pub async fn run(args: SyncArgs) -> Result<u8, Failure> {
    let over = Overrides {
        resources: args.resources.clone(),
        limit: args.limit,
        export_changes: args.export_changes,
        metrics_file: args.metrics.path.clone(),
        ..Default::default()
    };
    let p = resolve_pipeline(&args.pipeline, over, true)?;
    let started = (now_unix(), std::time::Instant::now());
    let mut stats = (0, 0, 0);
    let result = sync_once(&args, &p, &mut stats).await;
    let outcome = match &result {
        Ok(report) => Outcome {
            command: "sync",
            started: started.0,
            seconds: report.seconds,
            exit_code: exit_code(report),
            error: (!report.complete()).then(|| format!("incomplete: {}", incomplete(report))),
            stats: (report.requests, report.retries, report.throttled),
            tables: report.tables.clone(),
            push: None,
            report: serde_json::to_value(report).ok(),
        },
        Err(f) => Outcome {
            command: "sync",
            started: started.0,
            seconds: started.1.elapsed().as_secs_f64(),
            exit_code: f.code,
            error: Some(super::message(&f.error)),
            stats,
            tables: Default::default(),
            push: None,
            report: None,
        },
    };
    let code = outcome.exit_code;
    monitor::after_run(&p, outcome).await;
    result.map(|_| code)
}

/// One run, its summary printed; `stats` gets the client's counters
/// whatever the outcome.
async fn sync_once(
    args: &SyncArgs,
    p: &Pipeline,
    stats: &mut (u64, u64, u64),
) -> Result<SyncReport, Failure> {
    let target = p.destination.clone();
    let (mut client, sandbox) = connect(p, &args.pipeline, |_| {}).await?;
    let progress = crate::progress::Progress::for_stderr();
    // The first failure to reach the API: a line at once on a terminal,
    // a warning in the log otherwise.
    client.set_notice(progress.notice());
    let opts = SyncOptions {
        resources: p.resources.clone(),
        limit: p.limit,
        lookback: p.lookback_minutes as i64 * 60,
        full_refresh: args.full_refresh,
        progress,
        wait: args.wait.duration(),
        ..Default::default()
    };
    let result = crate::sync::sync(&client, &target, &opts).await;
    *stats = client.stats.get();
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    let report = result?;
    tracing::info!(
        "run {} {} in {:.1}s: {} requests, {} retries",
        report.run_id,
        report.status,
        report.seconds,
        report.requests,
        report.retries
    );
    if args.json {
        say!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print_summary(&report, &target);
    }
    if !report.complete() {
        eprintln!(
            "huntr-sync: incomplete: {}; everything else was committed, run again to finish",
            incomplete(&report)
        );
    }
    Ok(report)
}

/// The resources a run could not complete, by name.
fn incomplete(report: &SyncReport) -> String {
    let names: Vec<&str> = report.incomplete.keys().map(String::as_str).collect();
    names.join(", ")
}

/// OK when every resource was completed, else PARTIAL.
fn exit_code(report: &SyncReport) -> u8 {
    if report.complete() {
        exit::OK
    } else {
        exit::PARTIAL
    }
}

/// The run's line, then each table's rows and this run's changes to it.
fn print_summary(r: &SyncReport, target: &Target) {
    let shown = target.describe();
    // Rows per table now; none when the state cannot be read.
    let totals = target
        .open_store()
        .and_then(|s| s.row_counts())
        .unwrap_or_default();
    say!(
        "huntr-sync: run {} {} in {:.1}s into {}: {} requests, {} retries, {} rate-limited, {} jobs re-read",
        r.run_id,
        r.status,
        r.seconds,
        shown,
        r.requests,
        r.retries,
        r.throttled,
        r.jobs_reread
    );
    for (endpoint, status) in &r.skipped {
        say!("  skipped /{endpoint}: answered {status} (not served to this organization)");
    }
    say!(
        "  {:<38} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "table",
        "rows",
        "inserted",
        "updated",
        "deleted",
        "removed"
    );
    for (name, rows) in totals {
        let c = r.tables.get(&name).cloned().unwrap_or_default();
        say!(
            "  {:<38} {:>9} {:>9} {:>8} {:>8} {:>8}",
            name,
            rows,
            c.inserted,
            c.updated,
            c.deleted,
            c.removed
        );
    }
}
