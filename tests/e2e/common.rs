//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use huntr_sync::api::{Client, ClientConfig, RetryPolicy, Token};
use huntr_sync::sandbox::{RunningSandbox, SandboxOptions, Truth};
use huntr_sync::schema::SCHEMA;
use rusqlite::Connection;

/// A client with quick retries and no throttling, for tests.
pub fn fast_client(base_url: &str, token: &str) -> Client {
    let mut cfg = ClientConfig::new(base_url, Token::new(token), "HUNTR_ORG_TOKEN");
    cfg.requests_per_second = 10_000.0;
    cfg.burst = 1_000;
    cfg.retry = RetryPolicy {
        max_retries: 6,
        base: Duration::from_millis(2),
        cap: Duration::from_millis(20),
        min_wait: Duration::from_millis(1),
        ..RetryPolicy::default()
    };
    cfg.timeout = Duration::from_secs(10);
    Client::new(&cfg).unwrap()
}

pub async fn sandbox(scale: u32, seed: u64) -> RunningSandbox {
    RunningSandbox::start(SandboxOptions {
        scale,
        seed,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Text of any SQLite value, the way the truth spells it.
fn text(v: rusqlite::types::Value) -> Option<String> {
    use rusqlite::types::Value::*;
    match v {
        Null => None,
        Integer(i) => Some(i.to_string()),
        Real(f) => Some(f.to_string()),
        Text(s) => Some(s),
        Blob(_) => Some("<blob>".into()),
    }
}

fn live_filter(table: &str) -> String {
    let t = SCHEMA.get(table).unwrap();
    if t.has_col("removed_at") {
        return "removed_at IS NULL".into();
    }
    if t.has_col("deleted_at") {
        return "deleted_at IS NULL".into();
    }
    if let Some((parent, col)) = &t.parent {
        let p = SCHEMA.get(parent).unwrap();
        return format!(
            "{col} IN (SELECT {} FROM {parent} WHERE {})",
            p.key[0],
            live_filter(&p.name)
        );
    }
    "1".into()
}

/// Differences between the destination's live rows and the sandbox's
/// ground truth, table by table; empty when they are equal.
pub fn diff(db: &Path, truth: &Truth) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut problems = Vec::new();
    for (table, expected) in &truth.tables {
        let t = SCHEMA.get(table).unwrap();
        let cols: Vec<&str> = expected
            .values()
            .next()
            .map(|r| r.keys().copied().collect())
            .unwrap_or_default();
        let key = t
            .key
            .iter()
            .map(|k| format!("CAST({k} AS TEXT)"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let mut select = vec![key];
        select.extend(cols.iter().map(|c| c.to_string()));
        let sql = format!(
            "SELECT {} FROM {table} WHERE {}",
            select.join(", "),
            live_filter(table)
        );
        let mut stmt = conn.prepare(&sql).unwrap();
        let mut got: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        let rows = stmt
            .query_map([], |r| {
                let k: String = r.get(0)?;
                let mut vals = Vec::new();
                for i in 0..cols.len() {
                    vals.push(text(r.get(i + 1)?));
                }
                Ok((k, vals))
            })
            .unwrap();
        for row in rows {
            let (k, v) = row.unwrap();
            got.insert(k, v);
        }
        let mut n = 0;
        for (k, want) in expected {
            let want: Vec<Option<String>> = cols
                .iter()
                .map(|c| want.get(c).cloned().flatten())
                .collect();
            match got.get(k) {
                None => {
                    n += 1;
                    if n <= 5 {
                        problems.push(format!("{table}: missing {k}"));
                    }
                }
                Some(have) if *have != want => {
                    n += 1;
                    if n <= 5 {
                        problems.push(format!("{table} {k}: {cols:?} = {have:?}, want {want:?}"));
                    }
                }
                _ => {}
            }
        }
        for k in got.keys().filter(|k| !expected.contains_key(*k)) {
            n += 1;
            if n <= 5 {
                problems.push(format!("{table}: unexpected live row {k}"));
            }
        }
        if n > 5 {
            problems.push(format!("{table}: {} differences in all", n));
        }
    }
    problems
}

pub fn assert_matches_truth(db: &Path, truth: &Truth) {
    let problems = diff(db, truth);
    assert!(
        problems.is_empty(),
        "destination differs from the sandbox:\n{}",
        problems.join("\n")
    );
}

pub fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// Loads Parquet files (a destination's tables, or a changes export) into
/// a new SQLite file with the contract's DDL, so `diff` can compare them.
/// `file_of(table)` names the file; tables without one are left empty.
pub fn parquet_to_sqlite(file_of: impl Fn(&str) -> std::path::PathBuf, out: &Path) -> Connection {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use rusqlite::types::Value as V;

    let conn = Connection::open(out).unwrap();
    conn.execute_batch(&SCHEMA.sqlite_ddl()).unwrap();
    // One transaction: a commit per row would mean an fsync per row.
    conn.execute_batch("BEGIN").unwrap();
    for t in &SCHEMA.tables {
        let path = file_of(&t.name);
        if !path.exists() {
            continue;
        }
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let schema = batch.schema();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                t.name,
                names.join(", "),
                vec!["?"; names.len()].join(", ")
            );
            let mut stmt = conn.prepare(&sql).unwrap();
            for row in 0..batch.num_rows() {
                let vals: Vec<V> = batch
                    .columns()
                    .iter()
                    .map(|col| {
                        if col.is_null(row) {
                            return V::Null;
                        }
                        match col.data_type() {
                            DataType::Utf8 => V::Text(col.as_string::<i32>().value(row).to_owned()),
                            DataType::Boolean => V::Integer(col.as_boolean().value(row) as i64),
                            DataType::Int64 => {
                                V::Integer(col.as_primitive::<Int64Type>().value(row))
                            }
                            DataType::Float64 => {
                                V::Real(col.as_primitive::<Float64Type>().value(row))
                            }
                            DataType::Timestamp(_, _) => V::Text(huntr_sync::timefmt::iso(
                                col.as_primitive::<TimestampMicrosecondType>().value(row)
                                    / 1_000_000,
                            )),
                            other => panic!("unexpected Arrow type {other}"),
                        }
                    })
                    .collect();
                stmt.execute(rusqlite::params_from_iter(vals)).unwrap();
            }
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    conn
}

/// No table of the destination holds two rows with the same key.
pub fn assert_no_duplicate_keys(db: &Path) {
    for t in &SCHEMA.tables {
        let keys = t.key.join(", ");
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {} GROUP BY {keys} HAVING COUNT(*) > 1)",
            t.name
        );
        assert_eq!(count(db, &sql), 0, "{} has duplicate keys", t.name);
    }
}

/// The built binary, run in `dir`, with no token or log filter inherited.
pub fn huntr_sync(dir: &Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_huntr-sync"));
    c.current_dir(dir)
        .env_remove("HUNTR_ORG_TOKEN")
        .env_remove("RUST_LOG");
    c
}

/// A run of the binary that must have succeeded; its standard error is
/// the failure message when it did not.
pub fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A webhook receiver on a free loopback port writing `db`, with `secret`
/// and room for `queue` deliveries.
pub async fn receiver(db: &Path, secret: &[u8], queue: usize) -> huntr_sync::webhook::Receiver {
    receiver_into(huntr_sync::sync::Target::sqlite(db), secret, queue).await
}

/// A webhook receiver on a free loopback port writing `target`.
pub async fn receiver_into(
    target: huntr_sync::sync::Target,
    secret: &[u8],
    queue: usize,
) -> huntr_sync::webhook::Receiver {
    let mut opts = huntr_sync::webhook::ServeOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        target,
        secret.to_vec(),
    );
    opts.queue = queue;
    opts.batch = 64;
    huntr_sync::webhook::Receiver::start(opts).await.unwrap()
}

/// A moto S3 server on a free loopback port, with bucket `lake`; stopped
/// when dropped. With `auth`, every request after the bucket's creation
/// must be signed with credentials moto issued, so any others are refused.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Moto {
    pub async fn start(auth: bool) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = std::process::Command::new("moto_server");
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if auth {
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "1");
        }
        let child = cmd
            .spawn()
            .expect("moto_server is not installed: pip install 'moto[server]' (.ci/run does)");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        while http
            .get(format!("{}/moto-api/", moto.endpoint))
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let made = http
            .put(format!("{}/lake", moto.endpoint))
            .send()
            .await
            .unwrap();
        assert!(made.status().is_success(), "bucket: {}", made.status());
        moto
    }

    /// The object at `key` in bucket `lake`, read with credentials (moto
    /// refuses an anonymous read of what a signed request wrote).
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        use object_store::ObjectStoreExt;
        let lake = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name("lake")
            .with_endpoint(&self.endpoint)
            .with_region("us-east-1")
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .with_allow_http(true)
            .build()
            .unwrap();
        match lake.get(&object_store::path::Path::from(key)).await {
            Ok(got) => Some(got.bytes().await.unwrap().to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("{key}: {e}"),
        }
    }

    /// Points `cmd` (huntr-sync) at this server, with credentials that
    /// moto accepts (it checks none unless started with `auth`).
    pub fn point<'a>(
        &self,
        cmd: &'a mut tokio::process::Command,
    ) -> &'a mut tokio::process::Command {
        s3_env(cmd, &self.endpoint)
    }
}

/// Sets the S3 variables of a huntr-sync run against `endpoint`.
pub fn s3_env<'a>(
    cmd: &'a mut tokio::process::Command,
    endpoint: &str,
) -> &'a mut tokio::process::Command {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ALLOW_HTTP", "true")
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ids of the activities touched by the sandbox's actions that `pick`
/// chooses and still open and live now, sorted, each once (an activity
/// may be touched again on a later day).
pub fn open_activities(
    sb: &RunningSandbox,
    pick: impl Fn(&huntr_sync::sandbox::org::Action) -> bool,
) -> Vec<String> {
    let org = sb.shared.org.read().unwrap();
    let mut ids: Vec<String> = org
        .actions
        .iter()
        .filter(|a| pick(a))
        .filter_map(|a| a.activity)
        .map(|ax| &org.activities[ax as usize])
        .filter(|act| !act.completed && !act.deleted)
        .map(|act| act.id.hex())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// `ids` as an SQL list: `'a', 'b'`.
pub fn sql_list(ids: &[String]) -> String {
    ids.iter()
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
