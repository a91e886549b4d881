//! A real, throwaway PostgreSQL server for the end-to-end tests: the
//! PostgreSQL destination must be tested against the real thing. One server
//! per test process, started on first use by [`server`]; one database per
//! test ([`PgServer::database`]), so tests still run in parallel.
//!
//! It listens on 127.0.0.1 (scram-sha-256 passwords) and on a Unix socket
//! (trust, so the tool's URLs need no password). Statics are never dropped,
//! so a parent-death signal kills it with the test process. Setting
//! `HUNTR_TEST_POSTGRES_URL` (a superuser's URL; password in it or in
//! `PGPASSWORD`) uses an existing server instead.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

/// The superuser `initdb` creates, and its password over TCP.
const ADMIN_USER: &str = "huntr_admin";
const ADMIN_PASSWORD: &str = "huntr-admin-secret";
const ENV_URL: &str = "HUNTR_TEST_POSTGRES_URL";
const INSTALL_HINT: &str = "PostgreSQL tests need a server: install PostgreSQL's server binaries \
     (Debian: apt-get install postgresql) or set HUNTR_TEST_POSTGRES_URL";

/// The test process's server: where it listens and who administers it.
#[derive(Debug, Default)]
pub struct PgServer {
    host: String,
    port: u16,
    socket_dir: Option<PathBuf>,
    user: String,
    password: Option<String>,
    maintenance_db: String,
    next_db: AtomicU32,
}

/// A database of one test's own, on [`server`].
pub struct TestDb {
    pub name: String,
    server: &'static PgServer,
}

/// The server of this test process, started on first use. A failed start
/// is remembered: every test reports it at once instead of trying again.
pub fn server() -> &'static PgServer {
    static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
    let start = || match std::env::var(ENV_URL) {
        Ok(url) if !url.is_empty() => from_url(&url),
        _ => start_local(),
    };
    let started = SERVER.get_or_init(|| start().map_err(|e| format!("{e:#}")));
    started.as_ref().unwrap_or_else(|msg| panic!("{msg}"))
}

#[allow(dead_code)] // some accessors are for the other test files
impl PgServer {
    /// A new, empty database: `prefix`, a counter and the process id, so
    /// that no two tests, nor two test processes, share one.
    pub async fn database(&self, prefix: &str) -> TestDb {
        let name = db_name(prefix, self.next_db.fetch_add(1, Ordering::Relaxed));
        let admin = self.admin().await;
        // A shared server may hold one from an earlier run with our pid.
        let drop = format!("DROP DATABASE IF EXISTS {name}");
        for sql in [drop, format!("CREATE DATABASE {name}")] {
            let done = admin.batch_execute(&sql).await;
            done.unwrap_or_else(|e| panic!("{sql}: {:#}", anyhow::Error::from(e)));
        }
        // The only PgServer there is is `server()`'s, so `self` is it.
        let server = server();
        TestDb { name, server }
    }

    /// A superuser connection to the maintenance database (for roles, say).
    pub async fn admin(&self) -> Client {
        self.connect(&self.maintenance_db).await
    }

    /// Where the server listens for TCP: 127.0.0.1, or the URL's host.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Unix socket's directory; None for a server given by URL.
    pub fn socket_dir(&self) -> Option<&Path> {
        self.socket_dir.as_deref()
    }

    pub fn admin_user(&self) -> &str {
        &self.user
    }

    /// The superuser's password over TCP (None if the URL gave none).
    pub fn admin_password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Connects as the superuser: over the socket if there is one (trust),
    /// else TCP with the password. The connection runs on the test's runtime.
    async fn connect(&self, dbname: &str) -> Client {
        let mut config = Config::new();
        config.user(&self.user).dbname(dbname).port(self.port);
        config.connect_timeout(Duration::from_secs(10));
        match (&self.socket_dir, &self.password) {
            (Some(dir), _) => config.host_path(dir),
            (None, Some(password)) => config.host(&self.host).password(password),
            (None, None) => config.host(&self.host),
        };
        let connected = config.connect(NoTls).await.map_err(anyhow::Error::from);
        let (client, connection) =
            connected.unwrap_or_else(|e| panic!("connecting to the test PostgreSQL: {e:#}"));
        tokio::spawn(connection);
        client
    }
}

