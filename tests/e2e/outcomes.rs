//! The outcome views in SQLite equal what `outcomes_truth` computes from
//! the sandbox's model, after a full sync and after simulated days, and
//! `members_wide` follows member fields added, renamed and removed.

use std::path::Path;

use crate::common;
use crate::outcomes_truth::{column_names, Oracle, ViewRows};

use huntr_sync::outcomes::Clock;
use huntr_sync::store::Store;
use huntr_sync::sync::{sync_sqlite, SyncOptions};
use rusqlite::types::Value as V;
use serde_json::json;

/// Each view's key columns and the columns compared, in the oracle's order.
pub const COLUMNS: [(&str, &[&str], &[&str]); 6] = [
    (
        "job_pipeline",
        &["job_id"],
        &[
            "member_id",
            "employer_id",
            "title",
            "list_name",
            "created_at",
            "applied_at",
            "first_interview_at",
            "interviews",
            "offer_at",
            "accepted_at",
            "days_to_apply",
            "days_to_interview",
            "days_to_offer",
        ],
    ),
    (
        "member_outcomes",
        &["member_id"],
        &[
            "jobs",
            "applications",
            "interviewing_jobs",
            "interviews",
            "offers",
            "accepted_offers",
            "first_applied_at",
            "first_offer_at",
            "first_accepted_at",
            "days_to_first_offer",
            "last_activity_at",
            "stage",
        ],
    ),
    (
        "outcomes_by_month",
        &["month"],
        &[
            "active_members",
            "applications",
            "interviews",
            "offers",
            "acceptances",
            "new_members",
        ],
    ),
    (
        "outcomes_by_field",
        &["field_id", "choice"],
        &[
            "field_name",
            "members",
            "applied",
            "interviewed",
            "offered",
            "placed",
            "placement_rate",
        ],
    ),
    (
        "employer_outcomes",
        &["employer_id"],
        &[
            "employer_name",
            "members",
            "applications",
            "interviews",
            "offers",
            "acceptances",
        ],
    ),
    (
        "advisor_caseload",
        &["advisor_id"],
        &[
            "advisor_name",
            "advisor_email",
            "members",
            "active_members_30d",
            "applications_30d",
            "offers_30d",
            "placed_members",
        ],
    ),
];

/// A SQLite cell as the oracle spells it (`_at` columns hold ISO text).
fn cell(col: &str, v: V) -> Option<String> {
    match v {
        V::Null => None,
        V::Integer(i) => Some(i.to_string()),
        V::Real(f) => Some(format!("{f:.6}")),
        V::Text(s) if col.ends_with("_at") => {
            Some(huntr_sync::timefmt::parse_iso(&s).expect("ISO").to_string())
        }
        V::Text(s) => Some(s),
        V::Blob(_) => Some("<blob>".into()),
    }
}

/// A view's rows from a SQLite file.
pub fn sqlite_rows(db: &Path, view: &str, keys: &[&str], cols: &[&str]) -> ViewRows {
    let conn = rusqlite::Connection::open(db).unwrap();
    let all: Vec<String> = keys
        .iter()
        .chain(cols)
        .map(|c| format!("\"{c}\""))
        .collect();
    let sql = format!("SELECT {} FROM {view}", all.join(", "));
    let mut stmt = conn.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = stmt
        .query_map([], |r| {
            let mut vals = Vec::new();
            for (i, c) in keys.iter().chain(cols).enumerate() {
                vals.push(cell(c, r.get(i)?));
            }
            Ok(vals)
        })
        .unwrap();
    let mut out = ViewRows::new();
    for row in rows {
        let mut row = row.unwrap();
        let rest = row.split_off(keys.len());
        let key: Vec<String> = row.into_iter().map(Option::unwrap_or_default).collect();
        assert!(
            out.insert(key.join("|"), rest).is_none(),
            "{view}: a key twice"
        );
    }
    out
}

