//! The PostgreSQL destination against a real server (`pg_server`): its
//! tables equal the sandbox's truth across days, a quiet run writes only
//! its runs row, the users' views and grants survive runs, an upgrade
//! that adds a column and `--full-refresh`, and a lost state database is
//! rebuilt without reusing a run id. Faults and concurrency are in
//! `postgres_faults`.

use crate::common;
use crate::pg_server::{server, TestDb};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use huntr_sync::destination::Settings;
use huntr_sync::schema::SCHEMA;
use huntr_sync::sync::{sync, SyncOptions, Target};
use rusqlite::types::Value as V;

/// The destination `db` names, with its state database at `state`.
pub fn target(db: &TestDb, state: &Path) -> Target {
    let settings = Settings {
        state: Some(state.to_owned()),
        ..Default::default()
    };
    Target::with_settings(&db.url(), &settings).unwrap()
}

/// A column as text the way the state spells it (timestamps ISO, in UTC).
fn select_expr(c: &huntr_sync::schema::Column) -> String {
    use huntr_sync::schema::ColType;
    let q = format!("\"{}\"", c.name);
    match c.ty {
        ColType::Timestamp => {
            format!("to_char({q} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
        }
        ColType::Bool => format!("{q}::int::text"),
        ColType::Int => format!("{q}::text"),
        ColType::Float => format!("{q}::float8::text"),
        _ => format!("{q}::text"),
    }
}

/// Copies the destination's tables into a new SQLite file with the
/// contract's DDL, so `common::diff` compares them with the truth.
pub async fn pg_to_sqlite(db: &TestDb, out: &Path) {
    let client = db.client().await;
    let conn = rusqlite::Connection::open(out).unwrap();
    conn.execute_batch(&SCHEMA.sqlite_ddl()).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    for t in &SCHEMA.tables {
        let cols: Vec<&huntr_sync::schema::Column> = t.visible().collect();
        let select: Vec<String> = cols.iter().map(|c| select_expr(c)).collect();
        let sql = format!("SELECT {} FROM huntr.\"{}\"", select.join(", "), t.name);
        let rows = client.query(&sql, &[]).await.unwrap();
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let insert = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            t.name,
            names.join(", "),
            vec!["?"; names.len()].join(", ")
        );
        let mut stmt = conn.prepare(&insert).unwrap();
        for row in rows {
            let vals: Vec<V> = cols
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    use huntr_sync::schema::ColType;
                    let text: Option<String> = row.get(i);
                    match (text, c.ty) {
                        (None, _) => V::Null,
                        (Some(s), ColType::Bool | ColType::Int) => V::Integer(s.parse().unwrap()),
                        (Some(s), ColType::Float) => V::Real(s.parse().unwrap()),
                        (Some(s), _) => V::Text(s),
                    }
                })
                .collect();
            stmt.execute(rusqlite::params_from_iter(vals)).unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
}

/// The destination equals the truth (`label` names the file compared).
pub async fn assert_pg_matches_truth(
    db: &TestDb,
    dir: &Path,
    label: &str,
    truth: &huntr_sync::sandbox::Truth,
) {
    let file = dir.join(format!("{label}.db"));
    pg_to_sqlite(db, &file).await;
    let problems = common::diff(&file, truth);
    assert!(
        problems.is_empty(),
        "{label}: PostgreSQL differs from the sandbox:\n{}",
        problems.join("\n")
    );
}

/// Rows per table in the destination.
pub async fn pg_counts(db: &TestDb) -> BTreeMap<String, i64> {
    let client = db.client().await;
    let mut counts = BTreeMap::new();
    for t in &SCHEMA.tables {
        let sql = format!("SELECT count(*) FROM huntr.\"{}\"", t.name);
        counts.insert(
            t.name.clone(),
            client.query_one(&sql, &[]).await.unwrap().get(0),
        );
    }
    counts
}

/// Rows per table in the state database.
pub fn state_counts(state: &Path) -> BTreeMap<String, i64> {
    SCHEMA
        .tables
        .iter()
        .map(|t| {
            let sql = format!("SELECT count(*) FROM {}", t.name);
            (t.name.clone(), common::count(state, &sql))
        })
        .collect()
}

