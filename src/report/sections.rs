//! The sections of the status page, each written into the page in turn:
//! the summary, the charts of the last runs, the errors in full, the runs
//! as a table, each resource's freshness, the pushes and rows per table. Every string from the data passes through [`escape`].

use std::fmt::Write;

use super::html::{ago, badge, count, escape, span, when};
use super::svg::{bars, Bar};
use super::{StatusData, MAX_RUNS};
use crate::store::RunRecord;

/// Runs listed in the runs table (the charts show up to [`MAX_RUNS`]).
const LISTED_RUNS: usize = 30;

/// The first line of an error, cut to `max` characters.
fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

/// What a run was, briefly: `sync of 21 resources`, `sync of jobs`,
/// `push invitations`; the full list goes in a tooltip.
fn what(r: &RunRecord) -> String {
    let short = if r.resources.starts_with("push ") || r.resources == "webhook" {
        r.resources.clone()
    } else if r.resources.contains(',') {
        format!("sync of {} resources", r.resources.split(',').count())
    } else {
        format!("sync of {}", r.resources)
    };
    format!(
        "<span title=\"{}\">{}</span>",
        escape(&r.resources),
        escape(&short)
    )
}

fn total_changed(r: &RunRecord) -> u64 {
    r.tables
        .values()
        .map(|c| c.inserted + c.updated + c.deleted + c.removed)
        .sum()
}

fn card(out: &mut String, name: &str, body: &str) {
    let _ = write!(out, "<div class=\"card\"><b>{name}</b>{body}</div>");
}

/// The last run, the last success, the tally of the runs shown, and the
/// webhook receiver's newest session.
pub fn summary(out: &mut String, data: &StatusData) {
    out.push_str("<section><h2>Summary</h2><div class=\"cards\">");
    let last = match data.runs.first() {
        Some(r) => {
            let took = r.seconds().map_or("not finished".to_owned(), span);
            let mut body = format!(
                "{} run {}, {}<br>started {}, took {took}",
                badge(&r.status),
                r.run_id,
                what(r),
                when(r.started)
            );
            if let Some(e) = &r.error {
                let _ = write!(
                    body,
                    "<br><span class=\"muted\">{}</span>",
                    escape(&first_line(e, 160))
                );
            }
            body
        }
        None => "No run recorded yet.".to_owned(),
    };
    card(out, "Last run", &last);
    let success = data.last_success.as_ref().map(|r| r.finished.or(r.started));
    let body = match success {
        Some(at) => format!("{}<br>{}", when(at), ago(at, data.now)),
        None => "No run has completed yet.".to_owned(),
    };
    card(out, "Last success", &body);
    let tally = |s: &str| data.runs.iter().filter(|r| r.status == s).count();
    let body = format!(
        "{} runs: {} complete, {} partial, {} failed",
        data.runs.len(),
        tally("complete"),
        tally("partial"),
        tally("failed")
    );
    card(out, "Runs shown", &body);
    if let Some(s) = &data.last_session {
        let body = match s.finished {
            Some(end) => format!("last session {} to {}", when(s.started), when(Some(end))),
            None => format!("receiving since {}", when(s.started)),
        };
        card(out, "Webhook receiver", &body);
    }
    out.push_str("</div></section>");
}

fn status_class(status: &str) -> &'static str {
    match status {
        "complete" => "b-complete",
        "partial" => "b-partial",
        "failed" => "b-failed",
        _ => "b-other",
    }
}

/// Duration; requests and throttled answers; rows changed by table.
pub fn charts(out: &mut String, data: &StatusData) {
    let _ = write!(out, "<section><h2>The last {} runs</h2>", data.runs.len());
    if data.runs.is_empty() {
        out.push_str(
            "<p>No run recorded yet: the charts appear after the first sync.</p></section>",
        );
        return;
    }
    let old: Vec<&RunRecord> = data.runs.iter().rev().collect();
    let slots = 20;
    duration_chart(out, &old, slots);
    requests_chart(out, &old, slots);
    changed_by_table(out, data, &old, slots);
    out.push_str("</section>");
}