/// What differs between two views' rows (at most a few lines).
pub fn differences(view: &str, got: &ViewRows, want: &ViewRows) -> Vec<String> {
    let mut out = Vec::new();
    for (k, w) in want {
        match got.get(k) {
            None => out.push(format!("{view}: missing {k}")),
            Some(g) if g != w => out.push(format!("{view} {k}: got {g:?}, want {w:?}")),
            _ => {}
        }
    }
    out.extend(
        got.keys()
            .filter(|k| !want.contains_key(*k))
            .map(|k| format!("{view}: unexpected {k}")),
    );
    if out.len() > 6 {
        let n = out.len();
        out.truncate(6);
        out.push(format!("{view}: {n} differences in all"));
    }
    out
}

/// The oracle's rows of `view`; the 30-day columns end at `now`.
pub fn expected(o: &Oracle<'_>, view: &str, now: i64) -> ViewRows {
    match view {
        "job_pipeline" => o.job_pipeline(),
        "member_outcomes" => o.member_outcomes(),
        "outcomes_by_month" => o.outcomes_by_month(),
        "outcomes_by_field" => o.outcomes_by_field(),
        "employer_outcomes" => o.employer_outcomes(),
        "advisor_caseload" => o.advisor_caseload(now),
        other => panic!("{other}"),
    }
}

/// The `members_wide` columns compared: advisor, then every field's.
pub fn wide_columns(org: &huntr_sync::sandbox::org::Org) -> Vec<String> {
    let mut cols = vec!["advisor_name".to_owned(), "advisor_email".to_owned()];
    cols.extend(column_names(org).into_iter().map(|(_, c)| c));
    cols
}

