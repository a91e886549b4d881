//! `pipelines.toml`: named pipelines, validated before any request.
//!
//! Unknown keys and bad values are refused with the file and key named.
//! The token itself never lives here: only the name of the environment
//! variable (or file) that holds it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::defaults;
use crate::resources::Resource;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
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
    pub requests_per_second: Option<f64>,
    pub burst: Option<u32>,
    /// Retries of one request before it counts as failed.
    pub retries: Option<u32>,
    pub lookback_minutes: Option<u32>,
    /// Parquet only: also write each run's changes to `DIR/_changes/`.
    pub export_changes: Option<bool>,
    /// The environment variable holding the webhook secret.
    pub webhook_secret_env: Option<String>,
    pub sandbox: Option<SandboxFile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxFile {
    pub seed: Option<u64>,
    pub scale: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    Sqlite(PathBuf),
    Parquet(PathBuf),
}

impl Destination {
    pub fn parse(s: &str) -> Result<Destination, String> {
        let (kind, path) = s
            .split_once(':')
            .ok_or_else(|| format!("destination `{s}` must be sqlite:PATH or parquet:DIR"))?;
        if path.is_empty() {
            return Err(format!("destination `{s}` has no path"));
        }
        match kind {
            "sqlite" => Ok(Destination::Sqlite(path.into())),
            "parquet" => Ok(Destination::Parquet(path.into())),
            _ => Err(format!(
                "destination `{s}`: unknown kind `{kind}` (use sqlite:PATH or parquet:DIR)"
            )),
        }
    }
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
    pub destination: Destination,
    pub resources: Vec<Resource>,
    pub limit: u32,
    pub requests_per_second: f64,
    pub burst: u32,
    pub retries: u32,
    pub lookback_minutes: u32,
    pub export_changes: bool,
    pub webhook_secret_env: String,
}

/// Values given on the command line; they win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub base_url: Option<String>,
    pub destination: Option<String>,
    pub resources: Option<Vec<String>>,
    pub limit: Option<u32>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
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

    /// Builds the pipeline `name` (or one from overrides alone).
    /// `need_destination` is false while validating a file, where a
    /// pipeline may leave the destination to the command line.
    pub fn resolve(
        &self,
        name: Option<&str>,
        path: &Path,
        over: &Overrides,
        need_destination: bool,
    ) -> Result<Pipeline, ConfigError> {
        let empty = PipelineFile::default();
        let p = match name {
            Some(n) => self
                .pipelines
                .get(n)
                .ok_or_else(|| ConfigError::NoPipeline {
                    path: path.to_owned(),
                    name: n.to_owned(),
                    known: if self.pipelines.is_empty() {
                        "none".into()
                    } else {
                        self.pipelines
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                })?,
            None => &empty,
        };
        let pname = name.unwrap_or("command line");
        let bad = |key: &str, msg: String| ConfigError::Invalid {
            path: path.to_owned(),
            message: format!("pipelines.{pname}.{key}: {msg}"),
        };
        let source = match p.source.as_deref().unwrap_or("api") {
            "api" => {
                if p.sandbox.is_some() {
                    return Err(bad(
                        "sandbox",
                        "only allowed with source = \"sandbox\"".into(),
                    ));
                }
                let base_url = over
                    .base_url
                    .clone()
                    .or_else(|| p.base_url.clone())
                    .unwrap_or_else(|| defaults::BASE_URL.to_owned());
                if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                    return Err(bad(
                        "base_url",
                        format!("`{base_url}` is not an http(s) URL"),
                    ));
                }
                Source::Api { base_url }
            }
            "sandbox" => {
                if p.base_url.is_some() {
                    return Err(bad(
                        "base_url",
                        "not used with source = \"sandbox\" (the sandbox picks its own port)"
                            .into(),
                    ));
                }
                let sb = p.sandbox.clone().unwrap_or_default();
                let scale = sb.scale.unwrap_or(crate::sandbox::DEFAULT_SCALE);
                if scale == 0 {
                    return Err(bad("sandbox.scale", "must be at least 1".into()));
                }
                Source::Sandbox {
                    seed: sb.seed.unwrap_or(crate::sandbox::DEFAULT_SEED),
                    scale,
                }
            }
            other => {
                return Err(bad(
                    "source",
                    format!("`{other}` is not `api` or `sandbox`"),
                ))
            }
        };
        let env_name = |key: &str, given: &Option<String>, default: &str| {
            let name = given.clone().unwrap_or_else(|| default.to_owned());
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid {
                Ok(name)
            } else {
                Err(bad(
                    key,
                    format!("`{name}` is not an environment variable name"),
                ))
            }
        };
        let token_env = env_name("token_env", &p.token_env, defaults::TOKEN_ENV)?;
        let dest_text = over.destination.clone().or_else(|| p.destination.clone());
        let destination = match dest_text {
            Some(d) => Destination::parse(&d).map_err(|m| bad("destination", m))?,
            None if need_destination => {
                return Err(ConfigError::Usage(format!(
                    "no destination: give --destination sqlite:PATH (or set destination in pipelines.{pname})"
                )))
            }
            None => Destination::Sqlite(PathBuf::from("huntr.db")),
        };
        let names = over.resources.clone().or_else(|| p.resources.clone());
        let resources = match names {
            None => Resource::ALL.to_vec(),
            Some(list) => {
                let mut out = Vec::new();
                for n in list {
                    let r: Resource = n.parse().map_err(|m| bad("resources", m))?;
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
                if out.is_empty() {
                    return Err(bad("resources", "is empty".into()));
                }
                out
            }
        };
        let limit = over.limit.or(p.limit).unwrap_or(defaults::PAGE_LIMIT);
        if !(1..=defaults::MAX_PAGE_LIMIT).contains(&limit) {
            return Err(bad(
                "limit",
                format!("{limit} is out of range 1..={}", defaults::MAX_PAGE_LIMIT),
            ));
        }
        let rps = p
            .requests_per_second
            .unwrap_or(defaults::REQUESTS_PER_SECOND);
        if !(rps.is_finite() && rps > 0.0 && rps <= 10_000.0) {
            return Err(bad(
                "requests_per_second",
                format!("{rps} must be above 0 and at most 10000"),
            ));
        }
        let burst = p.burst.unwrap_or_else(|| defaults::burst(rps));
        if burst == 0 {
            return Err(bad("burst", "must be at least 1".into()));
        }
        if p.export_changes == Some(true) && !matches!(destination, Destination::Parquet(_)) {
            return Err(bad(
                "export_changes",
                "only applies to parquet:DIR destinations".into(),
            ));
        }
        let webhook_secret_env = env_name(
            "webhook_secret_env",
            &p.webhook_secret_env,
            defaults::WEBHOOK_SECRET_ENV,
        )?;
        let retries = p.retries.unwrap_or(defaults::RETRIES);
        if retries > 100 {
            return Err(bad("retries", format!("{retries} is more than 100")));
        }
        Ok(Pipeline {
            name: pname.to_owned(),
            source,
            token_env,
            token_file: p.token_file.clone(),
            destination,
            resources,
            limit,
            requests_per_second: rps,
            burst,
            retries,
            lookback_minutes: p.lookback_minutes.unwrap_or(defaults::LOOKBACK_MINUTES),
            export_changes: p.export_changes.unwrap_or(false),
            webhook_secret_env,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(p.destination, Destination::Sqlite("b.db".into()));
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
        assert_eq!(demo.destination, Destination::Sqlite("data/demo.db".into()));
    }
}
