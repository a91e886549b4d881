//! `push`: writes to Huntr from a file. Reads the input, brings the
//! destination up to date with the parts of the organization the push
//! depends on (and sees them), settles earlier pushes' writes in doubt,
//! validates and plans every row, asks (or is told `--yes`), then sends
//! each write exactly once and reports every row.

use std::io::IsTerminal;

use super::args::{PushArgs, PushWhat};
use super::exit::{self, Failure};
use super::pipeline::{connect, resolve_pipeline};
use crate::config::Overrides;
use crate::push::report::{self, RowOutcome, Summary};
use crate::push::send::{self, Item};
use crate::push::template::{write_template, TemplateError};
use crate::push::{
    orgview, read_input, FieldDef, InputTable, Outcome, Plan, PushKind, ReadOptions,
};
use crate::resources::Resource;
use crate::sync::{SyncError, SyncOptions, Target};

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
    let p = resolve_pipeline(&args.pipeline, Overrides::default(), true)?;
    let (mut client, sandbox) = connect(&p, &args.pipeline, |_| {}).await?;
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
    let read = crate::sync::sync(&client, &target, &opts).await?;
    if !read.complete() {
        let names: Vec<&str> = read.incomplete.keys().map(String::as_str).collect();
        return Err(Failure::from(anyhow::anyhow!(
            "could not read {} from the API, so the file cannot be checked against the organization; nothing was sent",
            names.join(", ")
        )));
    }
    let org = collector.take(!read.skipped.contains_key(Resource::Advisors.path()));
    let (Some(input), None) = (input, &args.template) else {
        let code = template(kind, &org.fields, &args);
        if let Some(sb) = sandbox {
            sb.stop().await;
        }
        return code;
    };
    let settled = {
        let store = target.open_store().map_err(SyncError::from)?;
        send::settle_earlier(&store, kind, &org).map_err(SyncError::from)?
    };
    let plan = crate::push::plan(kind, &input, &org)
        .map_err(|e| Failure::usage(format!("{}: {e}", source(&args, &input))))?;
    let code = decide_and_send(&client, &target, plan, &args, settled, input.unit()).await;
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    code
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
    println!(
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
) -> Result<u8, Failure> {
    let (rows, mut summary) = report::build(&plan, None, args.dry_run);
    summary.settled_from_earlier = settled;
    if summary.invalid > 0 && !args.skip_invalid {
        report::print_invalid(&rows, unit);
        finish_report(args, &rows, &summary, client)?;
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
            print!("{}", report::preview(&rows, 20, unit));
        }
        finish_report(args, &rows, &summary, client)?;
        return Ok(exit::OK);
    }
    summary.requests = client.stats.get().0;
    if !args.yes && !confirm(&rows, &summary, writes.len(), unit)? {
        return Ok(exit::USAGE);
    }
    let wait = args.wait.duration();
    let ended = crate::push::session::send_all(client, target, plan.kind, writes, wait)
        .await
        .map_err(anyhow::Error::from)?;
    let (rows, mut summary) = report::build(&plan, Some(&ended), false);
    summary.settled_from_earlier = settled;
    finish_report(args, &rows, &summary, client)?;
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

/// The report file, then the summary on stdout.
fn finish_report(
    args: &PushArgs,
    rows: &[report::RowReport],
    s: &Summary,
    client: &crate::api::Client,
) -> Result<(), Failure> {
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
        println!("{}", serde_json::to_string(&s).unwrap_or_default());
    } else {
        println!("{}", report::summary_text(&s));
    }
    Ok(())
}
