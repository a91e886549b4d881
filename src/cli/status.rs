//! `status`: is each pipeline's data fresh? For every pipeline of the
//! config file (or the one named), the last run, the last success and
//! each resource's ages, as text or JSON; the exit code says whether all
//! are fresh. It only reads, so it answers while a sync holds the lock.

use super::args::{PipelineArgs, StatusArgs};
use super::exit::{self, Failure};
use super::pipeline::resolve_pipeline;
use crate::config::{ConfigFile, Overrides};
use crate::freshness::{assess, show_age, Freshness};
use crate::timefmt::{iso, now_unix};

pub fn run(args: StatusArgs) -> Result<u8, Failure> {
    let now = now_unix();
    let mut all = Vec::new();
    for named in pipelines(&args.pipeline)? {
        let pargs = PipelineArgs {
            pipeline: named,
            ..args.pipeline.clone()
        };
        let p = resolve_pipeline(&pargs, Overrides::default(), true)?;
        let db = p.destination.state_db();
        all.push(assess(p.label(), db, now, args.max_age)?);
    }
    let fresh = all.iter().all(|f| f.verdict.is_fresh());
    if args.json {
        let out = serde_json::json!({ "fresh": fresh, "max_age_seconds": args.max_age, "pipelines": all });
        say!("{out}");
    } else {
        for f in &all {
            print_one(f);
        }
    }
    Ok(if fresh { exit::OK } else { exit::FAILED })
}

/// The pipelines to look at: the one named; else every pipeline of the
/// config file; else the one the command line describes.
fn pipelines(args: &PipelineArgs) -> Result<Vec<Option<String>>, Failure> {
    if args.pipeline.is_some() || args.destination.is_some() {
        return Ok(vec![args.pipeline.clone()]);
    }
    let file = ConfigFile::load_or_empty(&args.config, None)?;
    if file.pipelines.is_empty() {
        return Ok(vec![None]);
    }
    Ok(file.pipelines.keys().cloned().map(Some).collect())
}

fn print_one(f: &Freshness) {
    say!("{}: {}", f.pipeline, f.verdict.describe());
    match &f.last_run {
        Some(r) => {
            let took = r.seconds().map(show_age).unwrap_or_else(|| "-".into());
            let mut line = format!(
                "  last run:     {} {}, started {}, took {took}",
                r.run_id,
                r.status,
                r.started.map(iso).unwrap_or_else(|| "-".into())
            );
            if let Some(e) = r.error.as_deref().and_then(|e| e.lines().next()) {
                line.push_str(": ");
                line.push_str(e);
            }
            say!("{line}");
        }
        None => say!("  last run:     none"),
    }
    if let Some(a) = &f.last_attempt {
        let mut line = format!(
            "  last attempt: {} {} at {}",
            a.command,
            a.status,
            iso(a.finished)
        );
        if let Some(e) = &a.error {
            line.push_str(": ");
            line.push_str(e);
        }
        say!("{line}");
    }
    match (&f.last_success, f.success_age) {
        (Some(r), Some(age)) => say!(
            "  last success: {}, ended {} ({} ago)",
            r.run_id,
            r.finished.map(iso).unwrap_or_default(),
            show_age(age)
        ),
        _ => say!("  last success: none"),
    }
    if f.resources.is_empty() {
        return;
    }
    say!(
        "  {:<26} {:<16} {:<16}",
        "resource",
        "watermark age",
        "listed (age)"
    );
    let age = |a: Option<i64>| a.map(show_age).unwrap_or_else(|| "-".into());
    for r in &f.resources {
        say!(
            "  {:<26} {:<16} {:<16}",
            r.state.resource,
            age(r.watermark_age),
            age(r.listing_age)
        );
    }
}
