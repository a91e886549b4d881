//! The SQLite destination, the default: the state database *is* the
//! destination. Its tables are written in the same transactions as the
//! merge state, so a run has nothing left to publish, and BI tools read
//! the file while a run writes (WAL mode).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::runtime::Handle;

use crate::destination::{Destination, PublishError, Published, SettingError, Settings};
use crate::store::{RunId, Tables};

/// A SQLite file.
#[derive(Debug)]
pub struct SqliteDestination {
    path: PathBuf,
}

impl SqliteDestination {
    /// `sqlite:PATH` (it takes no settings).
    pub fn open(path: &str, _: &Settings) -> Result<Arc<dyn Destination>, SettingError> {
        Ok(Arc::new(SqliteDestination { path: path.into() }))
    }
}

impl Destination for SqliteDestination {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn state_db(&self) -> &Path {
        &self.path
    }

    fn publishes(&self) -> bool {
        false
    }

    fn publish(&self, _: &Tables<'_>, _: RunId, _: &Handle) -> Result<Published, PublishError> {
        Ok(Published::default())
    }
}