/// Each run's duration, coloured by its status.
fn duration_chart(out: &mut String, old: &[&RunRecord], slots: usize) {
    let durations: Vec<Bar> = old
        .iter()
        .map(|r| Bar {
            value: r.seconds().unwrap_or(0) as f64,
            class: status_class(&r.status),
            tip: format!(
                "run {}: {} ({})",
                r.run_id,
                r.seconds().map_or("-".into(), span),
                r.status
            ),
        })
        .collect();
    let longest = old
        .iter()
        .filter_map(|r| Some((r.seconds()?, r.run_id)))
        .max();
    out.push_str("<figure>");
    out.push_str(&bars(
        "Duration of each run",
        "chart",
        200.0,
        slots,
        &[durations],
    ));
    let _ = write!(
        out,
        "<figcaption>Duration of each run, oldest on the left: \
         <span class=\"key k-ok\"></span>complete<span class=\"key k-warn\"></span>partial\
         <span class=\"key k-bad\"></span>failed. Longest: {}.</figcaption></figure>",
        longest.map_or("-".into(), |(s, id)| format!("{} (run {id})", span(s)))
    );
}

/// Each run's requests, and the throttled answers among them.
fn requests_chart(out: &mut String, old: &[&RunRecord], slots: usize) {
    let layer = |class, pick: fn(&RunRecord) -> Option<u64>, what: &str| -> Vec<Bar> {
        old.iter()
            .map(|r| Bar {
                value: pick(r).unwrap_or(0) as f64,
                class,
                tip: format!("run {}: {} {what}", r.run_id, count(pick(r))),
            })
            .collect()
    };
    let requests = layer("req", |r| r.requests, "requests");
    let throttled = layer("thr", |r| r.throttled, "throttled");
    let most = old
        .iter()
        .filter_map(|r| Some((r.requests?, r.run_id)))
        .max();
    let all_throttled: u64 = old.iter().filter_map(|r| r.throttled).sum();
    out.push_str("<figure>");
    out.push_str(&bars(
        "Requests and throttled answers",
        "chart",
        200.0,
        slots,
        &[requests, throttled],
    ));
    let _ = write!(
        out,
        "<figcaption><span class=\"key k-req\"></span>requests \
         <span class=\"key k-thr\"></span>throttled answers (HTTP 429). Most requests: {}; \
         throttled answers in these runs: {}.</figcaption></figure>",
        most.map_or("-".into(), |(n, id)| format!(
            "{} (run {id})",
            count(Some(n))
        )),
        count(Some(all_throttled))
    );
}

/// One small chart per table that any run shown changed.
fn changed_by_table(out: &mut String, data: &StatusData, old: &[&RunRecord], slots: usize) {
    out.push_str("<h3>Rows changed by table</h3>");
    let mut rows = String::new();
    for (table, _) in &data.tables {
        let sum: u64 = old.iter().map(|r| r.changed(table)).sum();
        if sum == 0 {
            continue;
        }
        let layer: Vec<Bar> = old
            .iter()
            .map(|r| Bar {
                value: r.changed(table) as f64,
                class: "chg",
                tip: format!(
                    "run {}: {} rows changed",
                    r.run_id,
                    count(Some(r.changed(table)))
                ),
            })
            .collect();
        let label = format!("Rows changed in {table}");
        let _ = write!(
            rows,
            "<div class=\"ch\"><span>{}</span><span class=\"n\">{}</span>{}</div>",
            escape(table),
            count(Some(sum)),
            bars(&label, "spark", 40.0, slots, &[layer])
        );
    }
    if rows.is_empty() {
        out.push_str("<p>No run shown changed any rows.</p>");
        return;
    }
    let _ = write!(
        out,
        "<p class=\"muted\">Rows inserted, updated, deleted and removed: in all the runs \
         shown, then per run, oldest on the left.</p><div class=\"changes\">{rows}</div>"
    );
}

/// The newest runs as a table.
pub fn runs(out: &mut String, data: &StatusData) {
    if data.runs.is_empty() {
        return;
    }
    let shown = data.runs.len().min(LISTED_RUNS);
    let _ = write!(
        out,
        "<section><h2>Recent runs</h2><p class=\"muted\">The {shown} newest of the {} charted \
         (at most {MAX_RUNS}).</p><div class=\"scroll\"><table><thead><tr><th>run</th>\
         <th>started</th><th class=\"n\">took</th><th>status</th><th class=\"wide\">what</th>\
         <th class=\"n\">requests</th><th class=\"n wide\">retries</th><th class=\"n\">throttled</th>\
         <th class=\"n\">rows changed</th><th>error</th></tr></thead><tbody>",
        data.runs.len()
    );
    for r in data.runs.iter().take(LISTED_RUNS) {
        let _ = write!(
            out,
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td>\
             <td class=\"wide\">{}</td><td class=\"n\">{}</td><td class=\"n wide\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            r.run_id,
            when(r.started),
            r.seconds().map_or("-".into(), span),
            badge(&r.status),
            what(r),
            count(r.requests),
            count(r.retries),
            count(r.throttled),
            count(Some(total_changed(r))),
            escape(&first_line(r.error.as_deref().unwrap_or_default(), 120))
        );
    }
    out.push_str("</tbody></table></div></section>");
}

