//! `push` from the files careers offices have: one cohort saved as a CSV,
//! a `;` CSV with European dates, a UTF-16 text file, a workbook written
//! by openpyxl and the tool's own template filled in by openpyxl makes the
//! same sends and the same report; a workbook's typed cells are sent as
//! their types; unreadable inputs stop before anything is sent.

use std::collections::BTreeMap;
use std::path::Path;

use huntr_sync::sandbox::RunningSandbox;
use serde_json::{json, Value};

use crate::common;
use crate::push::{invited, list, people, push, stderr, writes, People};

/// Fills or writes a workbook with openpyxl: `new OUT ROWS HEADERS` or
/// `fill TEMPLATE ROWS`, each row an object by column (template) name.
const OPENPYXL: &str = r#"
import datetime, json, sys
import openpyxl
mode, out, rows = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
names = ["email", "board_template", "advisor_email", "Location", "Age", "Graduation"]
if mode == "new":
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Cohort"
    sheet.append(json.loads(sys.argv[4]))
else:
    book = openpyxl.load_workbook(out)
    sheet = book.worksheets[0]
    names = [c.value for c in sheet[1]]
for r, row in enumerate(rows, start=2):
    for c, name in enumerate(names, start=1):
        value = row.get(name)
        if value in (None, ""):
            continue
        if name == "Graduation":
            value = datetime.date.fromisoformat(value)
        sheet.cell(row=r, column=c, value=value)
book.save(out)
"#;

/// Runs the openpyxl script; a clear failure when openpyxl is missing.
fn openpyxl(dir: &Path, args: &[&str]) {
    let check = std::process::Command::new("python3")
        .args(["-c", "import openpyxl"])
        .output()
        .expect("python3 is needed to write workbooks in this test");
    assert!(
        check.status.success(),
        "Python's openpyxl is missing (pip install openpyxl; .ci/run installs it): {}",
        String::from_utf8_lossy(&check.stderr)
    );
    std::fs::write(dir.join("openpyxl_rows.py"), OPENPYXL).unwrap();
    let out = std::process::Command::new("python3")
        .arg("openpyxl_rows.py")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    common::assert_ok(&out);
}

/// `push invitations --template FILE`.
async fn template(dir: &Path, sb: &RunningSandbox, file: &str) {
    let out = common::huntr_sync(dir)
        .args([
            "push",
            "invitations",
            "--template",
            file,
            "--base-url",
            &sb.base_url,
        ])
        .args(["--destination", "sqlite:org.db"])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// One person of the cohort: email, template, advisor, location, age and
/// graduation day (year, month, day).
struct Person {
    email: String,
    template: String,
    advisor: String,
    location: &'static str,
    age: String,
    day: Option<(u32, u32, u32)>,
}

/// 300 rows: 260 new people, 20 members, 10 invited already, 10 repeats.
fn cohort(p: &People) -> Vec<Person> {
    let locations = ["Vancouver", "Seattle", "Miami"];
    (0..300)
        .map(|i| {
            let email = match i {
                0..260 => format!("new{i}@example.org"),
                260..280 => p.members[i - 260].clone(),
                280..290 => p.pending[(i - 280) % p.pending.len()].clone(),
                _ => format!("new{}@example.org", i - 290),
            };
            let new = i < 260;
            Person {
                email,
                template: if new && i % 2 == 0 {
                    p.template.clone()
                } else {
                    String::new()
                },
                advisor: if new && i % 7 == 0 {
                    p.advisor.clone()
                } else {
                    String::new()
                },
                location: if new || i < 280 { locations[i % 3] } else { "" },
                age: if new {
                    (20 + i % 10).to_string()
                } else {
                    String::new()
                },
                day: new.then_some((2027, 1 + i as u32 % 12, 1 + i as u32 % 28)),
            }
        })
        .collect()
}

/// A text file's line: `sep`-separated, every cell quoted.
fn line(cells: &[&str], sep: &str) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    quoted.join(sep)
}

