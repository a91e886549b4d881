//! The PostgreSQL destination when things go wrong, against a real server
//! (`pg_server`) and the built binary: publications killed with SIGKILL at
//! seeded points (`HUNTR_KILL_AT`) leave the last complete run and the
//! next run repairs them; a reader querying during publications sees only
//! whole runs; bad settings fail at once with one line, before anything is
//! written; a webhook receiver publishes a delivered action within 5 s;
//! one writer per schema (exit 4 while another holds it).

use crate::common;
use crate::pg_server::{server, TestDb};
use crate::postgres::{assert_pg_matches_truth, pg_counts, runs, state_counts, target};

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use huntr_sync::sandbox::RunningSandbox;
use huntr_sync::schema::SCHEMA;
use huntr_sync::sync::{sync, SyncOptions};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const KILL_AT: &str = "HUNTR_KILL_AT";
const SECRET: &[u8] = b"postgres-faults-secret";

/// `huntr-sync VERB` of the sandbox into `url`, run in `dir` (a state goes
/// to `dir/.huntr-sync/`), without the API's rate limit (a pipeline in
/// `dir/pipelines.toml`), and with no password nor kill point inherited.
fn command(verb: &str, dir: &Path, sb: &RunningSandbox, url: &str) -> tokio::process::Command {
    let fast = "[pipelines.fast]\nrequests_per_second = 10000\nburst = 1000\n";
    std::fs::write(dir.join("pipelines.toml"), fast).unwrap();
    let mut cmd = common::huntr_sync(dir);
    cmd.args([verb, "--pipeline", "fast", "--base-url", &sb.base_url])
        .args(["--destination", url])
        .env("HUNTR_ORG_TOKEN", &sb.token)
        .env_remove("PGPASSWORD")
        .env_remove(KILL_AT);
    cmd
}

/// `huntr-sync sync --json`, in small pages.
fn sync_cmd(dir: &Path, sb: &RunningSandbox, url: &str) -> tokio::process::Command {
    let mut cmd = command("sync", dir, sb, url);
    cmd.args(["--limit", "25", "--json"]);
    cmd
}

