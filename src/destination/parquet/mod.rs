//! The Parquet destination: one Parquet file per table, for warehouses and
//! BI: `<table>/<table>.parquet` under a local directory or an object-store
//! URL (`parquet:s3://bucket/prefix`).
//!
//! After each run every table that changed is written whole into the
//! spool and moved into place by the object-store layer (a rename on local
//! disk, one upload to a bucket, which the store shows whole when it
//! completes): a reader gets the old table or the new one, never half.
//! A table whose publication was interrupted is published by the next run
//! (the store records which run each file reflects).
//!
//! The optional changes export (`changes`) writes, per run, only the rows
//! inserted, changed or deleted since the last export.

mod changes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::runtime::Handle;

use super::files::{self, dirty_tables, write_table, Files};
use super::{Claim, Destination, PublishError, Published, SettingError, Settings};
use crate::schema::SCHEMA;
use crate::store::{LockError, Rows, RunId, Tables};

pub use changes::MANIFEST;

/// Where a Parquet (or Delta) destination in a local directory keeps its
/// merge state.
pub fn state_db(dir: &Path) -> PathBuf {
    files::local_state_db(dir)
}

/// A table's file in a local Parquet directory.
pub fn table_file(dir: &Path, table: &str) -> PathBuf {
    dir.join(table).join(format!("{table}.parquet"))
}

/// Parquet files, in a directory or under a URL.
#[derive(Debug)]
pub struct ParquetDestination {
    files: Files,
    /// Also write each run's changes to `_changes/run=<id>/`.
    export_changes: bool,
}

impl ParquetDestination {
    pub fn open(place: &str, settings: &Settings) -> Result<Arc<dyn Destination>, SettingError> {
        Ok(Arc::new(ParquetDestination {
            files: Files::new(place, settings)?,
            export_changes: settings.export_changes,
        }))
    }
}

impl Destination for ParquetDestination {
    fn describe(&self) -> String {
        format!("{} (Parquet)", self.files.at.describe())
    }

    fn state_db(&self) -> &Path {
        &self.files.state
    }

    fn is_remote(&self) -> bool {
        self.files.at.is_remote()
    }

    fn claim<'a>(
        &'a self,
        what: &'a str,
    ) -> BoxFuture<'a, Result<Option<Box<dyn Claim>>, LockError>> {
        self.files.claim(what)
    }

    fn outcome_place(&self) -> Option<crate::outcomes::Place> {
        Some(self.files.outcome_place())
    }

    fn check_writable(&self) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async { Ok(self.files.check_writable().await?) })
    }

    /// The highest run among the changes exports.
    fn highest_run_id(&self) -> BoxFuture<'_, Result<Option<RunId>, PublishError>> {
        Box::pin(async {
            let runs = self.files.bucket()?.dirs("_changes").await?;
            Ok(runs
                .iter()
                .filter_map(|d| d.strip_prefix("run=")?.parse().ok())
                .max())
        })
    }

    fn publish(
        &self,
        tables: &Tables<'_>,
        run_id: RunId,
        rt: &Handle,
    ) -> Result<Published, PublishError> {
        let bucket = self.files.bucket()?;
        let spool = self.files.spool()?;
        files::clear_spool(&spool)?;
        let present = rt.block_on(bucket.dirs(""))?;
        let dirty = dirty_tables(tables, |name| present.iter().any(|p| p == name))?;
        tables.prepare_for_scans()?;
        for name in &dirty {
            let t = SCHEMA.get(name).expect("schema table");
            let file = spool.join(format!("{name}.parquet"));
            let rows = write_table(tables, t, Rows::All, &file)?;
            crate::memory::release_free_memory();
            rt.block_on(bucket.publish_file(&file, &format!("{name}/{name}.parquet")))?;
            tables.mark_published(name, run_id, rows)?;
        }
        let changes_exported = if self.export_changes {
            changes::export(rt, &bucket, &spool, tables, run_id)?
        } else {
            0
        };
        Ok(Published {
            tables: dirty,
            changes_exported,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::destination::Target;

    #[test]
    fn a_change_committed_by_a_run_that_never_published_is_published_next() {
        use crate::flatten::record;
        use crate::rows::{Mode, Op};
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = Target::parquet(dir.path());
        let mut dest = target.open_store().unwrap();
        let publish = |dest: &crate::store::Store, run| {
            target
                .publish(&dest.tables(), run, rt.handle())
                .unwrap()
                .tables
        };
        let employer = |name: &str, as_of| {
            let v = serde_json::json!({"id": "e1", "name": name});
            Op::Upsert(record(
                crate::schema::tables::employers::TABLE,
                crate::json::Node::from_value(&v).as_object().unwrap(),
                Mode::Full,
                as_of,
            ))
        };
        let run1 = dest.begin_run(0, "employers").unwrap();
        dest.apply(&[employer("Acme", 10)], run1, None).unwrap();
        assert!(publish(&dest, run1).contains(&"employers".to_owned()));
        let run2 = dest.begin_run(0, "employers").unwrap();
        assert!(publish(&dest, run2).is_empty());
        // Run 3 commits a change and dies before publishing...
        let run3 = dest.begin_run(0, "employers").unwrap();
        dest.apply(&[employer("Acme Inc", 20)], run3, None).unwrap();
        // ...so run 4, which changes nothing, publishes it.
        let run4 = dest.begin_run(0, "employers").unwrap();
        assert_eq!(publish(&dest, run4), vec!["employers"]);
        assert!(publish(&dest, run4 + 1).is_empty());
    }
}