/// The cohort as text: `header`, `sep`, each day written by `day`.
fn text(rows: &[Person], header: &[&str], sep: &str, day: fn((u32, u32, u32)) -> String) -> String {
    let mut out = line(header, sep) + "\r\n";
    for r in rows {
        let d = r.day.map(day).unwrap_or_default();
        let cells = [&r.email, &r.template, &r.advisor, r.location, &r.age, &d];
        let cells: Vec<&str> = cells.iter().map(|c| c.as_ref()).collect();
        out += &(line(&cells, sep) + "\r\n");
    }
    out
}

/// The cohort as rows for openpyxl: ages as numbers, days as ISO text.
fn json_rows(rows: &[Person]) -> Value {
    let each: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "email": r.email, "board_template": r.template, "advisor_email": r.advisor,
                "Location": r.location, "Age": r.age.parse::<u32>().ok(),
                "Graduation": r.day.map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
            })
        })
        .collect();
    Value::Array(each)
}

/// Writes one of the five files; its name and the push's extra options.
async fn write_variant(
    n: usize,
    dir: &Path,
    sb: &RunningSandbox,
    rows: &[Person],
) -> (String, Vec<&'static str>) {
    let people = [
        "Email",
        "Board Template",
        "Advisor Email",
        "Location",
        "Age",
        "Graduation",
    ];
    match n {
        0 => {
            let t = text(rows, &people, ",", |(y, m, d)| {
                format!("{y:04}-{m:02}-{d:02}")
            });
            std::fs::write(dir.join("cohort.csv"), t).unwrap();
            ("cohort.csv".into(), vec![])
        }
        1 => {
            let header = [
                "E-mail",
                "board_template",
                "advisor_email",
                "location",
                "age",
                "graduation",
            ];
            let t = text(rows, &header, ";", |(y, m, d)| format!("{d:02}.{m:02}.{y}"));
            std::fs::write(dir.join("europe.csv"), format!("\u{feff}{t}")).unwrap();
            ("europe.csv".into(), vec!["--date-format", "%d.%m.%Y"])
        }
        2 => {
            let header = [
                "email",
                "Board-Template",
                "Advisor_Email",
                "LOCATION",
                "AGE",
                "Graduation",
            ];
            let t = text(rows, &header, "\t", |(y, m, d)| format!("{m}/{d}/{y}"));
            let mut bytes = vec![0xFF, 0xFE];
            bytes.extend(t.encode_utf16().flat_map(u16::to_le_bytes));
            std::fs::write(dir.join("unicode.txt"), bytes).unwrap();
            ("unicode.txt".into(), vec!["--date-format", "%m/%d/%Y"])
        }
        3 => {
            std::fs::write(dir.join("rows.json"), json_rows(rows).to_string()).unwrap();
            let header = serde_json::to_string(&people).unwrap();
            openpyxl(dir, &["new", "openpyxl.xlsx", "rows.json", &header]);
            ("openpyxl.xlsx".into(), vec![])
        }
        _ => {
            template(dir, sb, "template.xlsx").await;
            std::fs::write(dir.join("rows.json"), json_rows(rows).to_string()).unwrap();
            openpyxl(dir, &["fill", "template.xlsx", "rows.json"]);
            ("template.xlsx".into(), vec![])
        }
    }
}

/// What one push did: its summary, its report without the created ids
/// (given in the order answers arrive), what the sandbox holds.
#[derive(Debug, PartialEq)]
struct Seen {
    summary: Value,
    report: Vec<String>,
    invited: BTreeMap<String, u64>,
    invitations: BTreeMap<String, Value>,
}

