//! What a push says about each input row and in sum: the `--report` CSV
//! (one line per input row: line, key, outcome, id, message), the summary
//! on stdout or as JSON, the invalid rows on stderr, and the dry-run plan.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use super::send::Ended;
use super::{Outcome, Plan, PlannedRow, Problem, SkipReason};

/// A row's outcome, as the report spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowOutcome {
    /// Would be sent (a dry run, or a run that stopped before it).
    Planned,
    Sent,
    Skipped,
    Invalid,
    Failed,
}

impl RowOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RowOutcome::Planned => "planned",
            RowOutcome::Sent => "sent",
            RowOutcome::Skipped => "skipped",
            RowOutcome::Invalid => "invalid",
            RowOutcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RowReport {
    pub line: usize,
    pub key: String,
    pub outcome: RowOutcome,
    pub id: String,
    pub message: String,
}

/// The summary: counts by outcome, skips by reason.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub kind: String,
    pub dry_run: bool,
    pub rows: usize,
    pub planned: usize,
    pub sent: usize,
    pub skipped: BTreeMap<&'static str, usize>,
    pub invalid: usize,
    pub failed: usize,
    pub requests: u64,
    /// Writes of earlier pushes that were in doubt and are now settled.
    pub settled_from_earlier: usize,
}

/// A short name for a skip, for the summary.
pub fn skip_label(r: &SkipReason) -> &'static str {
    match r {
        SkipReason::AlreadyMember { .. } => "already_member",
        SkipReason::AlreadyInvited { .. } => "already_invited",
        SkipReason::RepeatedInFile { .. } => "repeated_in_file",
        SkipReason::Unchanged => "unchanged",
        SkipReason::FieldExists { .. } => "field_exists",
        SkipReason::FieldDiffers { .. } => "field_differs",
    }
}

fn skip_id(r: &SkipReason) -> String {
    match r {
        SkipReason::AlreadyMember { member_id } => member_id.clone(),
        SkipReason::AlreadyInvited { invitation_id } => invitation_id.clone(),
        SkipReason::FieldExists { field_id } | SkipReason::FieldDiffers { field_id, .. } => {
            field_id.clone()
        }
        _ => String::new(),
    }
}

/// `column `c` = `v`: message`, joined by "; ".
pub fn problems_text(problems: &[Problem]) -> String {
    let each: Vec<String> = problems
        .iter()
        .map(|p| format!("column `{}` = `{}`: {}", p.column, p.value, p.message))
        .collect();
    each.join("; ")
}

/// One row's report line, given how its writes ended (None: not sent).
fn row_report(row: &PlannedRow, ended: Option<&HashMap<String, Ended>>) -> RowReport {
    let (outcome, id, message) = match &row.outcome {
        Outcome::Skip(r) => (RowOutcome::Skipped, skip_id(r), r.describe()),
        Outcome::Invalid(p) => (RowOutcome::Invalid, String::new(), problems_text(p)),
        Outcome::Send(writes) => match ended {
            None => (RowOutcome::Planned, String::new(), row.outcome.describe()),
            Some(ended) => {
                let mut ids = Vec::new();
                let mut errors = Vec::new();
                for w in writes {
                    match ended.get(&w.key) {
                        Some(Ended::Sent(id)) => ids.extend(id.clone()),
                        Some(Ended::Failed(e)) => errors.push(e.clone()),
                        None => errors.push("not sent: the push stopped first".into()),
                    }
                }
                ids.dedup();
                if errors.is_empty() {
                    (RowOutcome::Sent, ids.join(";"), String::new())
                } else {
                    (RowOutcome::Failed, ids.join(";"), errors.join("; "))
                }
            }
        },
    };
    RowReport {
        line: row.line,
        key: row.key.clone(),
        outcome,
        id,
        message,
    }
}

/// Every row's report line and the summary.
pub fn build(
    plan: &Plan,
    ended: Option<&HashMap<String, Ended>>,
    dry_run: bool,
) -> (Vec<RowReport>, Summary) {
    let rows: Vec<RowReport> = plan.rows.iter().map(|r| row_report(r, ended)).collect();
    let mut s = Summary {
        kind: plan.kind.name().to_owned(),
        dry_run,
        rows: rows.len(),
        ..Default::default()
    };
    for (r, planned) in rows.iter().zip(&plan.rows) {
        match r.outcome {
            RowOutcome::Planned => s.planned += 1,
            RowOutcome::Sent => s.sent += 1,
            RowOutcome::Invalid => s.invalid += 1,
            RowOutcome::Failed => s.failed += 1,
            RowOutcome::Skipped => {
                if let Outcome::Skip(reason) = &planned.outcome {
                    *s.skipped.entry(skip_label(reason)).or_default() += 1;
                }
            }
        }
    }
    (rows, s)
}

/// Writes the `--report` CSV.
pub fn write_csv(path: &Path, rows: &[RowReport]) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["line", "key", "outcome", "id", "message"])?;
    for r in rows {
        w.write_record([
            r.line.to_string().as_str(),
            &r.key,
            r.outcome.as_str(),
            &r.id,
            &r.message,
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The invalid rows on stderr: the first 20, then how many more.
/// `unit`: what the row numbers count (`line`, or `row` of a sheet).
pub fn print_invalid(rows: &[RowReport], unit: &str) {
    let invalid: Vec<&RowReport> = rows
        .iter()
        .filter(|r| r.outcome == RowOutcome::Invalid)
        .collect();
    let mut err = std::io::stderr().lock();
    for r in invalid.iter().take(20) {
        let _ = writeln!(err, "huntr-sync: {unit} {}: {}", r.line, r.message);
    }
    if invalid.len() > 20 {
        let _ = writeln!(
            err,
            "huntr-sync: ... and {} more invalid rows",
            invalid.len() - 20
        );
    }
}

/// The summary as lines for a person.
pub fn summary_text(s: &Summary) -> String {
    // Before sending (a dry run, the confirmation) rows are only planned.
    let planning = s.dry_run || s.planned > 0;
    let mut out = format!(
        "huntr-sync: push {}{}: {} rows: {} {}, {} skipped, {} invalid, {} failed; {} requests",
        s.kind,
        if s.dry_run {
            " (dry run, nothing sent)"
        } else {
            ""
        },
        s.rows,
        if planning { s.planned } else { s.sent },
        if planning { "to send" } else { "sent" },
        s.skipped.values().sum::<usize>(),
        s.invalid,
        s.failed,
        s.requests
    );
    for (reason, n) in &s.skipped {
        out.push_str(&format!("\n  skipped, {reason}: {n}"));
    }
    if s.settled_from_earlier > 0 {
        out.push_str(&format!(
            "\n  {} write(s) of an earlier push that was interrupted were found applied",
            s.settled_from_earlier
        ));
    }
    out
}

/// The plan's first rows, for a dry run or the confirmation; `unit`: what
/// the row numbers count (`line`, or `row` of a sheet).
pub fn preview(rows: &[RowReport], n: usize, unit: &str) -> String {
    let mut out = String::new();
    for r in rows.iter().take(n) {
        out.push_str(&format!(
            "  {unit:>4} {:>5}  {:<8} {}  {}\n",
            r.line,
            r.outcome.as_str(),
            r.key,
            r.message
        ));
    }
    if rows.len() > n {
        out.push_str(&format!("  ... and {} more rows\n", rows.len() - n));
    }
    out
}