impl TestDb {
    /// The tool's destination URL: the superuser over the Unix socket (trust:
    /// no password); for a server given by URL, its host, port and user.
    pub fn url(&self) -> String {
        let (server, db) = (self.server, &self.name);
        let (user, port) = (&server.user, server.port);
        let Some(dir) = &server.socket_dir else {
            return format!("postgres://{user}@{}:{port}/{db}?schema=huntr", server.host);
        };
        let dir = url::form_urlencoded::byte_serialize(dir.as_os_str().as_bytes());
        let dir: String = dir.collect(); // percent-encoded, `/` included
        format!("postgres://{user}@localhost:{port}/{db}?host={dir}&schema=huntr")
    }

    /// A URL over TCP as `user`, with a password (callers set PGPASSWORD).
    pub fn tcp_url(&self, user: &str) -> String {
        let (host, port, db) = (&self.server.host, self.server.port, &self.name);
        format!("postgres://{user}@{host}:{port}/{db}?schema=huntr&sslmode=disable")
    }

    /// A superuser connection to this database, to set up and check data.
    pub async fn client(&self) -> Client {
        self.server.connect(&self.name).await
    }

    /// Creates the role, or resets its password and LOGIN. Roles are the
    /// server's: name them after the database (`{db.name}_reader`).
    pub async fn create_role(&self, name: &str, password: &str, login: bool) {
        let client = self.client().await;
        let sql = "SELECT 1 FROM pg_roles WHERE rolname = $1";
        let found = client.query_opt(sql, &[&name]).await.expect("pg_roles");
        let verb = if found.is_some() { "ALTER" } else { "CREATE" };
        let login = if login { "LOGIN" } else { "NOLOGIN" };
        let (role, password) = (name.replace('"', "\"\""), password.replace('\'', "''"));
        let sql = format!("{verb} ROLE \"{role}\" {login} PASSWORD '{password}'");
        let done = client.batch_execute(&sql).await;
        done.unwrap_or_else(|e| panic!("{verb} ROLE {name}: {:#}", anyhow::Error::from(e)));
    }
}

/// The server a superuser's URL names (`HUNTR_TEST_POSTGRES_URL`'s).
fn from_url(url: &str) -> Result<PgServer> {
    let config: Config = url.parse().context(ENV_URL)?;
    let ([Host::Tcp(host)], Some(user)) = (config.get_hosts(), config.get_user()) else {
        bail!("{ENV_URL}: give a user and one TCP host (a name or IPv4)");
    };
    let lossy = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
    let password = config.get_password().map(lossy);
    let password = password.or_else(|| std::env::var("PGPASSWORD").ok());
    Ok(PgServer {
        host: host.clone(),
        port: config.get_ports().first().copied().unwrap_or(5432),
        user: user.into(),
        password,
        maintenance_db: config.get_dbname().unwrap_or("postgres").into(),
        ..Default::default()
    })
}

/// The system user (name, uid, gid) that runs PostgreSQL when we are root.
struct RunAs(String, u32, u32);

/// `initdb`s a temporary directory, starts a server on it, and has the
/// directory removed at exit (kept if the start fails, for its logs).
fn start_local() -> Result<PgServer> {
    let bin = find_bindir().context(INSTALL_HINT)?;
    // The effective uid without `unsafe`: /proc/self belongs to it.
    let root = std::fs::metadata("/proc/self")?.uid() == 0;
    let run_as = if root { Some(system_user()?) } else { None };
    let run_as = run_as.as_ref();
    // In /tmp, not $TMPDIR: open to that user, and short, as a socket's
    // path must be (107 bytes).
    let mut tmp = tempfile::Builder::new();
    let dir = tmp.prefix("huntr-pg-").tempdir_in("/tmp")?.keep();
    let (pwfile, log) = (dir.join("pwfile"), dir.join("initdb.log"));
    std::fs::write(&pwfile, ADMIN_PASSWORD)?;
    if let Some(RunAs(_, uid, gid)) = run_as {
        for path in [&dir, &pwfile] {
            std::os::unix::fs::chown(path, Some(*uid), Some(*gid)).context("chown")?;
        }
    }
    let mut initdb = command(&bin.join("initdb"), run_as, &log)?;
    initdb.arg("-D").arg(dir.join("data"));
    initdb.arg(format!("--pwfile={}", pwfile.display()));
    let args = "--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync";
    let args = format!("-U {ADMIN_USER} {args}");
    let status = initdb.args(args.split(' ')).status().context("setpriv")?;
    std::fs::remove_file(&pwfile)?;
    if !status.success() {
        bail!("initdb failed ({status}); see {}", log.display());
    }
    // Free now; should another process take it first, the server fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr();
    let port = port?.port();
    let pid = run_server(&bin, &dir, port, run_as)?;
    remove_when_gone(&dir, pid)?;
    eprintln!("test PostgreSQL: port {port}, in {}", dir.display());
    let url = format!("postgres://{ADMIN_USER}:{ADMIN_PASSWORD}@127.0.0.1:{port}/postgres");
    let mut server = from_url(&url)?;
    server.socket_dir = Some(dir);
    Ok(server)
}