/// The ids in `_huntr_sync_runs`, in order.
pub async fn runs(db: &TestDb) -> Vec<i64> {
    let client = db.client().await;
    let rows = client
        .query("SELECT run_id FROM huntr._huntr_sync_runs ORDER BY 1", &[])
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// Every contract table has its declared primary key, named `TABLE_pkey`
/// (a first load adds it once the rows are in).
async fn assert_primary_keys(db: &TestDb) {
    let sql = "SELECT c.relname::text, string_agg(a.attname::text, ',' ORDER BY k.pos) \
               FROM pg_constraint x JOIN pg_class c ON c.oid = x.conrelid \
               CROSS JOIN LATERAL unnest(x.conkey) WITH ORDINALITY AS k(attnum, pos) \
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
               WHERE x.contype = 'p' AND x.connamespace = 'huntr'::regnamespace \
               AND x.conname = c.relname || '_pkey' GROUP BY c.relname";
    let rows = db.client().await.query(sql, &[]).await.unwrap();
    let keys: BTreeMap<String, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for t in &SCHEMA.tables {
        assert_eq!(keys.get(&t.name), Some(&t.key.join(",")), "{}", t.name);
    }
}

/// Tuples inserted, updated and deleted in the destination's schema, as
/// PostgreSQL counts them, once its statistics have settled.
async fn tuples_written(db: &TestDb) -> i64 {
    let client = db.client().await;
    let sql = "SELECT COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::int8 \
               FROM pg_stat_user_tables WHERE schemaname = 'huntr'";
    let mut last = -1;
    let since = Instant::now();
    loop {
        // Another transaction each time: statistics are read once per one.
        let now: i64 = client.query_one(sql, &[]).await.unwrap().get(0);
        if now == last || since.elapsed() > Duration::from_secs(10) {
            return now;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}

fn opts() -> SyncOptions {
    SyncOptions {
        limit: 60,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tables_equal_the_truth_across_days_and_a_quiet_run_writes_one_row() {
    let sb = common::sandbox(25, 141).await;
    let db = server().database("truth").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let first = sync(&client, &target(&db, &state), &opts()).await.unwrap();
    assert_eq!(first.published.len(), SCHEMA.tables.len(), "every table");
    assert_primary_keys(&db).await;
    assert_pg_matches_truth(&db, dir.path(), "day0", &sb.truth()).await;
    for day in 1..=2 {
        sb.advance_days(1);
        let run = sync(&client, &target(&db, &state), &opts()).await.unwrap();
        assert!(
            run.published.contains(&"jobs".to_string()),
            "{:?}",
            run.published
        );
        assert!(
            !run.published.contains(&"activity_categories".to_string()),
            "unchanged tables are not written"
        );
        assert_pg_matches_truth(&db, dir.path(), &format!("day{day}"), &sb.truth()).await;
        assert_eq!(pg_counts(&db).await, state_counts(&state), "day {day}");
    }
    // No change: the run writes its row in _huntr_sync_runs and nothing else.
    let before = tuples_written(&db).await;
    let quiet = sync(&client, &target(&db, &state), &opts()).await.unwrap();
    assert!(quiet.published.is_empty(), "{:?}", quiet.published);
    assert_eq!(tuples_written(&db).await - before, 1, "only the runs row");
    assert_eq!(runs(&db).await.len(), 4);
    let pg = db.client().await;
    let listed: i64 = pg
        .query_one(
            "SELECT count(*) FROM huntr._huntr_sync_run_tables WHERE run_id = $1",
            &[&quiet.run_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(listed, 0, "a quiet run changed no table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_views_and_grants_survive_runs_an_added_column_and_a_full_refresh() {
    let sb = common::sandbox(12, 142).await;
    let db = server().database("survive").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync(&client, &target(&db, &state), &opts()).await.unwrap();
    let reader = format!("{}_reader", db.name);
    db.create_role(&reader, "reader-secret", true).await;
    let pg = db.client().await;
    pg.batch_execute(&format!(
        "CREATE VIEW huntr.open_jobs AS SELECT id, title, owner_member_id FROM huntr.jobs WHERE deleted_at IS NULL;
         CREATE INDEX my_jobs_title ON huntr.jobs (title);
         GRANT USAGE ON SCHEMA huntr TO {reader};
         GRANT SELECT ON huntr.jobs, huntr.open_jobs TO {reader};
         -- What an older release made: jobs without a column this one has.
         ALTER TABLE huntr.jobs DROP COLUMN location_lat;"
    ))
    .await
    .unwrap();
    let survived = || async {
        let pg = db.client().await;
        let q =
            "SELECT count(*) FROM pg_views WHERE schemaname = 'huntr' AND viewname = 'open_jobs'";
        let views: i64 = pg.query_one(q, &[]).await.unwrap().get(0);
        assert_eq!(views, 1, "the view survives");
        let q = "SELECT has_table_privilege($1, 'huntr.jobs', 'SELECT')";
        let granted: bool = pg.query_one(q, &[&reader]).await.unwrap().get(0);
        assert!(granted, "the grant survives");
        let q = "SELECT count(*) FROM pg_indexes WHERE indexname = 'my_jobs_title'";
        let indexed: i64 = pg.query_one(q, &[]).await.unwrap().get(0);
        assert_eq!(indexed, 1, "the user's index survives");
        pg.batch_execute(&format!(
            "SET ROLE {reader}; SELECT count(*) FROM huntr.open_jobs; RESET ROLE"
        ))
        .await
        .unwrap();
    };
    // The upgrade: the column comes back, filled for every row.
    sb.advance_days(1);
    sync(&client, &target(&db, &state), &opts()).await.unwrap();
    survived().await;
    let q = "SELECT count(*) FILTER (WHERE location_lat IS NOT NULL) FROM huntr.jobs";
    let filled: i64 = pg.query_one(q, &[]).await.unwrap().get(0);
    let in_state = common::count(&state, "SELECT count(location_lat) FROM jobs");
    assert!(in_state > 0);
    assert_eq!(filled, in_state, "the added column is filled");
    assert_pg_matches_truth(&db, dir.path(), "upgraded", &sb.truth()).await;
    // A full refresh replaces rows, not tables.
    sb.advance_days(1);
    let full = SyncOptions {
        full_refresh: true,
        ..opts()
    };
    sync(&client, &target(&db, &state), &full).await.unwrap();
    survived().await;
    assert_pg_matches_truth(&db, dir.path(), "refreshed", &sb.truth()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_state_database_is_rebuilt_after_the_highest_run_shown() {
    let sb = common::sandbox(12, 143).await;
    let db = server().database("lost").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    for _ in 0..2 {
        sync(&client, &target(&db, &state), &opts()).await.unwrap();
        sb.advance_days(1);
    }
    let highest = *runs(&db).await.last().unwrap();
    for f in ["state.db", "state.db-wal", "state.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    // Rows the organization lost meanwhile must go too: a member removed
    // while the state was gone is still in PostgreSQL until this run.
    sb.advance_days(2);
    let run = sync(&client, &target(&db, &state), &opts()).await.unwrap();
    assert!(run.run_id > highest, "run {} after {highest}", run.run_id);
    assert_eq!(*runs(&db).await.last().unwrap(), run.run_id);
    assert_pg_matches_truth(&db, dir.path(), "rebuilt", &sb.truth()).await;
    assert_eq!(pg_counts(&db).await, state_counts(&state));
}

/// A CA, and a server certificate it signed for `localhost`, as PEM files
/// in `dir`: `ca.pem`, `server.crt`, `server.key`; and another CA that
/// signed nothing, `other-ca.pem`.
fn certificates(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let ca_of = || {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    };
    let ca = ca_of();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("other-ca.pem"), ca_of().pem()).unwrap();
    std::fs::write(dir.join("server.crt"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

/// Turns TLS on in the test server, with the certificates in `dir` (made
/// readable by the server's user, the owner of its socket directory).
async fn enable_tls(dir: &Path, socket_dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let key = dir.join("server.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let owner = format!("--reference={}", socket_dir.display());
    for f in ["server.crt", "server.key"] {
        let done = std::process::Command::new("chown")
            .args([owner.as_str(), dir.join(f).to_str().unwrap()])
            .status()
            .unwrap();
        assert!(done.success(), "chown {f}");
    }
    let admin = server().admin().await;
    // ALTER SYSTEM refuses to run in a transaction: one statement at a time.
    for sql in [
        format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}'",
            dir.join("server.crt").display()
        ),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", key.display()),
        "ALTER SYSTEM SET ssl = on".to_string(),
        "SELECT pg_reload_conf()".to_string(),
    ] {
        admin.batch_execute(&sql).await.unwrap();
    }
    let since = Instant::now();
    loop {
        let on: String = server()
            .admin()
            .await
            .query_one("SHOW ssl", &[])
            .await
            .unwrap()
            .get(0);
        if on == "on" {
            return;
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "TLS never came on"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_check_the_certificate_as_libpq_would() {
    let Some(socket_dir) = server().socket_dir() else {
        eprintln!("skipped: a server given by HUNTR_TEST_POSTGRES_URL keeps its own TLS settings");
        return;
    };
    let sb = common::sandbox(2, 144).await;
    let db = server().database("tls").await;
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    enable_tls(certs.path(), socket_dir).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = certs.path().join("ca.pem");
    let other = certs.path().join("other-ca.pem");
    let check = |host: &str, mode: &str, root: &Path| {
        let url = format!(
            "postgres://{}@{host}:{}/{}?schema=huntr&sslmode={mode}&sslrootcert={}",
            server().admin_user(),
            server().port(),
            db.name,
            root.display()
        );
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_huntr-sync"))
            .current_dir(dir.path())
            .args(["check", "--base-url", &sb.base_url, "--destination", &url])
            .env("HUNTR_ORG_TOKEN", &sb.token)
            .env("PGPASSWORD", server().admin_password().unwrap())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = stdout
            .lines()
            .find(|l| l.starts_with("destination:"))
            .unwrap_or_default()
            .to_owned();
        line
    };
    for (host, mode, root, ok) in [
        ("127.0.0.1", "require", &other, true),
        ("127.0.0.1", "verify-ca", &ca, true),
        ("localhost", "verify-full", &ca, true),
        ("127.0.0.1", "verify-full", &ca, false),
        ("localhost", "verify-full", &other, false),
    ] {
        let line = check(host, mode, root);
        let want = if ok {
            "destination: writable (postgres"
        } else {
            "destination: FAILED"
        };
        assert!(
            line.starts_with(want),
            "{host} {mode} {}: {line}",
            root.display()
        );
        if !ok {
            assert!(line.contains("certificate"), "names the cause: {line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_while_publishing_fails_the_run_and_the_next_publishes_it() {
    let sb = common::sandbox(40, 145).await;
    let db = server().database("lostconn").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync(&client, &target(&db, &state), &opts()).await.unwrap();
    let before = runs(&db).await;
    let mut cut = 0;
    for _ in 0..5 {
        sb.advance_days(1);
        // Ends every publishing connection as soon as it shows, from the
        // server, until the run is over: the one that merges ahead while
        // the run reads (the run's end begins again on a fresh one) and
        // the one that publishes at the end.
        let admin = db.client().await;
        let name = db.name.clone();
        let over = Arc::new(AtomicBool::new(false));
        let done = over.clone();
        let killer = tokio::spawn(async move {
            let sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                       WHERE datname = $1 AND application_name = 'huntr-sync publishing'";
            let mut killed = false;
            while !done.load(Ordering::SeqCst) {
                killed |= !admin.query(sql, &[&name]).await.unwrap().is_empty();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            killed
        });
        let run = sync(&client, &target(&db, &state), &opts()).await;
        over.store(true, Ordering::SeqCst);
        let killed = killer.await.unwrap();
        if !killed || run.is_ok() {
            // The publication was over before the connection was found.
            continue;
        }
        let e = run.unwrap_err().to_string();
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(e.contains(&db.name), "names the database: {e}");
        assert_eq!(
            runs(&db).await.len(),
            before.len() + cut,
            "nothing committed"
        );
        cut += 1;
        sync(&client, &target(&db, &state), &opts()).await.unwrap();
        assert_pg_matches_truth(&db, dir.path(), &format!("after{cut}"), &sb.truth()).await;
        let before_next = runs(&db).await;
        assert_eq!(
            before_next.len(),
            before.len() + cut,
            "the next run published"
        );
        break;
    }
    assert!(cut > 0, "no publication was caught in five tries");
}