/// `huntr-sync check` of `url`, with `password` in PGPASSWORD.
async fn check(sb: &RunningSandbox, url: &str, password: Option<&str>) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command("check", dir.path(), sb, url);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().await.unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The run id a successful `sync --json` reports.
fn run_id(out: &Output) -> i64 {
    assert!(out.status.success(), "{}: {}", out.status, stderr(out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().expect("a JSON report");
    let report: serde_json::Value = serde_json::from_str(line).unwrap();
    report["run_id"].as_i64().expect("run_id")
}

/// The binary's state database under `dir` (`.huntr-sync/postgres_…/`).
fn state_db(dir: &Path) -> Option<PathBuf> {
    let found = std::fs::read_dir(dir.join(".huntr-sync")).ok()?;
    let mut found = found.map(|e| e.unwrap().path().join("state.db"));
    found.find(|p| p.exists())
}

/// Whether schema `huntr` exists in `db`.
async fn has_schema(db: &TestDb) -> bool {
    let sql = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'huntr')";
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

/// Every table has a primary key, and no key shows twice.
async fn assert_unique_keys(db: &TestDb) {
    let client = db.client().await;
    let sql = "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n \
               ON n.oid = c.connamespace WHERE n.nspname = 'huntr' AND c.contype = 'p'";
    let pks: i64 = client.query_one(sql, &[]).await.unwrap().get(0);
    assert!(pks as usize >= SCHEMA.tables.len(), "{pks} primary keys");
    for t in &SCHEMA.tables {
        let keys: Vec<String> = t.key.iter().map(|k| format!("\"{k}\"")).collect();
        let sql = format!(
            "SELECT count(*) - count(DISTINCT ({})) FROM huntr.\"{}\"",
            keys.join(", "),
            t.name
        );
        let extra: i64 = client.query_one(&sql, &[]).await.unwrap().get(0);
        assert_eq!(extra, 0, "{} has duplicate keys", t.name);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Point {
    Table,
    Copy,
    Commit,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publications_killed_at_seeded_points_leave_the_last_complete_run_and_are_repaired() {
    let sb = common::sandbox(15, 151).await;
    let db = server().database("faults_killed").await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url();
    let seed: u64 = std::env::var("PG_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("PG_CRASH_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let all = [Point::Table, Point::Copy, Point::Commit];
    let mut kinds = all.to_vec();
    kinds.extend((0..3).map(|_| all[rng.random_range(0..3)]));
    kinds.shuffle(&mut rng);
    let tables = SCHEMA.tables.len();
    // Run ids of the processes that exited 0; the kinds that killed.
    let (mut completed, mut killed) = (Vec::new(), Vec::new());
    let mut last_truth = None;
    for (round, &kind) in kinds.iter().enumerate() {
        if round > 0 {
            sb.advance_days(1);
        }
        let point = match kind {
            Point::Table => format!("postgres:table:{}", rng.random_range(1..=tables)),
            // A first publication copies every table; a later one, those
            // that changed (a day changes more than 5).
            Point::Copy if completed.is_empty() => {
                format!("postgres:copy:{}", rng.random_range(1..=tables))
            }
            Point::Copy => format!("postgres:copy:{}", rng.random_range(1..=5)),
            Point::Commit => "postgres:commit:1".to_owned(),
        };
        let started = Instant::now();
        let out = sync_cmd(dir.path(), &sb, &url)
            .env(KILL_AT, &point)
            .output()
            .await
            .unwrap();
        if out.status.signal() == Some(9) {
            eprintln!(
                "round {round}: killed at {point} after {:?}",
                started.elapsed()
            );
            killed.push(kind);
            // The killed publication left the last complete run whole.
            match &last_truth {
                None => assert!(!has_schema(&db).await, "{point} left a schema"),
                Some(truth) => {
                    assert_eq!(runs(&db).await, completed, "round {round}, {point}");
                    let label = format!("killed{round}");
                    assert_pg_matches_truth(&db, dir.path(), &label, truth).await
                }
            }
        } else {
            // Only a copy point may lie beyond a small publication.
            assert_eq!(
                kind,
                Point::Copy,
                "{point}: {}: {}",
                out.status,
                stderr(&out)
            );
            eprintln!("round {round}: {point} not reached");
            completed.push(run_id(&out));
            last_truth = Some(sb.truth());
        }
        if rng.random_bool(0.5) {
            let out = sync_cmd(dir.path(), &sb, &url).output().await.unwrap();
            completed.push(run_id(&out));
            eprintln!("round {round}: then run {} completed", run_id(&out));
            last_truth = Some(sb.truth());
        }
    }
    let kills = killed.len();
    killed.sort();
    killed.dedup();
    assert_eq!(
        killed, all,
        "every kind of point killed a run (seed {seed})"
    );

    sb.advance_days(1);
    let out = sync_cmd(dir.path(), &sb, &url).output().await.unwrap();
    completed.push(run_id(&out));
    assert_pg_matches_truth(&db, dir.path(), "repaired", &sb.truth()).await;
    assert_unique_keys(&db).await;
    // PostgreSQL lists exactly the runs that exited 0; the state also has
    // the killed ones, which never show.
    assert_eq!(runs(&db).await, completed, "seed {seed}");
    let state = state_db(dir.path()).expect("the state database");
    let begun = common::count(&state, "SELECT count(*) FROM sync_runs") as usize;
    assert_eq!(begun, completed.len() + kills, "every process began a run");
    assert_eq!(pg_counts(&db).await, state_counts(&state));
}

/// Tables a BI reader counts while runs publish.
const WATCHED: [&str; 6] = [
    "members",
    "member_field_values",
    "jobs",
    "activities",
    "actions",
    "job_interview_activities",
];

/// What a reader saw in one snapshot.
#[derive(Debug)]
struct Sample {
    run: i64,
    counts: Vec<i64>,
    /// A publication had written in its (unseen) transaction meanwhile.
    publishing: bool,
}

/// One statement, so one snapshot: the highest run and the counts.
fn sample_sql() -> String {
    let counts: Vec<String> = WATCHED
        .iter()
        .map(|t| format!("(SELECT count(*) FROM huntr.\"{t}\")"))
        .collect();
    format!(
        "SELECT (SELECT max(run_id) FROM huntr._huntr_sync_runs), {}, \
         EXISTS (SELECT 1 FROM pg_stat_activity \
                 WHERE application_name = 'huntr-sync publishing' AND backend_xid IS NOT NULL)",
        counts.join(", ")
    )
}

fn watched_counts(state: &Path) -> Vec<i64> {
    let all = state_counts(state);
    WATCHED.iter().map(|t| all[*t]).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_querying_during_publications_sees_only_whole_runs() {
    let sb = common::sandbox(20, 152).await;
    let db = server().database("faults_reader").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions {
        limit: 25,
        ..Default::default()
    };
    let first = sync(&client, &target(&db, &state), &opts).await.unwrap();
    let mut expected = BTreeMap::from([(first.run_id, watched_counts(&state))]);

    let stop = Arc::new(AtomicBool::new(false));
    let pg = db.client().await;
    let reader = tokio::spawn({
        let stop = stop.clone();
        async move {
            let sql = sample_sql();
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let row = pg.query_one(&sql, &[]).await.unwrap();
                samples.push(Sample {
                    run: row.get(0),
                    counts: (1..=WATCHED.len()).map(|i| row.get(i)).collect(),
                    publishing: row.get(WATCHED.len() + 1),
                });
            }
            samples
        }
    });
    let syncs = 4;
    for _ in 0..syncs {
        sb.advance_days(1);
        let run = sync(&client, &target(&db, &state), &opts).await.unwrap();
        assert_eq!(runs(&db).await.last(), Some(&run.run_id));
        expected.insert(run.run_id, watched_counts(&state));
    }
    stop.store(true, Ordering::Relaxed);
    let samples = reader.await.unwrap();

    for (i, s) in samples.iter().enumerate() {
        let want = expected.get(&s.run);
        assert_eq!(want, Some(&s.counts), "sample {i} saw part of a run: {s:?}");
    }
    let changed = samples.windows(2).filter(|w| w[0].run != w[1].run).count();
    let during = samples.iter().filter(|s| s.publishing).count();
    eprintln!(
        "{} samples, {changed} run changes, {during} during a publication",
        samples.len()
    );
    assert!(samples.len() >= 100, "only {} samples", samples.len());
    assert!(changed >= syncs - 1, "the reader saw {changed} run changes");
    assert!(during > 0, "no sample was taken while a run published");
}

/// The socket directory, or the TCP host, that errors name for `db.url()`.
fn url_host() -> String {
    let dir = server().socket_dir().map(|d| d.display().to_string());
    dir.unwrap_or_else(|| server().host().to_owned())
}

/// A sync through the binary that `url` (with `password`) must refuse:
/// exit 1 with one error line naming each of `names`, after only the token
/// check reached the sandbox, and no state; `check` names the same cause.
/// Returns the error's text.
async fn refused(sb: &RunningSandbox, url: &str, password: Option<&str>, names: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let requests = sb.requests();
    let mut cmd = sync_cmd(dir.path(), sb, url);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().await.unwrap();
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{url}: {said}");
    let errors: Vec<&str> = said
        .lines()
        .filter_map(|l| l.strip_prefix("huntr-sync: error: "))
        .collect();
    let [error] = errors[..] else {
        panic!("{url}: not one error line: {said}");
    };
    for name in names {
        assert!(
            error.contains(name),
            "the error does not name {name}: {error}"
        );
    }
    eprintln!("refused: {error}");
    assert_eq!(sb.requests() - requests, 1, "{url}: only the token check");
    let state = dir.path().join(".huntr-sync");
    assert!(!state.exists(), "{url}: a state was written: {error}");
    let checked = check(sb, url, password).await;
    let printed = String::from_utf8_lossy(&checked.stdout);
    assert_eq!(checked.status.code(), Some(1), "check of {url}: {printed}");
    let line = format!("destination: FAILED: {error}");
    assert!(printed.lines().any(|l| l == line), "{printed}");
    error.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_an_unreachable_server_or_a_missing_database_fail_at_once() {
    let sb = common::sandbox(6, 153).await;
    let db = server().database("faults_settings").await;
    let (name, admin) = (db.name.as_str(), server().admin_user());
    let checked = check(&sb, &db.url(), None).await;
    let printed = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{printed}{}", stderr(&checked));
    assert!(
        printed.contains("destination: writable (postgres "),
        "{printed}"
    );

    let tcp = server().host();
    let error = refused(&sb, &db.tcp_url(admin), Some("wrong"), &[tcp, name]).await;
    assert!(error.contains("password authentication failed"), "{error}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://{admin}@127.0.0.1:{port}/{name}?schema=huntr&sslmode=disable");
    let at = format!("127.0.0.1:{port}");
    let error = refused(&sb, &url, None, &[&at, name]).await;
    assert!(error.contains("refused"), "{error}");

    let missing = format!("{name}_missing");
    let url = db
        .url()
        .replace(&format!("/{name}?"), &format!("/{missing}?"));
    let error = refused(&sb, &url, None, &[&url_host(), &missing]).await;
    assert!(error.contains("does not exist"), "{error}");

    assert!(!has_schema(&db).await, "nothing was created");
    let sql = "SELECT count(*) FROM pg_database WHERE datname = $1";
    let admin_client = server().admin().await;
    let made: i64 = admin_client
        .query_one(sql, &[&missing])
        .await
        .unwrap()
        .get(0);
    assert_eq!(made, 0, "the missing database stays missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_may_not_create_the_schema_is_refused_before_anything_is_written() {
    let sb = common::sandbox(6, 154).await;
    let db = server().database("faults_nocreate").await;
    let role = format!("{}_plain", db.name);
    db.create_role(&role, "plain-secret", true).await;
    let names = [server().host(), db.name.as_str()];
    let error = refused(&sb, &db.tcp_url(&role), Some("plain-secret"), &names).await;
    assert!(error.contains("may not create it"), "{error}");
    assert!(!has_schema(&db).await, "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_may_only_read_the_tables_is_refused_before_anything_is_written() {
    let sb = common::sandbox(6, 155).await;
    let db = server().database("faults_readonly").await;
    let dir = tempfile::tempdir().unwrap();
    run_id(&sync_cmd(dir.path(), &sb, &db.url()).output().await.unwrap());
    let role = format!("{}_ro", db.name);
    db.create_role(&role, "ro-secret", true).await;
    let grants = format!(
        "GRANT USAGE, CREATE ON SCHEMA huntr TO {role};
         GRANT SELECT ON ALL TABLES IN SCHEMA huntr TO {role};"
    );
    db.client().await.batch_execute(&grants).await.unwrap();
    let (before, counts) = (runs(&db).await, pg_counts(&db).await);
    sb.advance_days(1);
    let names = [server().host(), db.name.as_str()];
    let error = refused(&sb, &db.tcp_url(&role), Some("ro-secret"), &names).await;
    // The first cause named is the missing write grant (it owns nothing
    // either, which comes second).
    assert!(error.contains("may not write table huntr."), "{error}");
    assert_eq!(runs(&db).await, before, "no run was recorded");
    assert_eq!(pg_counts(&db).await, counts, "no row was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_makes_a_delivered_action_visible_in_postgres_within_5_seconds() {
    let sb = common::sandbox(6, 156).await;
    let db = server().database("faults_webhook").await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    let opts = SyncOptions::default();
    sync(&client, &target(&db, &state), &opts).await.unwrap();
    let pg = db.client().await;
    let actions = || async {
        let sql = "SELECT count(*) FROM huntr.actions";
        pg.query_one(sql, &[]).await.unwrap().get::<_, i64>(0)
    };
    let before = actions().await;
    let rx = common::receiver_into(target(&db, &state), SECRET, 256).await;
    let url = format!("http://{}/webhook", rx.addr);
    sb.skip_undelivered();
    sb.advance_days(1);
    let delivered = sb.deliver(&url, SECRET).await.unwrap();
    let delivered_at = Instant::now();
    let want = sb.truth().count("actions") as i64;
    assert!(want > before && delivered > 0, "{before} -> {want}");
    while actions().await != want {
        let waited = delivered_at.elapsed();
        assert!(
            waited <= Duration::from_secs(5),
            "not shown after {waited:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("shown {:?} after delivery", delivered_at.elapsed());
    rx.shutdown().await;
    assert_eq!(actions().await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_into_a_held_schema_exits_4_naming_the_holder_and_runs_once_it_is_released() {
    let sb = common::sandbox(6, 157).await;
    let db = server().database("faults_held").await;
    let (holder_dir, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let holder = target(&db, &holder_dir.path().join("state.db"));
    let claim = holder
        .claim("test holder, ")
        .await
        .unwrap()
        .expect("a claim");
    let out = sync_cmd(dir.path(), &sb, &db.url()).output().await.unwrap();
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{said}");
    eprintln!("held: {}", said.trim());
    let named = format!("huntr-sync: test holder, pid {}", std::process::id());
    assert!(
        said.contains("already syncing") && said.contains(&named),
        "{said}"
    );
    assert!(!has_schema(&db).await, "the refused run wrote nothing");
    claim.release().await;
    let run = run_id(&sync_cmd(dir.path(), &sb, &db.url()).output().await.unwrap());
    assert_eq!(runs(&db).await, vec![run]);
}
