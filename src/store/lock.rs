//! One sync per destination: an exclusive OS file lock held for the run.
//!
//! The lock dies with the process (a SIGKILLed sync never leaves a stale
//! lock behind); the file's text names the holder for the error message.
//! It only sees runs on this machine that share the state directory: a
//! remote destination adds a hold of its own (`Destination::claim`), and
//! its refusals are told in the same words.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the destination: `holder` names it (its purpose,
    /// pid, host and start), `place` the lock or lease that says so.
    #[error("another huntr-sync is already syncing into this destination ({holder}; {place}); wait for it to finish, this run changed nothing")]
    Held { holder: String, place: String },
    #[error("cannot create lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The destination's own hold could not be read or written.
    #[error("cannot take hold of the destination: {0}")]
    Remote(String),
    /// The run lost its hold on the destination while it ran (another run
    /// took it over): it publishes nothing more.
    #[error("this run lost its hold on the destination ({0}); it published nothing, and its state keeps what it merged for its next run")]
    Lost(String),
}

/// Held for as long as the value lives.
#[derive(Debug)]
pub struct DestLock {
    _file: File,
}

impl DestLock {
    pub fn acquire(path: &Path) -> Result<DestLock, LockError> {
        DestLock::acquire_as(path, "")
    }

    /// Takes the lock, naming the holder's purpose (`what`, before its pid)
    /// for whoever finds it held.
    pub fn acquire_as(path: &Path, what: &str) -> Result<DestLock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    holder: if holder.is_empty() {
                        "holder unknown".into()
                    } else {
                        holder.to_owned()
                    },
                    place: format!("lock file {}", path.display()),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let text = holder(what, crate::timefmt::now_unix());
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(DestLock { _file: file })
    }
}

/// This machine's name, as holders are named.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".into())
}

/// How a lock or a lease names this process as its holder: its purpose
/// (`what`, before the pid), pid, host and start (unix seconds).
pub fn holder(what: &str, started: i64) -> String {
    format!(
        "{what}pid {} on {}, started {}",
        std::process::id(),
        host_name(),
        crate::timefmt::iso(started)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db.lock");
        let first = DestLock::acquire(&p).unwrap();
        let err = DestLock::acquire(&p).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        DestLock::acquire(&p).unwrap();
    }
}