async fn seen(dir: &Path, sb: &RunningSandbox, summary: Value) -> Seen {
    let report = std::fs::read_to_string(dir.join("report.csv")).unwrap();
    let report = report
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.splitn(5, ',').collect();
            if cells.len() == 5 && cells[2] == "sent" {
                assert!(!cells[3].is_empty(), "{l}");
                cells[3] = "<id>";
            }
            cells.join(",")
        })
        .collect();
    let mut invitations = BTreeMap::new();
    for mut inv in list(sb, "organization-invitations").await {
        let o = inv.as_object_mut().unwrap();
        o.remove("id");
        o.remove("createdAt");
        if let Some(Value::Array(values)) = o.get_mut("memberFieldValues") {
            values.sort_by_key(|v| v["fieldId"].to_string());
        }
        invitations.insert(o["toEmail"].as_str().unwrap().to_lowercase(), inv);
    }
    Seen {
        summary,
        report,
        invited: invited(sb).await,
        invitations,
    }
}

/// Pushes file `n` of the five into a sandbox of its own (all alike).
async fn variant(n: usize) -> (String, Seen) {
    let sb = common::sandbox(40, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = cohort(&people(&sb).await);
    let (file, extra) = write_variant(n, dir.path(), &sb, &rows).await;
    let mut args = vec!["--yes", "--json", "--report", "report.csv"];
    args.extend(extra);
    let out = push(dir.path(), &sb, "invitations", &file, &args).await;
    assert_eq!(out.status.code(), Some(0), "{file}: {}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["sent"], 260, "{file}: {summary}");
    let got = seen(dir.path(), &sb, summary).await;
    assert_eq!(got.invited.len(), 260, "{file}");
    assert!(
        got.invited.values().all(|&n| n == 1),
        "{file}: {:?}",
        got.invited
    );
    assert_eq!(got.report.len(), 301, "{file}");
    let graduated = &got.invitations["new0@example.org"]["memberFieldValues"];
    assert!(
        graduated.to_string().contains("1798761600"),
        "{file}: {graduated}"
    );
    (file, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cohort_in_five_files_makes_the_same_sends_and_reports() {
    // Side by side: each push mostly waits for its journal's commits.
    let mut all = futures_util::future::join_all((0..5).map(variant)).await;
    let (name, want) = all.remove(0);
    for (file, got) in all {
        assert_eq!(got, want, "{file} differs from {name}");
    }
}

/// A workbook: a first sheet of notes, then the cohort on `Fall cohort`,
/// its header on the sheet's row 2, a date cell, number cells, a formula
/// with its saved result, an empty row, and an invalid row (row 7).
fn typed_workbook(path: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
    let mut book = Workbook::new();
    let notes = book.add_worksheet().set_name("Notes").unwrap();
    notes.write_string(0, 0, "Read me first").unwrap();
    let sheet = book.add_worksheet().set_name("Fall cohort").unwrap();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let day = ExcelDateTime::from_ymd(2027, 5, 31).unwrap();
    for (col, name) in ["Email", "Location", "Age", "Graduation"]
        .iter()
        .enumerate()
    {
        sheet.write_string(1, col as u16, *name).unwrap();
    }
    sheet.write_string(2, 0, "typed@example.org").unwrap();
    sheet.write_string(2, 1, "Seattle").unwrap();
    sheet.write_number(2, 2, 23.5).unwrap();
    sheet.write_datetime_with_format(2, 3, &day, &date).unwrap();
    sheet.write_string(3, 0, "formula@example.org").unwrap();
    sheet.write_string(3, 1, "Miami").unwrap();
    sheet
        .write_formula(3, 2, Formula::new("=20+3").set_result("23"))
        .unwrap();
    sheet.write_number(3, 3, 1811721600).unwrap();
    sheet.write_string(6, 0, "bad@example.org").unwrap();
    sheet.write_string(6, 1, "Atlantis").unwrap();
    book.save(path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workbooks_typed_cells_are_sent_and_its_rows_named() {
    let sb = common::sandbox(10, 11).await;
    let dir = tempfile::tempdir().unwrap();
    typed_workbook(&dir.path().join("fall.xlsx"));
    let sheet = ["--sheet", "Fall cohort"];
    let out = push(
        dir.path(),
        &sb,
        "invitations",
        "fall.xlsx",
        &[&sheet[..], &["--yes"]].concat(),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("huntr-sync: row 7: column `Location` = `Atlantis`"),
        "{err}"
    );
    assert!(invited(&sb).await.is_empty(), "nothing may be sent");
    let args = [&sheet[..], &["--dry-run", "--skip-invalid"]].concat();
    let out = push(dir.path(), &sb, "invitations", "fall.xlsx", &args).await;
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("   row     3  planned  invitation:typed@example.org"),
        "{shown}"
    );
    let args = [&sheet[..], &["--yes", "--skip-invalid"]].concat();
    let out = push(dir.path(), &sb, "invitations", "fall.xlsx", &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fields = list(&sb, "member-fields").await;
    let name = |id: &Value| {
        let f = fields.iter().find(|f| &f["id"] == id).unwrap();
        f["name"].as_str().unwrap().to_owned()
    };
    let mut sent = BTreeMap::new();
    for inv in list(&sb, "organization-invitations").await {
        let values: BTreeMap<String, Value> = inv["memberFieldValues"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| (name(&v["fieldId"]), v["value"].clone()))
            .collect();
        sent.insert(inv["toEmail"].as_str().unwrap().to_owned(), values);
    }
    let want = |location: &str, age: Value| {
        BTreeMap::from([
            ("Location".to_owned(), json!(location)),
            ("Age".to_owned(), age),
            ("Graduation".to_owned(), json!(1811721600)),
        ])
    };
    assert_eq!(sent["typed@example.org"], want("Seattle", json!(23.5)));
    assert_eq!(sent["formula@example.org"], want("Miami", json!(23)));
    assert_eq!(invited(&sb).await.len(), 2);
}

/// Runs a push that must stop before sending: exit 2, one line on stderr
/// containing every piece of `says`.
async fn refused(dir: &Path, sb: &RunningSandbox, file: &str, says: &[&str]) {
    let out = push(dir, sb, "invitations", file, &["--yes"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{file}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{file}: one line: {err}");
    for piece in says {
        assert!(lines[0].contains(piece), "{file}: `{piece}` not in {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_inputs_stop_with_one_line_and_send_nothing() {
    let sb = common::sandbox(10, 12).await;
    let dir = tempfile::tempdir().unwrap();
    // A second field named like `Age` but for case.
    let url = format!("{}/member-fields", sb.base_url);
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(&sb.token)
        .json(&json!({"name": "AGE", "fieldType": "NUMBER"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let before = writes(&sb).await;
    std::fs::write(
        dir.path().join("ambiguous.csv"),
        "email,age\nann@example.org,3\n",
    )
    .unwrap();
    refused(
        dir.path(),
        &sb,
        "ambiguous.csv",
        &["`age` could be the member field `Age` or `AGE`"],
    )
    .await;
    std::fs::write(
        dir.path().join("cp1252.csv"),
        b"email,Location\nren\xe9e@example.org,Miami\n",
    )
    .unwrap();
    refused(
        dir.path(),
        &sb,
        "cp1252.csv",
        &["line 2 is not UTF-8", "CSV UTF-8"],
    )
    .await;
    typed_workbook(&dir.path().join("notes.xlsx"));
    refused(
        dir.path(),
        &sb,
        "notes.xlsx",
        &[
            "notes.xlsx (sheet Notes): the file has no `email` column",
            "`Read me first`",
        ],
    )
    .await;
    // A day in another order without --date-format: one line naming the
    // row's line, the value and the flag.
    std::fs::write(
        dir.path().join("day.csv"),
        "email,Graduation\nann@example.org,05/06/2027\n",
    )
    .unwrap();
    let out = push(dir.path(), &sb, "invitations", "day.csv", &["--yes"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    let first = err.lines().next().unwrap_or_default();
    for piece in [
        "line 2:",
        "`05/06/2027`",
        "--date-format",
        "nothing was sent",
    ] {
        assert!(first.contains(piece), "`{piece}` not in {err}");
    }
    assert_eq!(writes(&sb).await, before, "nothing may be sent");
}
