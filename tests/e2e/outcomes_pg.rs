//! The outcome views in PostgreSQL equal what `outcomes_truth` computes
//! from the sandbox's model, after a full sync and after simulated days;
//! `members_wide` gains and loses field columns; a user's view over it
//! keeps it as it was (with a warning) instead of failing the run.

use crate::common;
use crate::outcomes::{differences, expected, wide_columns, COLUMNS};
use crate::outcomes_truth::{Oracle, ViewRows};
use crate::pg_server::{server, TestDb};
use crate::postgres::target;

use huntr_sync::sync::{sync, SyncOptions};
use tokio_postgres::types::Type;

/// A view's rows from PostgreSQL, spelled as the oracle spells them.
async fn pg_rows(db: &TestDb, view: &str, keys: &[&str], cols: &[&str]) -> ViewRows {
    let client = db.client().await;
    let all: Vec<&str> = keys.iter().chain(cols).copied().collect();
    let probe = format!(
        "SELECT {} FROM huntr.\"{view}\"",
        all.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let stmt = client.prepare(&probe).await.unwrap();
    let exprs: Vec<String> = stmt
        .columns()
        .iter()
        .map(|c| {
            let q = format!("\"{}\"", c.name());
            match *c.type_() {
                Type::TIMESTAMPTZ => format!("CAST(EXTRACT(EPOCH FROM {q}) AS bigint)::text"),
                Type::BOOL => format!("{q}::int::text"),
                Type::FLOAT8 => format!("to_char({q}, 'FM999999990.000000')"),
                _ => format!("{q}::text"),
            }
        })
        .collect();
    let sql = format!("SELECT {} FROM huntr.\"{view}\"", exprs.join(", "));
    let mut out = ViewRows::new();
    for row in client.query(&sql, &[]).await.unwrap() {
        let mut vals: Vec<Option<String>> = (0..all.len()).map(|i| row.get(i)).collect();
        let rest = vals.split_off(keys.len());
        let key: Vec<String> = vals.into_iter().map(Option::unwrap_or_default).collect();
        out.insert(key.join("|"), rest);
    }
    out
}

async fn assert_pg_views_equal_the_model(db: &TestDb, sb: &huntr_sync::sandbox::RunningSandbox) {
    let (wanted, cols) = {
        let org = sb.shared.org.read().unwrap();
        let oracle = Oracle::new(&org);
        let wall = huntr_sync::timefmt::now_unix();
        let mut wanted: Vec<ViewRows> = COLUMNS
            .iter()
            .map(|(v, _, _)| expected(&oracle, v, wall))
            .collect();
        wanted.push(oracle.members_wide());
        (wanted, wide_columns(&org))
    };
    let mut problems = Vec::new();
    for ((view, keys, cols), want) in COLUMNS.iter().zip(&wanted) {
        let got = pg_rows(db, view, keys, cols).await;
        assert!(!got.is_empty(), "{view} is empty");
        problems.extend(differences(view, &got, want));
    }
    let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
    let wide = pg_rows(db, "members_wide", &["id"], &cols).await;
    problems.extend(differences("members_wide", &wide, &wanted[6]));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn opts() -> SyncOptions {
    SyncOptions {
        limit: 60,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_views_equal_the_sandbox_after_a_full_sync_and_after_days() {
    let sb = common::sandbox(30, 313).await;
    let db = server().database("outcomes").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync(&client, &target(&db, &state), &opts()).await.unwrap();
    assert_pg_views_equal_the_model(&db, &sb).await;
    sb.advance_days(3);
    sync(&client, &target(&db, &state), &opts()).await.unwrap();
    assert_pg_views_equal_the_model(&db, &sb).await;
}

async fn wide_columns_in(db: &TestDb) -> Vec<String> {
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = 'huntr' AND table_name = 'members_wide' ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_members_wide_follows_fields_and_spares_users_views() {
    use huntr_sync::sandbox::org::{MemberField, Oid};
    let sb = common::sandbox(12, 314).await;
    let db = server().database("outcomes_wide").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync(&client, &target(&db, &state), &opts()).await.unwrap();
    let add = |name: &str, n: u64| {
        let mut org = sb.shared.org.write().unwrap();
        let id = Oid(org.now as u32, 9_000 + n);
        let field = MemberField {
            id,
            name: name.into(),
            field_type: "TEXT",
            choices: vec![],
        };
        org.fields.push(field);
    };
    add("Cohort Code", 1);
    add("cohort_code", 2);
    sync(&client, &target(&db, &state), &opts()).await.unwrap();
    let cols = wide_columns_in(&db).await;
    assert!(cols.contains(&"cohort_code".to_string()), "{cols:?}");
    assert!(
        cols.iter().any(|c| c.starts_with("cohort_code_")),
        "{cols:?}"
    );
    assert_pg_views_equal_the_model(&db, &sb).await;
    // A user's view over members_wide: removing a field cannot drop it.
    let pg = db.client().await;
    pg.batch_execute(
        "CREATE VIEW public.my_members AS SELECT id, cohort_code FROM huntr.members_wide",
    )
    .await
    .unwrap();
    sb.shared.org.write().unwrap().fields.pop();
    let run = sync(&client, &target(&db, &state), &opts()).await.unwrap();
    assert!(run.complete(), "the run goes on: {:?}", run.incomplete);
    assert!(wide_columns_in(&db)
        .await
        .iter()
        .any(|c| c.starts_with("cohort_code_")));
    // Once the user's view is gone, the next run brings members_wide up to date.
    pg.batch_execute("DROP VIEW public.my_members")
        .await
        .unwrap();
    sync(&client, &target(&db, &state), &opts()).await.unwrap();
    let cols = wide_columns_in(&db).await;
    assert!(
        !cols.iter().any(|c| c.starts_with("cohort_code_")),
        "{cols:?}"
    );
    assert_pg_views_equal_the_model(&db, &sb).await;
}
