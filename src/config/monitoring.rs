//! The keys that say how a pipeline's runs are watched: `metrics_file`
//! (or `--metrics-file`), `notify_url`, `notify_command` and `notify_on`.

use std::path::PathBuf;

use super::{ConfigError, Overrides, PipelineFile};

/// When a notification is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NotifyOn {
    /// On a failed run, and on the first complete run after a failure.
    #[default]
    Failure,
    /// After every run.
    Always,
}

/// How a pipeline's runs are watched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Monitoring {
    /// Prometheus text written after every sync and push.
    pub metrics_file: Option<PathBuf>,
    /// Posted `{"text": "..."}`.
    pub notify_url: Option<String>,
    /// Run by `sh -c`, with the run's JSON report on standard input.
    pub notify_command: Option<String>,
    pub notify_on: NotifyOn,
}

impl Monitoring {
    /// Whether any notification is configured.
    pub fn notifies(&self) -> bool {
        self.notify_url.is_some() || self.notify_command.is_some()
    }
}

/// The pipeline's monitoring keys, checked; `bad` names the key refused.
pub(super) fn monitoring(
    p: &PipelineFile,
    over: &Overrides,
    bad: impl Fn(&str, String) -> ConfigError,
) -> Result<Monitoring, ConfigError> {
    let metrics_file = over.metrics_file.clone().or_else(|| p.metrics_file.clone());
    if metrics_file
        .as_ref()
        .is_some_and(|f| f.file_name().is_none())
    {
        return Err(bad("metrics_file", "must name a file".into()));
    }
    if let Some(url) = &p.notify_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad("notify_url", format!("`{url}` is not an http(s) URL")));
        }
    }
    if p.notify_command
        .as_ref()
        .is_some_and(|c| c.trim().is_empty())
    {
        return Err(bad("notify_command", "is empty".into()));
    }
    let notify_on = match p.notify_on.as_deref() {
        None | Some("failure") => NotifyOn::Failure,
        Some("always") => NotifyOn::Always,
        Some(other) => {
            return Err(bad(
                "notify_on",
                format!("`{other}` is not `failure` or `always`"),
            ))
        }
    };
    Ok(Monitoring {
        metrics_file,
        notify_url: p.notify_url.clone(),
        notify_command: p.notify_command.clone(),
        notify_on,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::ConfigFile;
    use std::path::Path;

    #[test]
    fn monitoring_keys_are_read_and_checked() {
        let path = Path::new("pipelines.toml");
        let text =
            "[pipelines.a]\ndestination = \"sqlite:a.db\"\nmetrics_file = \"m/huntr.prom\"\n\
                    notify_url = \"https://hooks.example/x\"\nnotify_on = \"always\"\n";
        let file = ConfigFile::parse(text, path).unwrap();
        let p = file
            .resolve(Some("a"), path, &Default::default(), true)
            .unwrap();
        assert_eq!(
            p.monitoring.metrics_file.as_deref(),
            Some(Path::new("m/huntr.prom"))
        );
        assert_eq!(p.monitoring.notify_on, super::NotifyOn::Always);
        assert!(p.monitoring.notifies());
        for (line, key) in [
            ("notify_url = \"ftp://x\"", "pipelines.a.notify_url"),
            ("notify_on = \"sometimes\"", "pipelines.a.notify_on"),
            ("notify_command = \" \"", "pipelines.a.notify_command"),
        ] {
            let err = ConfigFile::parse(&format!("[pipelines.a]\n{line}\n"), path)
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{line}: {err}");
        }
    }
}
