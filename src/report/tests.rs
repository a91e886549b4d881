//! The status page's renderer against real state databases: escaping,
//! an empty history, the cap on runs, and a page that asks for nothing.

use super::*;
use crate::store::{RunEnd, RunStatus, Store};

fn end(finished: i64, status: RunStatus, error: Option<&str>) -> RunEnd {
    RunEnd {
        finished,
        window_end: None,
        status,
        requests: 12,
        retries: 1,
        throttled: 2,
        error: error.map(str::to_owned),
    }
}

/// A state database with `runs` runs, the last one failed with `error`.
fn state(dir: &std::path::Path, runs: usize, error: &str) -> std::path::PathBuf {
    let db = dir.join("s.db");
    let mut store = Store::open(&db).unwrap();
    for i in 0..runs {
        let at = 1_000_000 + i as i64 * 86_400;
        let id = store.begin_run(at, "jobs,members").unwrap();
        let last = i + 1 == runs;
        let status = if last {
            RunStatus::Failed
        } else {
            RunStatus::Complete
        };
        let error = last.then_some(error);
        store.finish_run(id, &end(at + 30, status, error)).unwrap();
    }
    db
}

fn rendered(db: &std::path::Path) -> (StatusData, String) {
    let store = Store::open_read(db).unwrap();
    let data = gather(&store, "demo <pipeline>", 1_000_000 + 200 * 86_400).unwrap();
    let html = render(&data);
    (data, html)
}

#[test]
fn text_from_the_data_is_escaped_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let error = "HTTP 401: <script>alert('x')</script> & \"quoted\"\nsecond line <img src=x>";
    let (_, html) = rendered(&state(dir.path(), 3, error));
    assert!(!html.contains("<script"), "no script element");
    assert!(!html.contains("<img"), "no image element");
    assert!(!html.contains("<pipeline>"));
    // The whole error, second line included, as text.
    assert!(html.contains(
        "HTTP 401: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;\n\
         second line &lt;img src=x&gt;</pre>"
    ));
    assert!(html.contains("demo &lt;pipeline&gt;"));
}

#[test]
fn an_empty_history_renders_a_page_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(Store::open(&db).unwrap());
    let (data, html) = rendered(&db);
    assert!(data.runs.is_empty() && data.errors.is_empty() && data.pushes.is_empty());
    assert!(html.contains("No run recorded yet"), "{html}");
    assert!(html.contains("No run has completed yet."));
    assert!(html.contains("No resource has been read yet."));
    assert!(html.contains("No run recorded an error."));
    assert!(html.contains("No push recorded."));
    // Every table is listed, with no rows.
    for t in &crate::schema::SCHEMA.tables {
        assert!(html.contains(&format!(
            "<tr><td>{}</td><td class=\"n\">0</td></tr>",
            t.name
        )));
    }
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn the_charts_show_the_newest_ninety_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (data, html) = rendered(&state(dir.path(), MAX_RUNS + 10, "boom"));
    assert_eq!(data.runs.len(), MAX_RUNS);
    assert_eq!(data.runs[0].run_id, MAX_RUNS as i64 + 10, "newest first");
    assert_eq!(data.runs[MAX_RUNS - 1].run_id, 11);
    assert!(html.contains("<h2>The last 90 runs</h2>"));
    // Duration: one bar per run; requests and throttled: two per run.
    let duration = html
        .split("aria-label=\"Duration of each run\"")
        .nth(1)
        .unwrap();
    let duration = duration.split("</svg>").next().unwrap();
    assert_eq!(duration.matches("<rect").count(), MAX_RUNS);
    let requests = html
        .split("aria-label=\"Requests and throttled answers\"")
        .nth(1)
        .unwrap();
    let requests = requests.split("</svg>").next().unwrap();
    assert_eq!(requests.matches("<rect").count(), 2 * MAX_RUNS);
    assert!(!html.contains("run 10:"), "older runs are left out");
    assert!(html.contains("run 11: 30 s (complete)"));
    assert!(html.contains("<span class=\"badge s-failed\">failed</span>"));
}

#[test]
fn the_page_asks_for_nothing_and_fits_phones_and_paper() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = rendered(&state(dir.path(), 2, "x"));
    assert!(html.contains(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    )));
    assert_eq!(
        CSP,
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    );
    assert!(html.contains("name=\"viewport\" content=\"width=device-width, initial-scale=1\""));
    assert!(html.contains("@media print") && html.contains("@media (max-width:40rem)"));
    // The only reference is the empty icon, a data: URL.
    assert_eq!(html.matches("href=").count(), 1);
    assert!(html.contains("href=\"data:,\""));
    for banned in [
        "src=",
        "url(",
        "@import",
        "http://",
        "https://",
        "<script",
        "<link rel=\"stylesheet",
    ] {
        assert!(!html.contains(banned), "{banned}");
    }
}

#[test]
fn times_spans_and_counts_read_as_people_write_them() {
    use super::html::{ago, count, span, when};
    assert_eq!(when(Some(1_588_634_675)), "2020-05-04 23:24:35");
    assert_eq!(when(None), "never");
    assert_eq!(span(45), "45 s");
    assert_eq!(span(185), "3 min 5 s");
    assert_eq!(span(7_800), "2 h 10 min");
    assert_eq!(span(3 * 86_400 + 4 * 3600), "3 d 4 h");
    assert_eq!(ago(Some(100), 160), "1 min 0 s ago");
    assert_eq!(count(Some(1_234_567)), "1,234,567");
    assert_eq!(count(Some(999)), "999");
    assert_eq!(count(None), "-");
}