/// The directory with `initdb` and `postgres`: `pg_config --bindir` (on
/// Debian, postgresql-common's finds /usr/lib/postgresql/N/bin), or PATH's.
fn find_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output();
    let pg_config = out.map(|out| String::from_utf8_lossy(&out.stdout).trim().into());
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = pg_config.into_iter().chain(std::env::split_paths(&path));
    let has = |dir: &PathBuf, name| dir.is_absolute() && dir.join(name).is_file();
    dirs.find(|dir| has(dir, "initdb") && has(dir, "postgres"))
}

/// Who runs PostgreSQL when we are root (it refuses root): `postgres`,
/// which Debian's package creates, else `nobody`.
fn system_user() -> Result<RunAs> {
    for name in ["postgres", "nobody"] {
        let out = Command::new("getent").args(["passwd", name]).output()?;
        let line = String::from_utf8_lossy(&out.stdout);
        let ids = line.split(':').skip(2).take(2).flat_map(str::parse);
        if let [uid, gid] = ids.collect::<Vec<u32>>()[..] {
            return Ok(RunAs(name.to_string(), uid, gid));
        }
    }
    bail!("running as root, but there is no postgres nor nobody user to run PostgreSQL as")
}

/// `program` through `setpriv` (util-linux): as `run_as`, and killed when
/// the thread that spawns it ends (`--pdeathsig`), not to outlive us.
fn command(program: &Path, run_as: Option<&RunAs>, log: &Path) -> Result<Command> {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--pdeathsig", "KILL"]);
    if let Some(RunAs(name, _, gid)) = run_as {
        let args = format!("--reuid={name} --regid={gid} --init-groups");
        cmd.args(args.split(' '));
    }
    let log = std::fs::File::create(log)?;
    cmd.stdin(Stdio::null()).stderr(log.try_clone()?);
    cmd.stdout(log).arg(program);
    Ok(cmd)
}

/// Starts the server and waits until it accepts connections: its pid.
fn run_server(bin: &Path, dir: &Path, port: u16, run_as: Option<&RunAs>) -> Result<u32> {
    let log = dir.join("server.log");
    let mut cmd = command(&bin.join("postgres"), run_as, &log)?;
    cmd.arg("-D").arg(dir.join("data")).arg("-k").arg(dir);
    let settings = "-c listen_addresses=127.0.0.1 -c max_connections=200 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -p";
    cmd.args(settings.split_whitespace()).arg(port.to_string());
    let (tx, rx) = mpsc::channel();
    // The parent-death signal fires when the *thread* that spawned the
    // server ends: this one waits for the server, then parks forever.
    std::thread::spawn(move || {
        let child = cmd.spawn();
        let pid = child.as_ref().map(|child| child.id());
        let _ = tx.send(pid.map_err(|e| format!("could not run setpriv: {e}")));
        if let Ok(mut child) = child {
            let _ = tx.send(Err(format!("exited ({:?})", child.wait())));
        }
        loop {
            std::thread::park();
        }
    });
    let pid = rx.recv()?.map_err(|e| anyhow::anyhow!("PostgreSQL {e}"))?;
    let see = format!("see {}", log.display());
    // Line 8 of postmaster.pid is "ready" once it accepts connections.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Err(exited)) = rx.try_recv() {
            bail!("PostgreSQL {exited} while starting; {see}");
        }
        let text = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap_or_default();
        if text.lines().nth(7).map(str::trim) == Some("ready") {
            return Ok(pid);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("PostgreSQL did not accept connections within 30 s; {see}")
}

