//! The shape of `pipelines.toml` as written, and reading it. Every pipeline
//! in a file is checked when the file is read, not only the one used, so a
//! typo in a rarely run pipeline shows up on the next run of any.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, Overrides};
use crate::defaults;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub pipelines: BTreeMap<String, PipelineFile>,
}

/// One `[pipelines.NAME]` section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// `api` (default) or `sandbox` (the built-in demo organization).
    pub source: Option<String>,
    pub base_url: Option<String>,
    pub token_env: Option<String>,
    /// A file holding the token (instead of the environment variable).
    pub token_file: Option<PathBuf>,
    pub destination: Option<String>,
    pub resources: Option<Vec<String>>,
    pub limit: Option<u32>,
    /// A number, or `"auto"` (an adaptive rate).
    pub requests_per_second: Option<RateFile>,
    /// With `requests_per_second = "auto"`: the highest rate it may reach.
    pub max_requests_per_second: Option<f64>,
    pub burst: Option<u32>,
    /// Retries of one request before it counts as failed.
    pub retries: Option<u32>,
    pub lookback_minutes: Option<u32>,
    /// Parquet only: also write each run's changes to `DIR/_changes/`.
    pub export_changes: Option<bool>,
    /// The state database of a Parquet or Delta destination (default:
    /// inside a local directory; beside this file for a URL).
    pub state: Option<PathBuf>,
    /// An S3-compatible endpoint (MinIO, R2) for an `s3://` destination.
    pub endpoint: Option<String>,
    /// Delta only: days files no longer current are kept (time travel).
    pub retention_days: Option<u32>,
    /// The environment variable holding the webhook secret.
    pub webhook_secret_env: Option<String>,
    /// Prometheus text written after every sync and push.
    pub metrics_file: Option<PathBuf>,
    /// A URL posted `{"text": "..."}` when a run fails or recovers.
    pub notify_url: Option<String>,
    /// A command run with the run's JSON report on standard input.
    pub notify_command: Option<String>,
    /// `failure` (default) or `always`.
    pub notify_on: Option<String>,
    pub sandbox: Option<SandboxFile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxFile {
    pub seed: Option<u64>,
    pub scale: Option<u32>,
}

/// `requests_per_second` as written: a number, or a word (only `"auto"`
/// is valid; the check, which names the key, is in `resolve`).
#[derive(Debug, Clone, PartialEq)]
pub enum RateFile {
    Number(f64),
    Word(String),
}

impl<'de> Deserialize<'de> for RateFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RateFile, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = RateFile;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of requests per second or \"auto\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RateFile, E> {
                Ok(RateFile::Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RateFile, E> {
                Ok(RateFile::Number(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RateFile, E> {
                Ok(RateFile::Number(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RateFile, E> {
                Ok(RateFile::Word(v.to_owned()))
            }
        }
        d.deserialize_any(Visit)
    }
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::parse(&text, path)
    }

    /// Loads `path`, except that a missing [`defaults::CONFIG_FILE`] reads
    /// as an empty file when no pipeline is named: everything can then come
    /// from the command line.
    pub fn load_or_empty(path: &Path, pipeline: Option<&str>) -> Result<ConfigFile, ConfigError> {
        let default = path == Path::new(defaults::CONFIG_FILE);
        if path.exists() {
            Self::load(path)
        } else if !default {
            Err(ConfigError::Missing {
                path: path.to_owned(),
                hint: "check --config".into(),
            })
        } else if let Some(name) = pipeline {
            Err(ConfigError::Missing {
                path: path.to_owned(),
                hint: format!("--pipeline {name} is read from it; run huntr-sync in the directory that holds it, or pass --config FILE"),
            })
        } else {
            Ok(ConfigFile::default())
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        // Validate every pipeline now, not only the one used.
        for name in file.pipelines.keys() {
            file.resolve(Some(name), path, &Overrides::default(), false)?;
        }
        Ok(file)
    }
}

/// " in DIR" for a relative path (where it was looked for), else nothing.
pub(super) fn where_relative(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(dir) if path.is_relative() => format!(" in {}", dir.display()),
        _ => String::new(),
    }
}
