//! Where a PostgreSQL destination connects, read the way libpq users
//! expect: the URL first, then `PGHOST`, `PGPORT`, `PGUSER`,
//! `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, and the
//! password file (`PGPASSFILE`, else `~/.pgpass`). A password in the URL
//! is refused: the URL is printed in summaries and may sit in
//! `pipelines.toml`, so a password never comes from there, and it is
//! never logged (the `Debug` form hides it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_postgres::config::SslMode as WireSsl;
use tokio_postgres::Config;

use crate::destination::SettingError;

/// How the connection is encrypted, as libpq's `sslmode` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" | "allow" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                "sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full"
            ))
            }
        })
    }
}

/// A password, kept out of `Debug` output.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}

/// Everything needed to connect, resolved once when the destination is
/// opened.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnInfo {
    /// A host name, or a directory holding the server's Unix socket.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    pub password: Option<Secret>,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    /// The schema the tables live in.
    pub schema: String,
    pub application_name: String,
}

/// Where the environment's values come from (the process environment, or
/// a map in tests).
pub trait Env {
    fn get(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

fn bad(message: String) -> SettingError {
    SettingError::new("destination", message)
}

impl ConnInfo {
    /// Reads `postgres:` + `place` (the text after the kind, `//USER@HOST:PORT/DB?...`).
    pub fn parse(place: &str, env: &dyn Env) -> Result<ConnInfo, SettingError> {
        let text = format!("postgres:{place}");
        let url = url::Url::parse(&text)
            .map_err(|e| bad(format!("destination `{text}` is not a URL: {e}")))?;
        if url.password().is_some() {
            return Err(bad(format!(
                "destination `postgres://{}@{}…`: a password in the URL is refused (it would be shown in summaries and kept in pipelines.toml); set PGPASSWORD or put it in ~/.pgpass",
                url.username(),
                url.host_str().unwrap_or("")
            )));
        }
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let mut query = UrlParams::default();
        for (k, v) in url.query_pairs() {
            query.set(&k, v.into_owned())?;
        }
        let host = query
            .host
            .or_else(|| url.host_str().filter(|h| !h.is_empty()).map(decode))
            .or_else(|| env.get("PGHOST"))
            .unwrap_or_else(default_host);
        let port = match query.port.or(url.port().map(|p| p.to_string())) {
            Some(p) => Some(p),
            None => env.get("PGPORT"),
        };
        let port = match port {
            None => 5432,
            Some(p) => p
                .parse()
                .map_err(|_| bad(format!("destination port `{p}` is not a port number")))?,
        };
        let user = Some(decode(url.username()))
            .filter(|u| !u.is_empty())
            .or_else(|| env.get("PGUSER"))
            .or_else(|| env.get("USER"))
            .unwrap_or_else(|| "postgres".into());
        let dbname = Some(decode(url.path().trim_start_matches('/')))
            .filter(|d| !d.is_empty())
            .or_else(|| env.get("PGDATABASE"))
            .unwrap_or_else(|| user.clone());
        let sslmode = match query.sslmode.or_else(|| env.get("PGSSLMODE")) {
            Some(m) => SslMode::parse(&m).map_err(bad)?,
            None => SslMode::Prefer,
        };
        let sslrootcert = query
            .sslrootcert
            .or_else(|| env.get("PGSSLROOTCERT"))
            .map(PathBuf::from)
            .or_else(|| {
                let home = env.get("HOME")?;
                let p = Path::new(&home).join(".postgresql/root.crt");
                p.exists().then_some(p)
            });
        let schema = query.schema.unwrap_or_else(|| "huntr".into());
        check_identifier(&schema)?;
        let mut info = ConnInfo {
            host,
            port,
            user,
            dbname,
            password: None,
            sslmode,
            sslrootcert,
            schema,
            application_name: query
                .application_name
                .unwrap_or_else(|| "huntr-sync".into()),
        };
        info.password = env
            .get("PGPASSWORD")
            .or_else(|| pgpass(&info, env))
            .map(Secret);
        Ok(info)
    }

    /// Whether the host is a Unix socket directory.
    pub fn is_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// How messages name the server: `HOST:PORT` (or the socket directory),
    /// the database and the schema; never a password.
    pub fn describe(&self) -> String {
        format!(
            "postgres {}@{}:{}/{}, schema {}",
            self.user, self.host, self.port, self.dbname, self.schema
        )
    }

    /// The server as a connection error names it.
    pub fn server(&self) -> String {
        format!(
            "PostgreSQL at {}:{}, database {}",
            self.host, self.port, self.dbname
        )
    }

    /// The driver's configuration.
    pub fn config(&self, application_name: &str) -> Config {
        let mut c = Config::new();
        if self.is_socket() {
            c.host_path(&self.host);
        } else {
            c.host(&self.host);
        }
        c.port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(application_name)
            .connect_timeout(crate::defaults::POSTGRES_CONNECT_TIMEOUT)
            .keepalives_idle(Duration::from_secs(60))
            .ssl_mode(match self.sslmode {
                SslMode::Disable => WireSsl::Disable,
                SslMode::Prefer => WireSsl::Prefer,
                _ => WireSsl::Require,
            });
        if let Some(p) = &self.password {
            c.password(p.0.as_bytes());
        }
        c
    }
}

/// libpq's default: the Debian socket directory when it exists.
fn default_host() -> String {
    if Path::new("/var/run/postgresql").is_dir() {
        "/var/run/postgresql".into()
    } else {
        "localhost".into()
    }
}

/// A schema name: lower-case letters, digits and `_`, at most 63 bytes
/// (PostgreSQL cuts longer names, which could then collide).
pub fn check_identifier(name: &str) -> Result<(), SettingError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "schema `{name}` must be lower-case letters, digits and `_`, at most 63 bytes"
        )))
    }
}