/// Removes `dir` once we are gone: a shell reads a pipe to its end (our exit
/// closes it), waits up to 10 s for the server `pid` (a zombie answers too).
fn remove_when_gone(dir: &Path, pid: u32) -> Result<()> {
    let script = r#"exec >/dev/null 2>&1; cat; i=0
        while [ $i -lt 50 ] && kill -0 "$2"; do i=$((i + 1)); sleep 0.2; done
        rm -rf "$1" || { sleep 2; rm -rf "$1"; }"#;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script, "huntr-pg-cleanup"]).arg(dir);
    cmd.arg(pid.to_string()).stdin(Stdio::piped());
    let mut child = cmd.spawn().context("sh")?;
    std::mem::forget(child.stdin.take()); // open for as long as we run
    Ok(())
}

/// `prefix`, `n` and the pid as a lowercase identifier of at most 63 bytes,
/// never `pg_…`: roles named after it would have reserved names.
fn db_name(prefix: &str, n: u32) -> String {
    let clean = |c: char| if c.is_ascii_alphanumeric() { c } else { '_' };
    let prefix = prefix.to_ascii_lowercase();
    let name: String = prefix.chars().take(36).map(clean).collect();
    let letter = name.starts_with(|c: char| c.is_ascii_lowercase()) && !name.starts_with("pg_");
    let start = if letter { "" } else { "db_" };
    format!("{start}{name}_{n}_{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connects with `tcp_url`, less the `schema` tokio-postgres rejects.
    async fn tcp(db: &TestDb, user: &str, password: &str) -> Result<Client> {
        let url = db.tcp_url(user).replace("schema=huntr&", "");
        let mut config: Config = url.parse()?;
        let (client, connection) = config.password(password).connect(NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    #[tokio::test]
    async fn two_databases_are_distinct_and_answer() {
        let a = server().database("Pg-Server").await;
        let b = server().database("pg_server").await;
        assert_ne!(a.name, b.name);
        for db in [a, b] {
            let sql = "SELECT 1, current_database()::text";
            let row = db.client().await.query_one(sql, &[]).await.unwrap();
            assert_eq!(row.get::<_, i32>(0), 1);
            assert_eq!(row.get::<_, String>(1), db.name);
        }
    }

    #[tokio::test]
    async fn the_url_leads_to_the_database_over_the_socket_without_a_password() {
        let db = server().database("url").await;
        let url = url::Url::parse(&db.url()).unwrap();
        let query: std::collections::HashMap<_, _> = url.query_pairs().collect();
        assert_eq!(query["schema"], "huntr");
        let Some(dir) = query.get("host") else {
            return; // a server given by URL: no socket
        };
        let mut config = Config::new();
        config.host_path(&**dir).port(url.port().unwrap());
        config.user(url.username()).dbname(&url.path()[1..]);
        let (client, connection) = config.connect(NoTls).await.unwrap();
        tokio::spawn(connection);
        let row = client.query_one("SELECT current_database()::text", &[]);
        assert_eq!(row.await.unwrap().get::<_, String>(0), db.name);
    }

    #[tokio::test]
    async fn tcp_refuses_a_wrong_password_and_accepts_the_right_one() {
        let db = server().database("tcp_auth").await;
        let user = server().admin_user();
        let wrong = tcp(&db, user, "wrong").await;
        assert!(wrong.is_err(), "a wrong password must be refused over TCP");
        let right = server().admin_password().expect("the admin's password");
        let client = tcp(&db, user, right).await.unwrap();
        client.simple_query("SELECT 1").await.unwrap();
    }

    #[tokio::test]
    async fn a_created_role_logs_in_over_tcp_with_its_latest_password() {
        let db = server().database("roles").await;
        let role = format!("{}_reader", db.name);
        db.create_role(&role, "it's secret", true).await;
        db.create_role(&role, "new secret", true).await;
        assert!(tcp(&db, &role, "it's secret").await.is_err());
        let client = tcp(&db, &role, "new secret").await.unwrap();
        let row = client.query_one("SELECT current_user::text", &[]);
        assert_eq!(row.await.unwrap().get::<_, String>(0), role);
    }
}
