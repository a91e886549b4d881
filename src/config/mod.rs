//! `pipelines.toml`: named pipelines, validated before any request.
//!
//! Unknown keys and bad values are refused with the file and key named.
//! The token itself never lives here: only the name of the environment
//! variable (or file) that holds it; [`read_token`] reads it.
//!
//! - `file`: the file's shape and reading it;
//! - `monitoring`: metrics file and notification keys;
//! - `resolve`: one pipeline with defaults filled in and values checked;
//! - `token`: the token from its file or variable, and the token-file policy.

mod file;
mod monitoring;
mod resolve;
mod token;

use std::path::PathBuf;

use crate::destination::Target;
use crate::resources::Resource;

pub use file::{ConfigFile, PipelineFile, RateFile, SandboxFile};
pub use monitoring::{Monitoring, NotifyOn};
pub use token::{read_token, TokenError};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config file {} not found{}: {hint}", path.display(), file::where_relative(path))]
    Missing { path: PathBuf, hint: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: no pipeline named `{name}` (defined: {known}); add a [pipelines.{name}] section or pick one of those")]
    NoPipeline {
        path: PathBuf,
        name: String,
        known: String,
    },
    #[error("{0}")]
    Usage(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Api { base_url: String },
    Sandbox { seed: u64, scale: u32 },
}

/// A pipeline with every default filled in and every value checked.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub source: Source,
    pub token_env: String,
    pub token_file: Option<PathBuf>,
    /// Where to write, with its settings applied.
    pub destination: Target,
    pub resources: Vec<Resource>,
    pub limit: u32,
    /// The rate; with `max_requests_per_second`, where an adaptive rate starts.
    pub requests_per_second: f64,
    pub burst: u32,
    /// `Some(max)` for `requests_per_second = "auto"`: the rate adapts, up to `max`.
    pub max_requests_per_second: Option<f64>,
    pub retries: u32,
    pub lookback_minutes: u32,
    pub webhook_secret_env: String,
    /// Metrics file and notifications.
    pub monitoring: Monitoring,
}

impl Pipeline {
    /// The `pipeline` label of its metrics and the name its messages use.
    pub fn label(&self) -> &str {
        if self.name == resolve::COMMAND_LINE {
            crate::defaults::PIPELINE_LABEL
        } else {
            &self.name
        }
    }
}

