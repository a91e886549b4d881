//! One writer per schema: a run holds a session-level advisory lock,
//! keyed by the database and schema, on a connection of its own for as
//! long as it runs. Runs on other machines (with other state databases)
//! find it held and are refused or wait; a run that dies loses its
//! connection, and the server lets the lock go at once. The holder is
//! named through the connection's `application_name`.

use futures_util::future::BoxFuture;
use tokio_postgres::Client;

use super::connect::ConnInfo;
use super::{connect, PgError};
use crate::destination::Claim;
use crate::store::lock::host_name;
use crate::store::LockError;

/// The lock's key: a stable 64-bit hash (FNV-1a) of the database and
/// schema.
pub fn key(info: &ConnInfo) -> i64 {
    let text = format!("huntr-sync\0{}\0{}", info.dbname, info.schema);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

fn remote(e: PgError) -> LockError {
    LockError::Remote(e.to_string())
}

/// Takes the lock for a run whose purpose is `what`.
pub async fn take(info: &ConnInfo, what: &str) -> Result<Box<dyn Claim>, LockError> {
    // PostgreSQL keeps 63 bytes of an application name: the purpose, pid
    // and host fit; the start is what the server shows as the session's.
    let mut name = format!(
        "huntr-sync: {what}pid {} on {}",
        std::process::id(),
        host_name()
    );
    while name.len() > 63 {
        name.pop();
    }
    let client = connect(info, &name).await.map_err(remote)?;
    let key = key(info);
    let sql = |e| remote(PgError::sql(info, e));
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1::int8)", &[&key])
        .await
        .map_err(sql)?
        .get(0);
    if got {
        return Ok(Box::new(Advisory {
            client,
            key,
            place: place(info),
        }));
    }
    let found = client
        .query_opt(
            "SELECT a.application_name || ', since ' || to_char(a.backend_start AT TIME ZONE 'UTC',
                    'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND l.classid::bigint = ($1::int8 >> 32) & 4294967295
               AND l.objid::bigint = $1::int8 & 4294967295",
            &[&key],
        )
        .await
        .map_err(sql)?;
    let holder = found
        .map(|r| r.get::<_, String>(0))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "another session".into());
    Err(LockError::Held {
        holder,
        place: place(info),
    })
}

fn place(info: &ConnInfo) -> String {
    format!(
        "advisory lock of schema {} on {}",
        info.schema,
        info.server()
    )
}

/// A held advisory lock.
struct Advisory {
    client: Client,
    key: i64,
    place: String,
}

impl Claim for Advisory {
    fn lost(&self) -> Option<String> {
        self.client
            .is_closed()
            .then(|| format!("the connection holding the {} closed", self.place))
    }

    fn release(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self
                .client
                .execute("SELECT pg_advisory_unlock($1::int8)", &[&self.key])
                .await
            {
                tracing::debug!(
                    "releasing the {}: {e} (it ends with the connection)",
                    self.place
                );
            }
        })
    }
}
