//! The PostgreSQL destination: the database BI tools connect to.
//!
//! Like the destinations made of files, it keeps its merge state in a
//! local state database (beside the config file, or where `state` says);
//! what it adds is how a run reaches the server. Each run publishes, in
//! one transaction, only the rows that changed since the last run the
//! database shows (`publish`), through binary `COPY` (`copy`) into tables
//! created once and then only altered in place (`ddl`). One run at a time
//! writes a schema, whatever machine it runs on: it holds an advisory
//! lock (`hold`). Connection settings follow libpq's (`connect`), TLS goes
//! through rustls (`tls`). The outcome views are kept current in the same
//! transaction (`views`). A sync merges there the tables it has read
//! (a first load copies them in) while it reads the jobs again (`ahead`);
//! a first load begins that transaction as soon as it holds the schema
//! (`early`), a nightly sync only then. Each table's merge is `merge`.

mod ahead;
mod connect;
mod copy;
#[cfg(test)]
mod copy_compare;
mod ddl;
mod early;
mod hold;
mod merge;
mod publish;
mod tls;
mod views;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::runtime::Handle;
use tokio_postgres::{Client, NoTls};

use super::{Claim, Destination, PublishError, Published, SettingError, Settings};
use crate::schema::TableId;
use crate::store::{LockError, Marks, RunId, StoreError, Tables};
pub use connect::ConnInfo;
use connect::{ProcessEnv, SslMode};
pub use ddl::{RUNS, RUN_TABLES};

/// Why talking to the server failed: one line naming the server, the
/// database and the cause.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot connect to {server}: {cause}")]
    Connect { server: String, cause: String },
    #[error("{server}: {cause}")]
    Sql { server: String, cause: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PgError {
    fn connect(info: &ConnInfo, cause: String) -> PgError {
        PgError::Connect {
            server: info.server(),
            cause,
        }
    }

    fn sql(info: &ConnInfo, e: tokio_postgres::Error) -> PgError {
        PgError::Sql {
            server: info.server(),
            cause: cause(&e),
        }
    }
}

impl From<PgError> for PublishError {
    fn from(e: PgError) -> Self {
        PublishError::new(e)
    }
}

/// The server's own message when it sent one, else the driver's error
/// and its causes, on one line.
fn cause(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let line = s.to_string();
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        source = s.source();
    }
    text
}

/// Opens a connection (its driver task runs on the current runtime).
async fn connect(info: &ConnInfo, application_name: &str) -> Result<Client, PgError> {
    let config = info.config(application_name);
    let failed = |e: tokio_postgres::Error| PgError::connect(info, cause(&e));
    let client = if info.sslmode == SslMode::Disable || info.is_socket() {
        let (client, conn) = config.connect(NoTls).await.map_err(failed)?;
        tokio::spawn(conn);
        client
    } else {
        let tls = tls::connector(info).map_err(|m| PgError::connect(info, m))?;
        let (client, conn) = config.connect(tls).await.map_err(failed)?;
        tokio::spawn(conn);
        client
    };
    Ok(client)
}

/// A schema of a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresDestination {
    info: ConnInfo,
    state: PathBuf,
    /// A first load's transaction, begun when the run took the schema.
    early: early::Slot,
}

impl PostgresDestination {
    /// `postgres://USER@HOST:PORT/DATABASE?schema=huntr` (the text after
    /// `postgres:`), with the environment's settings and the pipeline's
    /// `state`.
    pub fn open(place: &str, settings: &Settings) -> Result<Arc<dyn Destination>, SettingError> {
        let info = ConnInfo::parse(place, &ProcessEnv)?;
        let state = match &settings.state {
            Some(state) => settings.base.join(state),
            None => settings.base.join(default_state(&info)),
        };
        Ok(Arc::new(PostgresDestination {
            info,
            state,
            early: early::Slot::default(),
        }))
    }
}

/// `.huntr-sync/postgres_HOST_PORT_DB_SCHEMA/state.db`, relative to the
/// config file's directory.
fn default_state(info: &ConnInfo) -> PathBuf {
    super::state_beside_config(&format!(
        "postgres_{}_{}_{}_{}",
        info.host, info.port, info.dbname, info.schema
    ))
}

impl Destination for PostgresDestination {
    fn describe(&self) -> String {
        self.info.describe()
    }

