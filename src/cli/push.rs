//! `push`: writes to Huntr from a file. Reads the input, brings the
//! destination up to date with the parts of the organization the push
//! depends on (and sees them), settles earlier pushes' writes in doubt,
//! validates and plans every row, asks (or is told `--yes`), then sends
//! each write exactly once and reports every row; then the metrics file
//! and notifications (`monitor`), whatever the outcome.

use std::io::IsTerminal;

use super::args::{PushArgs, PushWhat};
use super::exit::{self, Failure};
use super::monitor;
use super::pipeline::{connect, resolve_pipeline};
use crate::config::Overrides;
use crate::metrics::PushCounts;
use crate::push::report::{self, RowOutcome, Summary};
use crate::push::send::{self, Item};
use crate::push::template::{write_template, TemplateError};
use crate::push::{
    orgview, read_input, FieldDef, InputTable, Outcome, Plan, PushKind, ReadOptions,
};
use crate::resources::Resource;
use crate::sync::{SyncError, SyncOptions, Target};
use crate::timefmt::now_unix;

pub async fn run(what: PushWhat) -> Result<u8, Failure> {
    let (kind, args) = match what {
        PushWhat::Invitations(a) => (PushKind::Invitations, a),
        PushWhat::FieldValues(a) => (PushKind::FieldValues, a),
        PushWhat::Fields(a) => (PushKind::Fields, a),
    };
    let input = match &args.template {
        Some(_) => None,
        None => Some(read(&args)?),
    };
    let over = Overrides {
        metrics_file: args.metrics.path.clone(),
        ..Default::default()
    };
    let p = resolve_pipeline(&args.pipeline, over, true)?;
    let started = (now_unix(), std::time::Instant::now());
    let mut seen = Seen::default();
    let result = push_once(kind, &args, &p, input, &mut seen).await;
    // A preview or a template changes nothing worth a metric or a message.
    if args.dry_run || args.template.is_some() {
        return result;
    }
    let exit_code = match &result {
        Ok(code) => *code,
        Err(f) => f.code,
    };
    let outcome = monitor::Outcome {
        command: "push",
        started: started.0,
        seconds: started.1.elapsed().as_secs_f64(),
        exit_code,
        error: match &result {
            Err(f) => Some(super::message(&f.error)),
            Ok(_) => seen.error.take(),
        },
        stats: seen.stats,
        tables: seen.tables,
        push: seen.summary.as_ref().map(|s| push_counts(kind, s)),
        report: seen.summary.and_then(|s| serde_json::to_value(s).ok()),
    };
    monitor::after_run(&p, outcome).await;
    result
}

/// What a push leaves for its metrics and notifications.
#[derive(Default)]
struct Seen {
    /// Requests, retries, throttled answers.
    stats: (u64, u64, u64),
    /// Rows the push's sync changed.
    tables: std::collections::BTreeMap<String, crate::store::TableCounts>,
    summary: Option<Summary>,
    /// Why a push that ended without an error sent nothing or not all.
    error: Option<String>,
}

fn push_counts(kind: PushKind, s: &Summary) -> PushCounts {
    PushCounts {
        kind: kind.name().to_owned(),
        sent: s.sent as u64,
        skipped: s.skipped.values().sum::<usize>() as u64,
        invalid: s.invalid as u64,
        failed: s.failed as u64,
    }
}

/// The push itself; `seen` gets what the metrics need on every path.
async fn push_once(
    kind: PushKind,
    args: &PushArgs,
    p: &crate::config::Pipeline,
    input: Option<InputTable>,
    seen: &mut Seen,
) -> Result<u8, Failure> {
    let (mut client, sandbox) = connect(p, &args.pipeline, |_| {}).await?;
    let code = read_and_send(kind, args, p, input, &mut client, seen).await;
    seen.stats = client.stats.get();
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    code
}