/// Values given on the command line; they win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub base_url: Option<String>,
    pub destination: Option<String>,
    pub resources: Option<Vec<String>>,
    pub limit: Option<u32>,
    /// `--export-changes`.
    pub export_changes: bool,
    /// `--metrics-file`.
    pub metrics_file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults;
    use std::path::Path;

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(text, Path::new("pipelines.toml"))
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("[pipelines.a]\ndestination = \"sqlite:x.db\"\nrequests_per_secnd = 3\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pipelines.toml") && err.contains("requests_per_secnd"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_are_named() {
        let cases = [
            ("limit = 501", "pipelines.a.limit"),
            ("limit = 0", "pipelines.a.limit"),
            ("requests_per_second = 0", "requests_per_second"),
            ("resources = [\"jobs\", \"widgets\"]", "widgets"),
            ("destination = \"mysql:x\"", "pipelines.a.destination"),
            ("base_url = \"ftp://x\"", "base_url"),
            ("token_env = \"my token\"", "token_env"),
        ];
        for (line, expect) in cases {
            let err = parse(&format!("[pipelines.a]\n{line}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expect) && err.contains("pipelines.toml"),
                "{line}: {err}"
            );
        }
    }

    #[test]
    fn remote_state_sits_beside_the_config_unless_the_pipeline_says() {
        let path = Path::new("/etc/huntr/pipelines.toml");
        let file = ConfigFile::parse(
            "[pipelines.a]\ndestination = \"delta:s3://lake/huntr\"\n\
             [pipelines.b]\ndestination = \"parquet:s3://lake/pq\"\nstate = \"st/b.db\"\n\
             endpoint = \"http://127.0.0.1:9000\"\n\
             [pipelines.c]\ndestination = \"delta:out\"\nretention_days = 30\n",
            path,
        )
        .unwrap();
        let over = Overrides::default();
        let target = |name| {
            file.resolve(Some(name), path, &over, true)
                .unwrap()
                .destination
        };
        let a = target("a");
        assert_eq!(
            a.state_db(),
            Path::new("/etc/huntr/.huntr-sync/s3___lake_huntr/state.db")
        );
        assert!(a.is_remote());
        let b = target("b");
        assert_eq!(b.state_db(), Path::new("/etc/huntr/st/b.db"));
        assert_eq!(b.describe(), "s3://lake/pq (Parquet)");
        // Settings a destination keeps to itself show in its Debug form.
        assert!(format!("{b:?}").contains(r#"endpoint: Some("http://127.0.0.1:9000")"#));
        assert!(format!("{a:?}").contains("retention_days: 7"), "{a:?}");
        let c = target("c");
        assert_eq!(c.describe(), "out (Delta Lake)");
        assert_eq!(c.state_db(), Path::new("out/_huntr_sync/state.db"));
        assert!(format!("{c:?}").contains("retention_days: 30"), "{c:?}");
        for (line, expect) in [
            (
                "destination = \"sqlite:x.db\"\nstate = \"s.db\"",
                "pipelines.a.state",
            ),
            (
                "destination = \"parquet:d\"\nretention_days = 3",
                "only applies to delta",
            ),
            (
                "destination = \"delta:s3://b/p\"\nendpoint = \"minio:9000\"",
                "pipelines.a.endpoint",
            ),
            ("destination = \"delta:ftp://b/p\"", "unknown storage"),
        ] {
            let err = parse(&format!("[pipelines.a]\n{line}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expect), "{line}: {err}");
        }
    }

    #[test]
    fn auto_rate_starts_at_the_default_and_has_a_maximum() {
        let path = Path::new("pipelines.toml");
        let file = parse(
            "[pipelines.a]\nrequests_per_second = \"auto\"\n\
             [pipelines.b]\nrequests_per_second = \"auto\"\nmax_requests_per_second = 3\n\
             [pipelines.c]\nrequests_per_second = 7.5\n",
        )
        .unwrap();
        let over = Overrides::default();
        let a = file.resolve(Some("a"), path, &over, false).unwrap();
        assert_eq!(a.requests_per_second, defaults::REQUESTS_PER_SECOND);
        assert_eq!(
            a.max_requests_per_second,
            Some(defaults::AUTO_MAX_REQUESTS_PER_SECOND)
        );
        let b = file.resolve(Some("b"), path, &over, false).unwrap();
        assert_eq!(
            (b.requests_per_second, b.max_requests_per_second),
            (3.0, Some(3.0))
        );
        let c = file.resolve(Some("c"), path, &over, false).unwrap();
        assert_eq!(
            (c.requests_per_second, c.max_requests_per_second),
            (7.5, None)
        );
    }

    #[test]
    fn bad_rate_settings_are_named() {
        let cases = [
            (
                "requests_per_second = \"fast\"",
                "pipelines.a.requests_per_second: `fast`",
            ),
            (
                "max_requests_per_second = 9",
                "pipelines.a.max_requests_per_second: only used",
            ),
            (
                "requests_per_second = \"auto\"\nburst = 4",
                "pipelines.a.burst: not used",
            ),
            (
                "requests_per_second = \"auto\"\nmax_requests_per_second = 0.5",
                "pipelines.a.max_requests_per_second: 0.5",
            ),
            ("requests_per_second = true", "requests_per_second"),
        ];
        for (lines, expect) in cases {
            let err = parse(&format!("[pipelines.a]\n{lines}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expect) && err.contains("pipelines.toml"),
                "{lines}: {err}"
            );
        }
    }

    #[test]
    fn overrides_win_and_defaults_fill() {
        let file = parse("[pipelines.a]\ndestination = \"sqlite:a.db\"\nlimit = 100\n").unwrap();
        let over = Overrides {
            destination: Some("sqlite:b.db".into()),
            resources: Some(vec!["jobs".into(), "actions".into()]),
            ..Default::default()
        };
        let p = file
            .resolve(Some("a"), Path::new("pipelines.toml"), &over, true)
            .unwrap();
        assert_eq!(p.destination.state_db(), Path::new("b.db"));
        assert_eq!(p.resources, vec![Resource::Jobs, Resource::Actions]);
        assert_eq!(p.limit, 100);
        assert_eq!(p.token_env, "HUNTR_ORG_TOKEN");
        assert_eq!(
            p.source,
            Source::Api {
                base_url: defaults::BASE_URL.into()
            }
        );
        let err = file
            .resolve(Some("b"), Path::new("pipelines.toml"), &over, true)
            .unwrap_err();
        assert!(err.to_string().contains("no pipeline named `b`"));
    }

    #[test]
    fn a_missing_file_other_than_the_default_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        let err = ConfigFile::load_or_empty(&path, None).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!("config file {} not found: check --config", path.display())
        );
    }

    #[test]
    fn shipped_pipelines_file_is_valid() {
        let file = ConfigFile::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/pipelines.toml"
        )))
        .unwrap();
        let demo = file
            .resolve(
                Some("demo"),
                Path::new("pipelines.toml"),
                &Overrides::default(),
                true,
            )
            .unwrap();
        assert!(matches!(demo.source, Source::Sandbox { .. }));
        assert_eq!(demo.destination.describe(), "data/demo.db");
    }
}