    fn state_db(&self) -> &Path {
        &self.state
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn outcome_place(&self) -> Option<crate::outcomes::Place> {
        Some(crate::outcomes::Place::Schema(self.info.schema.clone()))
    }

    fn claim<'a>(
        &'a self,
        what: &'a str,
    ) -> BoxFuture<'a, Result<Option<Box<dyn Claim>>, LockError>> {
        Box::pin(async move {
            let hold = hold::take(&self.info, what).await?;
            // A receiver's publications find the tables there.
            if what == crate::lifecycle::PUBLISHING {
                return Ok(Some(hold));
            }
            let began = early::start(self.info.clone());
            if let Some(old) = self.early.lock().expect("early").replace(began) {
                old.abort();
            }
            let early = self.early.clone();
            Ok(Some(
                Box::new(early::Holding { hold, early }) as Box<dyn Claim>
            ))
        })
    }

    fn check_writable(&self) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async move { Ok(check_writable(&self.info).await?) })
    }

    fn highest_run_id(&self) -> BoxFuture<'_, Result<Option<RunId>, PublishError>> {
        Box::pin(async move {
            let info = &self.info;
            let client = connect(info, "huntr-sync").await?;
            let q = format!(
                "SELECT max(run_id) FROM {}.{}",
                ddl::quote(&info.schema),
                ddl::quote(RUNS)
            );
            let exists: bool = client
                .query_one(
                    "SELECT to_regclass($1) IS NOT NULL",
                    &[&format!(
                        "{}.{}",
                        ddl::quote(&info.schema),
                        ddl::quote(RUNS)
                    )],
                )
                .await
                .map_err(|e| PgError::sql(info, e))?
                .get(0);
            if !exists {
                return Ok(None);
            }
            let row = client
                .query_one(&q, &[])
                .await
                .map_err(|e| PgError::sql(info, e))?;
            Ok(row.get::<_, Option<i64>>(0))
        })
    }

    fn publishes_ahead(&self) -> bool {
        true
    }

    fn publish_ahead(&self, _run_id: RunId, marks: Marks, later: Vec<TableId>, rt: &Handle) {
        let mut slot = self.early.lock().expect("early");
        let early = slot.take();
        let state = self.state.clone();
        *slot = Some(ahead::start(
            self.info.clone(),
            state,
            marks,
            later,
            early,
            rt,
        ));
    }

    fn publish_every(&self) -> Duration {
        crate::defaults::POSTGRES_PUBLISH_EVERY
    }

    fn publish(
        &self,
        tables: &Tables<'_>,
        run_id: RunId,
        rt: &Handle,
    ) -> Result<Published, PublishError> {
        let early = self.early.lock().expect("early").take();
        Ok(publish::publish(&self.info, tables, run_id, rt, early)?)
    }
}

/// Before a run reads anything: the server answers, the database exists,
/// the credentials are accepted, and the role may create the schema or
/// its tables and write the tables that exist. Writes nothing.
async fn check_writable(info: &ConnInfo) -> Result<(), PgError> {
    let client = connect(info, "huntr-sync check").await?;
    let sql = |e| PgError::sql(info, e);
    let row = client
        .query_one(
            "SELECT n.oid IS NOT NULL,
                    CASE WHEN n.oid IS NULL THEN has_database_privilege(current_database(), 'CREATE')
                         ELSE has_schema_privilege(n.oid, 'CREATE') AND has_schema_privilege(n.oid, 'USAGE') END,
                    has_database_privilege(current_database(), 'TEMPORARY')
             FROM (SELECT 1) one LEFT JOIN pg_namespace n ON n.nspname = $1",
            &[&info.schema],
        )
        .await
        .map_err(sql)?;
    let (exists, create, temp): (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
    let refuse = |cause: String| PgError::Sql {
        server: info.server(),
        cause,
    };
    if !create {
        return Err(refuse(if exists {
            format!("role {} may not create tables in schema {} (GRANT CREATE, USAGE ON SCHEMA {} TO {})", info.user, info.schema, info.schema, info.user)
        } else {
            format!("schema {} does not exist and role {} may not create it (create it, or GRANT CREATE ON DATABASE {} TO {})", info.schema, info.user, info.dbname, info.user)
        }));
    }
    if !temp {
        return Err(refuse(format!(
            "role {} may not create temporary tables (GRANT TEMPORARY ON DATABASE {} TO {})",
            info.user, info.dbname, info.user
        )));
    }
    // has_table_privilege with a list answers whether *any* is held: ask
    // each. A release that adds a column alters the table, which only its
    // owner (or a member of the owning role) may do.
    let denied: Option<(String, bool)> = client
        .query_opt(
            "SELECT relname, writes FROM (
               SELECT c.relname::text AS relname,
                      has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT')
                        AND has_table_privilege(c.oid, 'UPDATE')
                        AND has_table_privilege(c.oid, 'DELETE') AS writes,
                      pg_has_role(c.relowner, 'USAGE') AS owns
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = $1 AND c.relkind = 'r') t
             WHERE NOT (writes AND owns)
             ORDER BY writes, relname LIMIT 1",
            &[&info.schema],
        )
        .await
        .map_err(sql)?
        .map(|r| (r.get(0), r.get(1)));
    match denied {
        Some((table, false)) => Err(refuse(format!(
            "role {} may not write table {}.{table} (GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {})",
            info.user, info.schema, info.schema, info.user
        ))),
        Some((table, true)) => Err(refuse(format!(
            "role {} does not own table {}.{table}, so it cannot add the columns a release brings (ALTER TABLE {}.{table} OWNER TO {}, or GRANT its owner role to {})",
            info.user, info.schema, info.schema, info.user, info.user
        ))),
        None => Ok(()),
    }
}