/// Every view of `db` equals the oracle; the views' own clock is the
/// wall clock, then (recreated with the sandbox's clock) the 30-day
/// columns are checked on the simulated days.
fn assert_views_equal_the_model(db: &Path, sb: &huntr_sync::sandbox::RunningSandbox) {
    let org = sb.shared.org.read().unwrap();
    let oracle = Oracle::new(&org);
    let mut problems = Vec::new();
    let wall = huntr_sync::timefmt::now_unix();
    for (view, keys, cols) in COLUMNS {
        let got = sqlite_rows(db, view, keys, cols);
        assert!(!got.is_empty(), "{view} is empty");
        problems.extend(differences(view, &got, &expected(&oracle, view, wall)));
    }
    for stage in ["placed", "offer", "interviewing"] {
        let sql = format!("SELECT count(*) FROM member_outcomes WHERE stage = '{stage}'");
        assert!(common::count(db, &sql) > 0, "no member at {stage}");
    }
    let cols = wide_columns(&org);
    let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
    let wide = sqlite_rows(db, "members_wide", &["id"], &cols);
    problems.extend(differences("members_wide", &wide, &oracle.members_wide()));
    let store = Store::open(db).unwrap();
    store.refresh_views(Clock::At(org.now)).unwrap();
    let (_, keys, cols) = COLUMNS[5];
    let got = sqlite_rows(db, "advisor_caseload", keys, cols);
    let want = oracle.advisor_caseload(org.now);
    assert!(
        want.values().any(|r| r[3].as_deref() != Some("0")),
        "some members were active in the sandbox's last 30 days"
    );
    problems.extend(differences("advisor_caseload (sandbox clock)", &got, &want));
    store.refresh_views(Clock::Now).unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The SQL block after `marker` in the README.
fn readme_query(marker: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = &readme[readme.find(marker).expect("README marker")..];
    let start = after.find("```sql\n").unwrap() + "```sql\n".len();
    let end = start + after[start..].find("```").unwrap();
    after[start..end].to_owned()
}

/// The README's "Outcomes" examples answer on `db`; returns their row counts.
fn readme_examples(db: &Path) -> Vec<usize> {
    let conn = rusqlite::Connection::open(db).unwrap();
    [
        "<!-- outcomes-by-program -->",
        "<!-- outcomes-by-stage -->",
        "<!-- outcomes-employers -->",
    ]
    .iter()
    .map(|m| {
        let sql = readme_query(m);
        let mut stmt = conn.prepare(&sql).unwrap_or_else(|e| panic!("{m}: {e}"));
        let n = stmt.query_map([], |_| Ok(())).unwrap().count();
        n
    })
    .collect()
}

fn opts() -> SyncOptions {
    SyncOptions {
        limit: 60,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_views_equal_the_sandbox_after_a_full_sync_and_after_days() {
    let sb = common::sandbox(30, 311).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let report = sync_sqlite(&client, &db, &opts()).await.unwrap();
    assert!(report.complete(), "{:?}", report.incomplete);
    assert_views_equal_the_model(&db, &sb);
    let answered = readme_examples(&db);
    assert!(answered[0] >= 3 && answered[1] >= 3, "{answered:?}");
    for _ in 0..2 {
        sb.advance_days(3);
        let report = sync_sqlite(&client, &db, &opts()).await.unwrap();
        assert!(report.complete(), "{:?}", report.incomplete);
        common::assert_matches_truth(&db, &sb.truth());
        assert_views_equal_the_model(&db, &sb);
    }
}

/// Adds a member field to the sandbox and gives a few members a value.
fn add_field(sb: &huntr_sync::sandbox::RunningSandbox, name: &str, ty: &'static str, n: u64) {
    use huntr_sync::sandbox::org::{MemberField, Oid};
    let mut org = sb.shared.org.write().unwrap();
    let id = Oid(org.now as u32, 7_000 + n);
    org.fields.push(MemberField {
        id,
        name: name.into(),
        field_type: ty,
        choices: vec![],
    });
    let f = (org.fields.len() - 1) as u32;
    let members: Vec<u32> = org.members_ix.values().copied().take(5).collect();
    for (i, m) in members.into_iter().enumerate() {
        let value = match ty {
            "DATE" => json!(1_780_272_000 + i as i64 * 86_400),
            _ => json!(format!("{name} {i}")),
        };
        org.people[m as usize].fields.push((f, value));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_wide_follows_fields_added_renamed_and_removed() {
    let sb = common::sandbox(12, 312).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &opts()).await.unwrap();
    let columns = |db: &Path| -> Vec<String> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('members_wide')")
            .unwrap();
        let names = stmt.query_map([], |r| r.get(0)).unwrap();
        names.map(Result::unwrap).collect()
    };
    let before = columns(&db);
    // Two fields whose names differ only in case and punctuation.
    add_field(&sb, "Grad Year", "DATE", 1);
    add_field(&sb, "grad-year", "TEXT", 2);
    sync_sqlite(&client, &db, &opts()).await.unwrap();
    let added = columns(&db);
    let second = sb
        .shared
        .org
        .read()
        .unwrap()
        .fields
        .last()
        .unwrap()
        .id
        .hex();
    assert!(!before.contains(&"grad_year".to_string()));
    assert!(added.contains(&"grad_year".to_string()), "{added:?}");
    assert!(added.contains(&format!("grad_year_{second}")), "{added:?}");
    assert_views_equal_the_model(&db, &sb);
    // Renamed.
    sb.shared
        .org
        .write()
        .unwrap()
        .fields
        .last_mut()
        .unwrap()
        .name = "Campus (2026)".into();
    sync_sqlite(&client, &db, &opts()).await.unwrap();
    let renamed = columns(&db);
    assert!(renamed.contains(&"campus_2026".to_string()), "{renamed:?}");
    assert!(
        !renamed.iter().any(|c| c.starts_with("grad_year_")),
        "{renamed:?}"
    );
    assert_views_equal_the_model(&db, &sb);
    // Removed: the field and its values are gone from Huntr.
    {
        let mut org = sb.shared.org.write().unwrap();
        let gone = (org.fields.len() - 1) as u32;
        org.fields.pop();
        for p in org.people.iter_mut() {
            p.fields.retain(|(f, _)| *f != gone);
        }
    }
    sync_sqlite(&client, &db, &opts()).await.unwrap();
    let removed = columns(&db);
    assert!(!removed.contains(&"campus_2026".to_string()), "{removed:?}");
    assert!(removed.contains(&"grad_year".to_string()), "{removed:?}");
    assert_views_equal_the_model(&db, &sb);
}