/// Brings the destination up to date, plans, and sends.
async fn read_and_send(
    kind: PushKind,
    args: &PushArgs,
    p: &crate::config::Pipeline,
    input: Option<InputTable>,
    client: &mut crate::api::Client,
    seen: &mut Seen,
) -> Result<u8, Failure> {
    let progress = crate::progress::Progress::for_stderr();
    client.set_notice(progress.notice());
    // The organization as it is now; the destination is updated with it.
    let collector = std::sync::Arc::new(orgview::Collector::default());
    let resources = match &args.template {
        Some(_) => vec![Resource::MemberFields],
        None => orgview::resources(kind),
    };
    let opts = SyncOptions {
        resources,
        limit: p.limit,
        seen: Some(collector.seen()),
        progress,
        wait: args.wait.duration(),
        ..Default::default()
    };
    let target = p.destination.clone();
    let read = crate::sync::sync(client, &target, &opts).await?;
    seen.tables = read.tables.clone();
    if !read.complete() {
        let names: Vec<&str> = read.incomplete.keys().map(String::as_str).collect();
        return Err(Failure::from(anyhow::anyhow!(
            "could not read {} from the API, so the file cannot be checked against the organization; nothing was sent",
            names.join(", ")
        )));
    }
    let org = collector.take(!read.skipped.contains_key(Resource::Advisors.path()));
    let (Some(input), None) = (input, &args.template) else {
        return template(kind, &org.fields, args);
    };
    let settled = {
        let store = target.open_store().map_err(SyncError::from)?;
        send::settle_earlier(&store, kind, &org).map_err(SyncError::from)?
    };
    let plan = crate::push::plan(kind, &input, &org)
        .map_err(|e| Failure::usage(format!("{}: {e}", source(args, &input))))?;
    decide_and_send(client, &target, plan, args, settled, input.unit(), seen).await
}

/// Reads `--from` as the options say; every problem is a usage error, so
/// nothing is sent.
fn read(args: &PushArgs) -> Result<InputTable, Failure> {
    let path = args
        .from
        .as_deref()
        .ok_or_else(|| Failure::usage("push needs --from FILE (or --template FILE)".into()))?;
    let options = ReadOptions {
        sheet: args.sheet.clone(),
        delimiter: args.delimiter,
    };
    let mut input = read_input(path, &options).map_err(|e| Failure::usage(e.to_string()))?;
    input.date_format = args.date_format.clone();
    Ok(input)
}

/// The input as messages name it: `cohort.xlsx (sheet Fall)`.
fn source(args: &PushArgs, input: &InputTable) -> String {
    let path = args.from.as_deref().unwrap_or(std::path::Path::new("-"));
    match &input.sheet {
        Some(sheet) => format!("{} (sheet {sheet})", path.display()),
        None => path.display().to_string(),
    }
}

/// `--template`: writes the empty file to fill; sends nothing.
fn template(kind: PushKind, fields: &[FieldDef], args: &PushArgs) -> Result<u8, Failure> {
    let Some(path) = &args.template else {
        return Ok(exit::OK);
    };
    let columns = write_template(kind, fields, path).map_err(|e| match e {
        TemplateError::Format { .. } => Failure::usage(e.to_string()),
        other => Failure::from(anyhow::Error::from(other)),
    })?;
    say!(
        "huntr-sync: wrote {} ({columns} columns); fill it in and push it with --from",
        path.display()
    );
    Ok(exit::OK)
}

