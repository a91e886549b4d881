//! One sync per destination: an exclusive OS file lock held for the run.
//!
//! The lock dies with the process (a SIGKILLed sync never leaves a stale
//! lock behind); the file's text names the holder for the error message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another huntr-sync is already syncing into this destination ({holder}; lock file {path}); wait for it to finish, this run changed nothing")]
    Held { holder: String, path: PathBuf },
    #[error("cannot create lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
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
                    path: path.to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "this host".into());
        let text = format!(
            "{what}pid {} on {host}, started {}",
            std::process::id(),
            crate::timefmt::iso(crate::timefmt::now_unix())
        );
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(DestLock { _file: file })
    }
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
