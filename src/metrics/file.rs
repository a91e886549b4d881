//! Writing a metrics file the way node_exporter's textfile collector
//! needs it: the whole text to a temporary file beside it (a name the
//! collector skips), then a rename over the old one, so a scrape never
//! reads half a file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Why a metrics file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the metrics file {}: {error}; check that its directory exists and is writable (metrics_file, --metrics-file)", path.display())]
pub struct MetricsFileError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

/// Replaces `path` with `text` atomically.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), MetricsFileError> {
    let fail = |error| MetricsFileError {
        path: path.to_owned(),
        error,
    };
    let name = path
        .file_name()
        .ok_or_else(|| fail(std::io::Error::other("the path names no file")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_replaced_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huntr.prom");
        write_atomic(&path, "a 1\n").unwrap();
        write_atomic(&path, "a 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 2\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        let missing = dir.path().join("no/such/dir/huntr.prom");
        let err = write_atomic(&missing, "a 1\n").unwrap_err().to_string();
        assert!(err.contains("no/such/dir/huntr.prom"), "{err}");
    }
}