/// Refuses, previews or sends the plan; reports; the exit code.
async fn decide_and_send(
    client: &crate::api::Client,
    target: &Target,
    plan: Plan,
    args: &PushArgs,
    settled: usize,
    unit: &str,
    seen: &mut Seen,
) -> Result<u8, Failure> {
    let (rows, mut summary) = report::build(&plan, None, args.dry_run);
    summary.settled_from_earlier = settled;
    if summary.invalid > 0 && !args.skip_invalid {
        seen.summary = Some(finish_report(args, &rows, &summary, client)?);
        seen.error = Some(format!(
            "{} of {} rows are invalid; nothing was sent",
            summary.invalid, summary.rows
        ));
        // One invalid row is one line: what is wrong, and that nothing went.
        let invalid: Vec<&report::RowReport> = (rows.iter())
            .filter(|r| r.outcome == RowOutcome::Invalid)
            .collect();
        if let [bad] = invalid[..] {
            eprintln!(
                "huntr-sync: {unit} {}: {}; nothing was sent",
                bad.line, bad.message
            );
            return Ok(exit::USAGE);
        }
        report::print_invalid(&rows, unit);
        eprintln!(
            "huntr-sync: {} of {} rows are invalid; nothing was sent. Fix them, or pass --skip-invalid to send the valid rows",
            summary.invalid, summary.rows
        );
        return Ok(exit::USAGE);
    }
    report::print_invalid(&rows, unit);
    let writes = items(&plan);
    if args.dry_run || writes.is_empty() {
        if args.dry_run && !args.json {
            say_raw!("{}", report::preview(&rows, 20, unit));
        }
        seen.summary = Some(finish_report(args, &rows, &summary, client)?);
        return Ok(exit::OK);
    }
    summary.requests = client.stats.get().0;
    if !args.yes && !confirm(&rows, &summary, writes.len(), unit)? {
        seen.error = Some("not confirmed; nothing was sent".into());
        return Ok(exit::USAGE);
    }
    let wait = args.wait.duration();
    let ended = crate::push::session::send_all(client, target, plan.kind, writes, wait)
        .await
        .map_err(anyhow::Error::from)?;
    let (rows, mut summary) = report::build(&plan, Some(&ended), false);
    summary.settled_from_earlier = settled;
    seen.summary = Some(finish_report(args, &rows, &summary, client)?);
    for r in rows
        .iter()
        .filter(|r| r.outcome == RowOutcome::Failed)
        .take(20)
    {
        eprintln!(
            "huntr-sync: {unit} {} ({}): failed: {}",
            r.line, r.key, r.message
        );
    }
    if summary.failed > 0 {
        seen.error = Some(format!("{} rows failed", summary.failed));
        eprintln!(
            "huntr-sync: {} rows failed; run the same push again to finish them (nothing is sent twice)",
            summary.failed
        );
        return Ok(exit::PARTIAL);
    }
    Ok(exit::OK)
}

/// The planned writes, in file order.
fn items(plan: &Plan) -> Vec<Item> {
    let mut items = Vec::new();
    for row in &plan.rows {
        if let Outcome::Send(writes) = &row.outcome {
            for w in writes {
                items.push(Item {
                    line: row.line,
                    write: w.clone(),
                });
            }
        }
    }
    items
}

/// Asks on a terminal; refuses (false) without one.
fn confirm(
    rows: &[report::RowReport],
    s: &Summary,
    writes: usize,
    unit: &str,
) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "huntr-sync: refusing to send {writes} write(s) without confirmation: stdin is not a terminal; check the plan with --dry-run, then pass --yes"
        );
        return Ok(false);
    }
    eprintln!("{}", report::summary_text(s));
    eprint!("{}", report::preview(rows, 20, unit));
    eprint!("Send {writes} write(s) to Huntr now? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    let yes = matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
    if !yes {
        eprintln!("huntr-sync: nothing was sent");
    }
    Ok(yes)
}

/// The report file, then the summary on stdout; returns the summary.
fn finish_report(
    args: &PushArgs,
    rows: &[report::RowReport],
    s: &Summary,
    client: &crate::api::Client,
) -> Result<Summary, Failure> {
    let mut s = s.clone();
    s.requests = client.stats.get().0;
    if let Some(path) = &args.report {
        report::write_csv(path, rows).map_err(|e| {
            Failure::from(anyhow::anyhow!(
                "cannot write the report {}: {e}",
                path.display()
            ))
        })?;
    }
    if args.json {
        say!("{}", serde_json::to_string(&s).unwrap_or_default());
    } else {
        say!("{}", report::summary_text(&s));
    }
    Ok(s)
}
