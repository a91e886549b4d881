//! The run's transaction, and on a first load its early start.
//!
//! A first load creates every table, with its comments, before any row
//! goes in: a noticeable part of a small organization's run. While the
//! schema holds none of huntr-sync's tables, nobody can see what the run's
//! transaction creates until it commits, so the run begins that
//! transaction and creates the tables as soon as it holds the schema,
//! while it is still reading the API; its rows follow in the same
//! transaction. A run that dies before publishing leaves nothing (the
//! transaction never commits); a connection lost while the run reads is
//! replaced at publication by a fresh one. When the tables exist, the
//! transaction begins when the run publishes ahead (`ahead`), and only if
//! no column is missing; otherwise at publication, so that a release's
//! `ALTER TABLE` holds its lock for a moment, not for a whole run.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

use super::ahead::Ahead;
use super::connect::ConnInfo;
use super::ddl::{self, Ensured};
use super::{connect, PgError};
use crate::destination::Claim;
use crate::schema::SCHEMA;

/// A connection in the run's transaction, its tables brought up to date.
pub struct Begun {
    pub client: Client,
    pub ensured: Ensured,
    /// What was merged ahead of the run's end (`ahead`).
    pub ahead: Option<Ahead>,
}

impl std::fmt::Debug for Begun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Begun")
            .field("ensured", &self.ensured)
            .field("ahead", &self.ahead)
            .finish_non_exhaustive()
    }
}

/// The run's transaction being begun while the run reads: a first
/// load's, or one publishing ahead (`ahead`).
pub type Early = JoinHandle<Result<Option<Begun>, PgError>>;

/// Where the destination keeps a run's early transaction until the
/// publication (or the publication ahead) takes it.
pub type Slot = Arc<Mutex<Option<Early>>>;

/// The schema's hold, which also ends the early transaction of a run that
/// gives the schema up without publishing (the transaction rolls back
/// with its connection, so the next holder finds nothing of it).
pub struct Holding {
    pub hold: Box<dyn Claim>,
    pub early: Slot,
}

impl Holding {
    fn end_early(&self) {
        if let Some(early) = self.early.lock().expect("early").take() {
            early.abort();
        }
    }
}

impl Claim for Holding {
    fn lost(&self) -> Option<String> {
        self.hold.lost()
    }

    fn release(&self) -> BoxFuture<'_, ()> {
        self.end_early();
        self.hold.release()
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.end_early();
    }
}

/// Connects and begins the run's transaction.
pub async fn begin(info: &ConnInfo) -> Result<Begun, PgError> {
    let client = connect(info, "huntr-sync publishing").await?;
    begin_on(client, info).await
}

/// Begins the run's transaction now when the schema holds none of the
/// tables (answers `None` otherwise: the publication begins it).
pub fn start(info: ConnInfo) -> Early {
    tokio::spawn(async move {
        let client = connect(&info, "huntr-sync").await?;
        let names: Vec<&str> = SCHEMA.tables.iter().map(|t| t.name.as_str()).collect();
        let any: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = $1 AND c.relname = ANY($2))",
                &[&info.schema, &names],
            )
            .await
            .map_err(|e| PgError::sql(&info, e))?
            .get(0);
        if any {
            return Ok(None);
        }
        (client.batch_execute("SET application_name TO 'huntr-sync publishing'"))
            .await
            .map_err(|e| PgError::sql(&info, e))?;
        begin_on(client, &info).await.map(Some)
    })
}

/// What [`start`] began, when it did and its connection still stands.
pub async fn taken(early: Early) -> Option<Begun> {
    match early.await {
        Ok(Ok(Some(begun))) if !begun.client.is_closed() => Some(begun),
        Ok(Ok(_)) => None,
        Ok(Err(e)) => {
            tracing::info!("publishing before the run's end: {e} (all of it is published now)");
            None
        }
        Err(e) => {
            tracing::info!("publishing before the run's end: {e} (all of it is published now)");
            None
        }
    }
}

pub async fn begin_on(client: Client, info: &ConnInfo) -> Result<Begun, PgError> {
    let sql = |e| PgError::sql(info, e);
    client.batch_execute("BEGIN").await.map_err(sql)?;
    let ensured = ddl::ensure(&client, &info.schema).await.map_err(sql)?;
    if !ensured.added.is_empty() {
        let added = ensured.added.join(", ");
        tracing::info!("{}: columns added: {added}", info.describe());
    }
    Ok(Begun {
        client,
        ensured,
        ahead: None,
    })
}
