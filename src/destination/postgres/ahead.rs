//! Publishing ahead: most of a run's publication done while the run still
//! reads.
//!
//! A run spends its last phase reading the jobs again (change capture)
//! and the changed candidates, and by then the actions and activities its
//! windows read are in the state and will not change. So, once the
//! listings and windows are read, the run's transaction merges those
//! tables while the jobs are still being read (it begins then, or, on a
//! first load, it began when the run took the schema and copies the rows
//! straight in, building their indexes after); the publication at the
//! run's end does the rest in the same transaction and commits. The sync
//! names what to leave to the end (`later`): the jobs and candidates, and
//! the listings, whose removals are recorded at the run's end, so that a
//! run counts each row's change once. Nothing is visible before the
//! commit, and a run that dies leaves nothing, as before.
//!
//! What happens after the tables are merged ahead is found by the state's
//! change marks ([`Marks`]): the marks read when the writer had committed
//! everything, against the marks at the end. A family (a table and its
//! children) that moved in between is merged again, in full for the run,
//! which the merge makes harmless: rows already there are left alone (a
//! table copied straight in ahead is merged like any other the second
//! time). That is a safety net: a row written by both merges would be
//! counted twice in `_huntr_sync_run_tables`, though its value is right.
//!
//! Into tables that exist it runs only when none lacks a column: a
//! release that adds columns alters its tables only at the end, so that
//! its lock, which readers wait for, is held for a moment.

use std::path::PathBuf;

use tokio::runtime::Handle;

use super::connect::ConnInfo;
use super::early::{self, Begun, Early};
use super::publish::{since, PgCounts, Publication};
use super::{connect, ddl, PgError};
use crate::kill_points;
use crate::schema::{Table, TableId, SCHEMA};
use crate::store::{Marks, RunId, Store};

/// What was merged ahead, in the run's transaction.
#[derive(Debug)]
pub struct Ahead {
    /// The run after which rows were merged (`None`: all of them).
    pub since: Option<RunId>,
    /// The state's marks the merge was read after.
    pub marks: Marks,
    /// The families (by their first table) merged.
    pub roots: Vec<TableId>,
    /// What each table's merge changed.
    pub counts: Vec<PgCounts>,
}

impl Ahead {
    /// Whether `t`'s family was merged ahead and none of it changed
    /// since, as `now` tells.
    pub fn covers(&self, t: &Table, now: &Marks) -> bool {
        let root = root(t);
        self.roots.contains(&root)
            && (SCHEMA.tables.iter())
                .filter(|m| self::root(m) == root)
                .all(|m| !now.moved_since(&self.marks, SCHEMA.id(&m.name)))
    }
}

/// The first table of `t`'s family: `t`, or its parent's.
pub fn root(t: &Table) -> TableId {
    match &t.parent {
        Some((parent, _)) => root(SCHEMA.get(parent).expect("parent table")),
        None => SCHEMA.id(&t.name),
    }
}

/// Begins the run's transaction and merges ahead, in the background, the
/// tables the state holds except the families of `later`; answers what
/// `publish` takes over. It takes over `early`: a first load's
/// transaction, begun when the run took the schema, which copies ahead.
pub fn start(
    info: ConnInfo,
    state: PathBuf,
    marks: Marks,
    later: Vec<TableId>,
    early: Option<Early>,
    rt: &Handle,
) -> Early {
    let handle = rt.clone();
    rt.spawn_blocking(move || {
        let begun = match early.and_then(|e| handle.block_on(early::taken(e))) {
            Some(begun) => begun,
            None => match handle.block_on(begin(&info))? {
                Some(begun) => begun,
                None => return Ok(None),
            },
        };
        merge_ahead(&info, &state, begun, marks, &later, &handle).map(Some)
    })
}

/// The run's transaction, when every table is there to merge into.
async fn begin(info: &ConnInfo) -> Result<Option<Begun>, PgError> {
    let client = connect(info, "huntr-sync publishing").await?;
    let ready = ddl::up_to_date(&client, &info.schema)
        .await
        .map_err(|e| PgError::sql(info, e))?;
    if !ready {
        return Ok(None);
    }
    early::begin_on(client, info).await.map(Some)
}

fn merge_ahead(
    info: &ConnInfo,
    state: &std::path::Path,
    mut begun: Begun,
    marks: Marks,
    later: &[TableId],
    rt: &Handle,
) -> Result<Begun, PgError> {
    let store = Store::open_read(state)?;
    let tables = store.tables();
    let since = since(&begun.client, info, &tables, rt)?;
    tables.prepare_for_scans()?;
    let ensured = std::mem::take(&mut begun.ensured);
    let mut p = Publication::new(info, &begun.client, &tables, rt, ensured, since);
    let roots: Vec<TableId> = (SCHEMA.tables.iter())
        .filter(|t| t.parent.is_none())
        .map(|t| SCHEMA.id(&t.name))
        .filter(|id| !later.contains(id))
        .collect();
    let mut counts = Vec::new();
    for t in SCHEMA.tables.iter().filter(|t| roots.contains(&root(t))) {
        kill_points::point("postgres:table");
        if let Some(n) = p.table(t)? {
            counts.push(n);
        }
    }
    begun.ensured = p.finish_ahead()?;
    tracing::debug!("published {} tables ahead", counts.len());
    begun.ahead = Some(Ahead {
        since,
        marks,
        roots,
        counts,
    });
    Ok(begun)
}
