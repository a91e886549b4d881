//! `push` against the sandbox: invalid rows stop everything; valid rows are
//! written exactly once through write faults (some applied, then the
//! answer lost) and SIGKILLs; field values send only what changed; fields
//! are created once. The sandbox counts every write it applied.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use huntr_sync::sandbox::{RunningSandbox, SandboxOptions};
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// `GET` of an API path (all pages), as the sandbox answers it.
pub(crate) async fn list(sb: &RunningSandbox, path: &str) -> Vec<Value> {
    let client = common::fast_client(&sb.base_url, &sb.token);
    let mut pager = huntr_sync::api::Pager::new(&client, path, Some(500), Vec::new()).unwrap();
    let mut all = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        all.extend(page.values());
    }
    all
}

pub(crate) fn control(sb: &RunningSandbox, what: &str) -> String {
    format!("{}/_sandbox/{what}", sb.base_url.trim_end_matches("/org"))
}

async fn set_write_faults(sb: &RunningSandbox, p: f64) {
    let url = control(sb, &format!("write_faults?p={p}"));
    let resp = reqwest::Client::new().post(url).send().await.unwrap();
    assert!(resp.status().is_success());
}

/// What the sandbox applied: `/_sandbox/writes`.
pub(crate) async fn writes(sb: &RunningSandbox) -> Value {
    reqwest::get(control(sb, "writes"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub(crate) async fn invited(sb: &RunningSandbox) -> BTreeMap<String, u64> {
    let w = writes(sb).await;
    w["invitations_by_email"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.to_lowercase(), v.as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `huntr-sync push <what> --from <file> <extra>` into `org.db`.
pub(crate) async fn push(
    dir: &Path,
    sb: &RunningSandbox,
    what: &str,
    file: &str,
    extra: &[&str],
) -> std::process::Output {
    common::huntr_sync(dir)
        .args(["push", what, "--from", file, "--base-url", &sb.base_url])
        .args(["--destination", "sqlite:org.db"])
        .args(extra)
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap()
}

fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
        .collect();
    quoted.join(",") + "\n"
}

/// The organization's people, as the invitation file needs them.
pub(crate) struct People {
    pub members: Vec<String>,
    pub pending: Vec<String>,
    pub template: String,
    pub advisor: String,
}

pub(crate) async fn people(sb: &RunningSandbox) -> People {
    let email = |v: &Value, k: &str| v[k].as_str().unwrap().to_lowercase();
    People {
        members: list(sb, "members")
            .await
            .iter()
            .map(|m| email(m, "email"))
            .collect(),
        pending: list(sb, "organization-invitations")
            .await
            .iter()
            .map(|i| email(i, "toEmail"))
            .collect(),
        template: list(sb, "board-templates").await[0]["name"]
            .as_str()
            .unwrap()
            .to_owned(),
        advisor: email(&list(sb, "advisors").await[0], "email"),
    }
}

/// A 300-row invitation file: 240 new emails, 20 members, 10 pending
/// invitees, 10 repeats, 20 invalid rows. Returns the file and the new
/// emails.
fn invitation_file(dir: &Path, p: &People) -> (String, BTreeSet<String>) {
    let header = [
        "email",
        "board_template",
        "advisor_email",
        "Location",
        "Age",
        "Graduation",
    ];
    let mut text = csv_line(&header.map(String::from));
    let mut new = BTreeSet::new();
    let locations = ["Vancouver", "Seattle", "Miami"];
    for i in 0..300 {
        let (email, location, age, graduation, template) = match i {
            0..240 => {
                let e = format!("new{i}@example.org");
                new.insert(e.clone());
                (e, locations[i % 3], "23", "2026-06-01", p.template.as_str())
            }
            240..260 => (p.members[i - 240].clone(), "Seattle", "", "", ""),
            260..270 => (
                p.pending[(i - 260) % p.pending.len()].clone(),
                "",
                "",
                "",
                "",
            ),
            270..280 => (format!("new{}@example.org", i - 270), "", "", "", ""),
            _ => match i % 5 {
                0 => ("not-an-email".to_owned(), "", "", "", ""),
                1 => (format!("bad{i}@example.org"), "Atlantis", "", "", ""),
                2 => (format!("bad{i}@example.org"), "", "twelve", "", ""),
                3 => (format!("bad{i}@example.org"), "", "", "June 1st", ""),
                _ => (
                    format!("bad{i}@example.org"),
                    "",
                    "",
                    "",
                    "No Such Template",
                ),
            },
        };
        let advisor = if i % 7 == 0 {
            p.advisor.clone()
        } else {
            String::new()
        };
        let cells = [
            email,
            template.into(),
            advisor,
            location.into(),
            age.into(),
            graduation.into(),
        ];
        text.push_str(&csv_line(&cells));
    }
    std::fs::write(dir.join("invite.csv"), text).unwrap();
    ("invite.csv".into(), new)
}

pub(crate) fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_are_sent_exactly_once_through_faults() {
    let sb = common::sandbox(40, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let p = people(&sb).await;
    let (file, new) = invitation_file(dir.path(), &p);
    // Invalid rows: nothing is sent, and each is named by its line.
    let out = push(dir.path(), &sb, "invitations", &file, &["--yes"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    for line in [282, 283, 284, 285, 286] {
        assert!(err.contains(&format!("line {line}:")), "{err}");
    }
    assert!(err.contains("Atlantis") && err.contains("twelve"), "{err}");
    assert!(invited(&sb).await.is_empty(), "nothing may be sent");
    // Valid rows, through write faults.
    set_write_faults(&sb, 0.15).await;
    let args = [
        "--yes",
        "--skip-invalid",
        "--report",
        "report.csv",
        "--json",
    ];
    let out = push(dir.path(), &sb, "invitations", &file, &args).await;
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    let faults = writes(&sb).await["write_faults"].clone();
    eprintln!("write faults met: {faults}");
    let applied = faults["applied_then_dropped"].as_u64().unwrap()
        + faults["applied_then_500"].as_u64().unwrap();
    assert!(applied > 0, "no write was applied and then lost: {faults}");
    set_write_faults(&sb, 0.0).await;
    // A rerun finishes whatever failed and sends nothing twice.
    let out = push(
        dir.path(),
        &sb,
        "invitations",
        &file,
        &["--yes", "--skip-invalid", "--json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let counts = invited(&sb).await;
    let sent: BTreeSet<String> = counts.keys().cloned().collect();
    assert_eq!(sent, new, "exactly the new emails were invited");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    // Once more: nothing at all is sent.
    let out = push(
        dir.path(),
        &sb,
        "invitations",
        &file,
        &["--yes", "--skip-invalid", "--json"],
    )
    .await;
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["sent"], 0, "{summary}");
    let pending = summary["skipped"]["already_invited"].as_u64().unwrap_or(0);
    assert!(pending >= 240 + 10, "{summary}");
    assert_eq!(summary["skipped"]["already_member"], 20, "{summary}");
    assert_eq!(invited(&sb).await, counts);
    // The report: one line per row; the destination without a sync.
    let report = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
    assert_eq!(report.lines().count(), 301);
    assert!(report.starts_with("line,key,outcome,id,message"));
    let db = dir.path().join("org.db");
    let stored = common::count(
        &db,
        "SELECT COUNT(*) FROM organization_invitations WHERE to_email LIKE 'new%@example.org' AND removed_at IS NULL",
    );
    assert_eq!(stored, 240);
    let journal = common::count(
        &db,
        "SELECT COUNT(DISTINCT key) FROM push_log WHERE kind = 'invitations'",
    );
    assert_eq!(journal, 240);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_killed_at_random_points_never_send_twice() {
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 20,
        seed: 8,
        latency: Duration::from_millis(4),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("email\n");
    for i in 0..150 {
        text.push_str(&format!("kill{i}@example.org\n"));
    }
    std::fs::write(dir.path().join("k.csv"), text).unwrap();
    set_write_faults(&sb, 0.1).await;
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut killed = 0;
    for _ in 0..8 {
        let mut child = common::huntr_sync(dir.path())
            .args([
                "push",
                "invitations",
                "--from",
                "k.csv",
                "--yes",
                "--base-url",
                &sb.base_url,
            ])
            .args(["--destination", "sqlite:org.db"])
            .env("HUNTR_ORG_TOKEN", &sb.token)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(rng.random_range(100..1500));
        tokio::select! {
            _ = tokio::time::sleep(delay) => {
                child.start_kill().unwrap();
                child.wait().await.unwrap();
                killed += 1;
            }
            status = child.wait() => { status.unwrap(); }
        }
        let counts = invited(&sb).await;
        assert!(counts.values().all(|&n| n == 1), "sent twice: {counts:?}");
    }
    set_write_faults(&sb, 0.0).await;
    let out = push(dir.path(), &sb, "invitations", "k.csv", &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let counts = invited(&sb).await;
    assert_eq!(counts.len(), 150);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    eprintln!("{killed} pushes killed");
    assert!(killed >= 3, "only {killed} pushes were killed");
}

/// A member's current values by field name, as the cells of a file.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_values_send_only_what_changed() {
    let sb = common::sandbox(40, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let fields = list(&sb, "member-fields").await;
    let id_of = |name: &str| {
        let f = fields.iter().find(|f| f["name"] == name).unwrap();
        f["id"].as_str().unwrap().to_owned()
    };
    let (loc, age) = (id_of("Location"), id_of("Age"));
    let members = list(&sb, "members").await;
    let mut text = String::from("email,Location,Age\n");
    let mut changed = 0;
    let mut want: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (i, m) in members.iter().take(30).enumerate() {
        let current = |fid: &str| {
            m["memberFieldValues"]
                .as_array()
                .and_then(|a| a.iter().find(|v| v["fieldId"] == fid))
                .map(|v| cell(&v["value"]))
        };
        let (cur_loc, cur_age) = (current(&loc), current(&age));
        let (new_loc, new_age) = if i % 2 == 0 {
            (
                cur_loc.clone().unwrap_or_default(),
                cur_age.clone().unwrap_or_default(),
            )
        } else {
            let l = if cur_loc.as_deref() == Some("Miami") {
                "Seattle"
            } else {
                "Miami"
            };
            let a = cur_age
                .as_deref()
                .and_then(|a| a.parse::<i64>().ok())
                .unwrap_or(20)
                + 1;
            (l.to_owned(), a.to_string())
        };
        changed += usize::from(!new_loc.is_empty() && Some(&new_loc) != cur_loc.as_ref());
        changed += usize::from(!new_age.is_empty() && Some(&new_age) != cur_age.as_ref());
        let email = m["email"].as_str().unwrap().to_owned();
        text.push_str(&csv_line(&[
            email.clone(),
            new_loc.clone(),
            new_age.clone(),
        ]));
        want.insert(m["id"].as_str().unwrap().to_owned(), (new_loc, new_age));
    }
    std::fs::write(dir.path().join("v.csv"), text).unwrap();
    let out = push(dir.path(), &sb, "field-values", "v.csv", &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(changed >= 15, "the file changes too little: {changed}");
    assert_eq!(writes(&sb).await["field_value_puts"], changed as u64);
    // The API holds the file's values; so does the destination, unsynced.
    let db = dir.path().join("org.db");
    for m in list(&sb, "members").await {
        let Some((l, a)) = want.get(m["id"].as_str().unwrap()) else {
            continue;
        };
        let vals = m["memberFieldValues"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let get = |fid: &str| {
            vals.iter()
                .find(|v| v["fieldId"] == fid)
                .map(|v| cell(&v["value"]))
        };
        if !l.is_empty() {
            assert_eq!(get(&loc).as_deref(), Some(l.as_str()));
            let sql = format!(
                "SELECT COUNT(*) FROM member_field_values WHERE member_id = '{}' AND field_id = '{loc}' AND value = '{l}'",
                m["id"].as_str().unwrap()
            );
            assert_eq!(common::count(&db, &sql), 1, "{sql}");
        }
        if !a.is_empty() {
            assert_eq!(get(&age).as_deref(), Some(a.as_str()));
        }
    }
    // Again: nothing differs, nothing is sent.
    let out = push(dir.path(), &sb, "field-values", "v.csv", &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(writes(&sb).await["field_value_puts"], changed as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_are_created_once_and_conflicts_reported() {
    let sb = common::sandbox(10, 7).await;
    let dir = tempfile::tempdir().unwrap();
    let text = "name,field_type,choices\n\
                Cohort,MULTIPLE_CHOICE,Fall;Spring\n\
                Nickname,TEXT,\n\
                Age,NUMBER,\n\
                Location,TEXT,\n\
                Cohort,MULTIPLE_CHOICE,Fall;Spring\n";
    std::fs::write(dir.path().join("f.csv"), text).unwrap();
    // Without a terminal and without --yes: refused, nothing sent.
    let out = push(dir.path(), &sb, "fields", "f.csv", &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    // A dry run shows the plan and sends nothing.
    let out = push(dir.path(), &sb, "fields", "f.csv", &["--dry-run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Cohort"));
    assert_eq!(writes(&sb).await["fields_by_name"], serde_json::json!({}));
    set_write_faults(&sb, 0.3).await;
    let out = push(
        dir.path(),
        &sb,
        "fields",
        "f.csv",
        &["--yes", "--report", "r.csv"],
    )
    .await;
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    set_write_faults(&sb, 0.0).await;
    let out = push(dir.path(), &sb, "fields", "f.csv", &["--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let w = writes(&sb).await;
    assert_eq!(
        w["fields_by_name"],
        serde_json::json!({"Cohort": 1, "Nickname": 1})
    );
    let report = std::fs::read_to_string(dir.path().join("r.csv")).unwrap();
    let location = report.lines().find(|l| l.starts_with("5,")).unwrap();
    assert!(
        location.contains("skipped") && location.contains("MULTIPLE_CHOICE"),
        "{location}"
    );
    let db = dir.path().join("org.db");
    let sql = "SELECT COUNT(*) FROM member_fields WHERE name IN ('Cohort', 'Nickname') AND removed_at IS NULL";
    assert_eq!(common::count(&db, sql), 2);
}

/// Runs a push on a terminal (`script` gives it one), answering `answer`.
async fn push_on_a_terminal(
    dir: &Path,
    sb: &RunningSandbox,
    answer: &str,
) -> (Option<i32>, String) {
    use tokio::io::AsyncWriteExt;
    let cmd = format!(
        "{} push invitations --from t.csv --base-url {} --destination sqlite:org.db",
        env!("CARGO_BIN_EXE_huntr-sync"),
        sb.base_url
    );
    let mut child = tokio::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(dir)
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(answer.as_bytes()).await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_the_plan_is_shown_and_confirmation_asked() {
    let sb = common::sandbox(10, 9).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "email\ntty@example.org\n").unwrap();
    let (code, shown) = push_on_a_terminal(dir.path(), &sb, "n\n").await;
    assert_eq!(code, Some(2), "{shown}");
    assert!(
        shown.contains("invite tty@example.org") && shown.contains("[y/N]"),
        "{shown}"
    );
    assert!(invited(&sb).await.is_empty());
    let (code, shown) = push_on_a_terminal(dir.path(), &sb, "y\n").await;
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(invited(&sb).await.get("tty@example.org"), Some(&1));
}