/// Each resource's watermark and last complete listing, with their ages.
pub fn freshness(out: &mut String, data: &StatusData) {
    out.push_str("<section><h2>Freshness</h2>");
    if data.freshness.is_empty() {
        out.push_str("<p>No resource has been read yet.</p></section>");
        return;
    }
    out.push_str(
        "<p class=\"muted\">The watermark: every record created before it has been read. \
         A complete listing: the resource was read to its end, and rows no longer listed \
         were marked removed.</p><div class=\"scroll\"><table><thead><tr><th>resource</th>\
         <th>watermark</th><th class=\"n\">its age</th><th>last complete listing</th>\
         <th class=\"n\">its age</th></tr></thead><tbody>",
    );
    for f in &data.freshness {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(&f.resource),
            when(f.watermark),
            ago(f.watermark, data.now),
            when(f.listed_at),
            ago(f.listed_at, data.now)
        );
    }
    out.push_str("</tbody></table></div></section>");
}

/// Rows per table now.
pub fn tables(out: &mut String, data: &StatusData) {
    let total: i64 = data.tables.iter().map(|(_, n)| n).sum();
    let _ = write!(
        out,
        "<section><h2>Rows per table</h2><p class=\"muted\">{} rows in {} tables, including \
         rows marked deleted or removed.</p><div class=\"scroll\"><table><thead><tr>\
         <th>table</th><th class=\"n\">rows</th></tr></thead><tbody>",
        count(Some(total.max(0) as u64)),
        data.tables.len()
    );
    for (table, n) in &data.tables {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(table),
            count(Some((*n).max(0) as u64))
        );
    }
    out.push_str("</tbody></table></div></section>");
}

/// The full text of the newest errors.
pub fn errors(out: &mut String, data: &StatusData) {
    out.push_str("<section><h2>Recent errors</h2>");
    if data.errors.is_empty() {
        out.push_str("<p>No run recorded an error.</p>");
    }
    for r in &data.errors {
        let _ = write!(
            out,
            "<article><h3>Run {} {} {}</h3><p class=\"muted\">{}</p><pre>{}</pre></article>",
            r.run_id,
            badge(&r.status),
            when(r.started),
            what(r),
            escape(r.error.as_deref().unwrap_or_default())
        );
    }
    out.push_str("</section>");
}

/// The newest pushes: how their writes ended, and why writes failed.
pub fn pushes(out: &mut String, data: &StatusData) {
    out.push_str("<section><h2>Recent pushes</h2>");
    if data.pushes.is_empty() {
        out.push_str("<p>No push recorded.</p></section>");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>push</th><th>what</th><th>last write</th>\
         <th class=\"n\">sent</th><th class=\"n\">failed</th><th class=\"n\">in doubt</th></tr>\
         </thead><tbody>",
    );
    for p in &data.pushes {
        let _ = write!(
            out,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            p.run,
            escape(&p.kind),
            when(p.last),
            count(Some(p.sent)),
            count(Some(p.failed)),
            count(Some(p.in_doubt))
        );
    }
    out.push_str("</tbody></table></div>");
    for p in data.pushes.iter().filter(|p| !p.errors.is_empty()) {
        let _ = write!(
            out,
            "<h3>Push {} ({}): why writes failed</h3>",
            p.run,
            escape(&p.kind)
        );
        for (text, n) in &p.errors {
            let _ = write!(
                out,
                "<p>{} writes:</p><pre>{}</pre>",
                count(Some(*n)),
                escape(text)
            );
        }
    }
    out.push_str(
        "<p class=\"muted\">In doubt: sent without a usable answer; the next push \
                  looks for them before sending anything again.</p></section>",
    );
}