/// The URL's query parameters this destination understands.
#[derive(Default)]
struct UrlParams {
    host: Option<String>,
    port: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    schema: Option<String>,
    application_name: Option<String>,
}

impl UrlParams {
    fn set(&mut self, key: &str, value: String) -> Result<(), SettingError> {
        let slot = match key {
            "host" => &mut self.host,
            "port" => &mut self.port,
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "schema" => &mut self.schema,
            "application_name" => &mut self.application_name,
            "password" => {
                return Err(bad(
                    "a password in the destination URL is refused; set PGPASSWORD or put it in ~/.pgpass".into(),
                ))
            }
            other => {
                return Err(bad(format!(
                    "destination parameter `{other}` is unknown (use host, port, sslmode, sslrootcert, schema or application_name)"
                )))
            }
        };
        *slot = Some(value);
        Ok(())
    }
}

/// The password file's answer for this connection: the first line whose
/// host, port, database and user match (`*` matches anything). Like
/// libpq, a file others may read is ignored, with a warning.
fn pgpass(info: &ConnInfo, env: &dyn Env) -> Option<String> {
    let path = env
        .get("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env.get("HOME").map(|h| Path::new(&h).join(".pgpass")))?;
    let text = std::fs::read_to_string(&path).ok()?;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).ok()?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            "password file {} is ignored: others may read it (chmod 0600 it)",
            path.display()
        );
        return None;
    }
    let host = if info.is_socket() {
        "localhost"
    } else {
        &info.host
    };
    let port = info.port.to_string();
    let wanted = [host, port.as_str(), &info.dbname, &info.user];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let fields = split_pgpass(line);
            if fields.len() != 5 {
                return None;
            }
            let matches = fields[..4]
                .iter()
                .zip(wanted)
                .all(|(f, w)| f == "*" || f == w);
            matches.then(|| fields[4].clone())
        })
}

/// A password file line's fields: `:` separates, `\` escapes.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct TestEnv(HashMap<&'static str, String>);
    impl Env for TestEnv {
        fn get(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
    }
    fn env(pairs: &[(&'static str, &str)]) -> TestEnv {
        TestEnv(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }

    #[test]
    fn the_url_comes_first_then_the_environment() {
        let e = env(&[
            ("PGHOST", "db.example"),
            ("PGPORT", "6543"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGPASSWORD", "s3cret"),
        ]);
        let a = ConnInfo::parse("//analyst@warehouse:5433/careers?schema=huntr_x", &e).unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.user.as_str(), a.dbname.as_str()),
            ("warehouse", 5433, "analyst", "careers")
        );
        assert_eq!(a.schema, "huntr_x");
        assert_eq!(a.password, Some(Secret("s3cret".into())));
        assert_eq!(a.sslmode, SslMode::Prefer);
        let b = ConnInfo::parse("//", &e).unwrap();
        assert_eq!(
            (b.host.as_str(), b.port, b.user.as_str(), b.dbname.as_str()),
            ("db.example", 6543, "envuser", "envdb")
        );
        assert_eq!(b.schema, "huntr");
        assert!(!format!("{b:?}").contains("s3cret"), "{b:?}");
        assert!(!b.describe().contains("s3cret"));
    }

    #[test]
    fn a_socket_directory_and_tls_settings_are_read_from_the_query() {
        let e = env(&[("PGSSLMODE", "require")]);
        let a = ConnInfo::parse("//u@localhost/db?host=%2Ftmp%2Fpg&port=5999", &e).unwrap();
        assert!(a.is_socket());
        assert_eq!((a.host.as_str(), a.port), ("/tmp/pg", 5999));
        assert_eq!(a.sslmode, SslMode::Require);
        let b = ConnInfo::parse("//u@h/db?sslmode=verify-full&sslrootcert=/ca.pem", &e).unwrap();
        assert_eq!(b.sslmode, SslMode::VerifyFull);
        assert_eq!(b.sslrootcert, Some(PathBuf::from("/ca.pem")));
    }

    #[test]
    fn passwords_in_the_url_bad_modes_and_unknown_parameters_are_refused() {
        let e = env(&[]);
        let err = ConnInfo::parse("//u:hunter2@h/db", &e).unwrap_err();
        assert!(err.message.contains("PGPASSWORD"), "{err}");
        assert!(!err.message.contains("hunter2"), "{err}");
        let err = ConnInfo::parse("//u@h/db?sslmode=maybe", &e).unwrap_err();
        assert!(err.message.contains("verify-full"), "{err}");
        let err = ConnInfo::parse("//u@h/db?foo=1", &e).unwrap_err();
        assert!(err.message.contains("`foo`"), "{err}");
        let err = ConnInfo::parse("//u@h/db?schema=Bad-Name", &e).unwrap_err();
        assert!(err.message.contains("schema"), "{err}");
    }

    #[test]
    fn the_password_file_matches_host_port_database_and_user() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:*:nope\nwarehouse:5432:careers:analyst:pa\\:ss\n*:*:*:*:fallback\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = env(&[("PGPASSFILE", file.to_str().unwrap())]);
        let a = ConnInfo::parse("//analyst@warehouse/careers", &e).unwrap();
        assert_eq!(a.password, Some(Secret("pa:ss".into())));
        let b = ConnInfo::parse("//x@elsewhere/y", &e).unwrap();
        assert_eq!(b.password, Some(Secret("fallback".into())));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let c = ConnInfo::parse("//analyst@warehouse/careers", &e).unwrap();
        assert_eq!(c.password, None, "a file others may read is ignored");
    }
}
