//! From a `[pipelines.NAME]` section and the command line's overrides to a
//! [`Pipeline`]: defaults filled in from [`crate::defaults`], every value
//! checked, and a refusal that names the file and the key.

use std::path::Path;

use super::{ConfigError, ConfigFile, Overrides, Pipeline, PipelineFile, RateFile, Source};
use crate::defaults;
use crate::destination::{forms, Settings, Target};
use crate::resources::Resource;

/// The most retries of one request a config may ask for.
const MAX_RETRIES: u32 = 100;
/// The highest rate a config may ask for, in requests per second.
const MAX_REQUESTS_PER_SECOND: f64 = 10_000.0;
/// Stands in while validating a file whose pipeline leaves the destination
/// to the command line; never written.
const PLACEHOLDER_DB: &str = "huntr.db";
/// The name of the pipeline built from the command line alone.
pub(super) const COMMAND_LINE: &str = "command line";

impl ConfigFile {
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
            Some(n) => self.section(n, path)?,
            None => &empty,
        };
        let at = Section {
            path,
            name: name.unwrap_or(COMMAND_LINE),
        };
        let source = at.source(p, over)?;
        let token_env = at.env_name("token_env", &p.token_env, defaults::TOKEN_ENV)?;
        let destination = at.destination(p, over, need_destination)?;
        let resources = at.resources(p, over)?;
        let limit = at.limit(p, over)?;
        let (requests_per_second, burst, max_requests_per_second) = at.rate(p)?;
        let webhook_secret_env = at.env_name(
            "webhook_secret_env",
            &p.webhook_secret_env,
            defaults::WEBHOOK_SECRET_ENV,
        )?;
        Ok(Pipeline {
            name: at.name.to_owned(),
            source,
            token_env,
            token_file: p.token_file.clone(),
            destination,
            resources,
            limit,
            requests_per_second,
            burst,
            max_requests_per_second,
            retries: at.retries(p)?,
            lookback_minutes: p.lookback_minutes.unwrap_or(defaults::LOOKBACK_MINUTES),
            webhook_secret_env,
            monitoring: super::monitoring::monitoring(p, over, |k, m| at.bad(k, m))?,
        })
    }

    /// The section `[pipelines.NAME]`; the refusal lists those defined.
    fn section(&self, name: &str, path: &Path) -> Result<&PipelineFile, ConfigError> {
        self.pipelines
            .get(name)
            .ok_or_else(|| ConfigError::NoPipeline {
                path: path.to_owned(),
                name: name.to_owned(),
                known: if self.pipelines.is_empty() {
                    "none".into()
                } else {
                    self.pipelines
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })
    }
}

/// The pipeline being resolved: what a refusal names.
struct Section<'a> {
    path: &'a Path,
    name: &'a str,
}

impl Section<'_> {
    fn bad(&self, key: &str, msg: String) -> ConfigError {
        if self.name == COMMAND_LINE {
            // Only flags make this pipeline: name the flag.
            return ConfigError::Usage(format!("--{}: {msg}", key.replace('_', "-")));
        }
        ConfigError::Invalid {
            path: self.path.to_owned(),
            message: format!("pipelines.{}.{key}: {msg}", self.name),
        }
    }

    fn source(&self, p: &PipelineFile, over: &Overrides) -> Result<Source, ConfigError> {
        match p.source.as_deref().unwrap_or("api") {
            "api" => self.api_source(p, over),
            "sandbox" => self.sandbox_source(p),
            other => Err(self.bad("source", format!("`{other}` is not `api` or `sandbox`"))),
        }
    }

    fn api_source(&self, p: &PipelineFile, over: &Overrides) -> Result<Source, ConfigError> {
        if p.sandbox.is_some() {
            return Err(self.bad("sandbox", "only allowed with source = \"sandbox\"".into()));
        }
        let base_url = over
            .base_url
            .clone()
            .or_else(|| p.base_url.clone())
            .unwrap_or_else(|| defaults::BASE_URL.to_owned());
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(self.bad("base_url", format!("`{base_url}` is not an http(s) URL")));
        }
        Ok(Source::Api { base_url })
    }

    fn sandbox_source(&self, p: &PipelineFile) -> Result<Source, ConfigError> {
        if p.base_url.is_some() {
            return Err(self.bad(
                "base_url",
                "not used with source = \"sandbox\" (the sandbox picks its own port)".into(),
            ));
        }
        let sb = p.sandbox.clone().unwrap_or_default();
        let scale = sb.scale.unwrap_or(crate::sandbox::DEFAULT_SCALE);
        if scale == 0 {
            return Err(self.bad("sandbox.scale", "must be at least 1".into()));
        }
        Ok(Source::Sandbox {
            seed: sb.seed.unwrap_or(crate::sandbox::DEFAULT_SEED),
            scale,
        })
    }

    /// The name of an environment variable: `given`, else `default`.
    fn env_name(
        &self,
        key: &str,
        given: &Option<String>,
        default: &str,
    ) -> Result<String, ConfigError> {
        let name = given.clone().unwrap_or_else(|| default.to_owned());
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Ok(name)
        } else {
            Err(self.bad(key, format!("`{name}` is not an environment variable name")))
        }
    }

    /// The destination with the settings the pipeline (or the command
    /// line) gives it; the registry refuses a setting the destination does
    /// not take.
    fn destination(
        &self,
        p: &PipelineFile,
        over: &Overrides,
        need_destination: bool,
    ) -> Result<Target, ConfigError> {
        let spec = match over.destination.clone().or_else(|| p.destination.clone()) {
            Some(d) => d,
            None if need_destination => return Err(ConfigError::Usage(self.no_destination())),
            None => format!("sqlite:{PLACEHOLDER_DB}"),
        };
        if let Some(e) = &p.endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(self.bad(
                    "endpoint",
                    format!("`{e}` is not an http:// or https:// URL"),
                ));
            }
        }
        let settings = Settings {
            base: self.path.parent().unwrap_or(Path::new("")).to_owned(),
            state: p.state.clone(),
            endpoint: p.endpoint.clone(),
            export_changes: p.export_changes == Some(true) || over.export_changes,
            retention_days: p.retention_days,
        };
        Target::with_settings(&spec, &settings).map_err(|e| self.bad(e.key, e.message))
    }

    /// What to do when neither the pipeline nor the command line names a
    /// destination.
    fn no_destination(&self) -> String {
        let give = format!("--destination {}", forms());
        if self.name == COMMAND_LINE {
            format!("no destination: pass {give}, or --pipeline NAME of a pipeline that sets destination")
        } else {
            format!(
                "no destination for pipeline {}: set destination in [pipelines.{}] of {}, or pass {give}",
                self.name,
                self.name,
                self.path.display()
            )
        }
    }

    /// The resources named (each once, in the order given), else all.
    fn resources(&self, p: &PipelineFile, over: &Overrides) -> Result<Vec<Resource>, ConfigError> {
        let Some(list) = over.resources.clone().or_else(|| p.resources.clone()) else {
            return Ok(Resource::ALL.to_vec());
        };
        let mut out = Vec::new();
        for n in list {
            let r: Resource = n.parse().map_err(|m| self.bad("resources", m))?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
        if out.is_empty() {
            return Err(self.bad("resources", "is empty".into()));
        }
        Ok(out)
    }

    fn limit(&self, p: &PipelineFile, over: &Overrides) -> Result<u32, ConfigError> {
        let limit = over.limit.or(p.limit).unwrap_or(defaults::PAGE_LIMIT);
        if !(1..=defaults::MAX_PAGE_LIMIT).contains(&limit) {
            return Err(self.bad(
                "limit",
                format!("{limit} is out of range 1..={}", defaults::MAX_PAGE_LIMIT),
            ));
        }
        Ok(limit)
    }

    /// Requests per second, the burst (one second's worth by default), and
    /// for `"auto"` the highest rate the adaptive one may reach.
    fn rate(&self, p: &PipelineFile) -> Result<(f64, u32, Option<f64>), ConfigError> {
        let rps = match &p.requests_per_second {
            None => defaults::REQUESTS_PER_SECOND,
            Some(RateFile::Number(n)) => *n,
            Some(RateFile::Word(w)) if w == "auto" => return self.auto_rate(p),
            Some(RateFile::Word(w)) => {
                return Err(self.bad(
                    "requests_per_second",
                    format!("`{w}` is not a number or \"auto\""),
                ))
            }
        };
        if !(rps.is_finite() && rps > 0.0 && rps <= MAX_REQUESTS_PER_SECOND) {
            return Err(self.bad(
                "requests_per_second",
                format!("{rps} must be above 0 and at most {MAX_REQUESTS_PER_SECOND}"),
            ));
        }
        if p.max_requests_per_second.is_some() {
            return Err(self.bad(
                "max_requests_per_second",
                "only used with requests_per_second = \"auto\"".into(),
            ));
        }
        let burst = p.burst.unwrap_or_else(|| defaults::burst(rps));
        if burst == 0 {
            return Err(self.bad("burst", "must be at least 1".into()));
        }
        Ok((rps, burst, None))
    }

    /// `requests_per_second = "auto"`: starts at the default rate (or the
    /// maximum, when lower); the burst follows the rate.
    fn auto_rate(&self, p: &PipelineFile) -> Result<(f64, u32, Option<f64>), ConfigError> {
        if p.burst.is_some() {
            return Err(self.bad(
                "burst",
                "not used with requests_per_second = \"auto\" (the burst is one second's worth at the current rate)".into(),
            ));
        }
        let max = p
            .max_requests_per_second
            .unwrap_or(defaults::AUTO_MAX_REQUESTS_PER_SECOND);
        let lowest = crate::api::aimd::MIN_RATE;
        if !(max.is_finite() && max >= lowest && max <= MAX_REQUESTS_PER_SECOND) {
            return Err(self.bad(
                "max_requests_per_second",
                format!("{max} must be at least {lowest} and at most {MAX_REQUESTS_PER_SECOND}"),
            ));
        }
        let start = defaults::REQUESTS_PER_SECOND.min(max);
        Ok((start, defaults::burst(start), Some(max)))
    }

    fn retries(&self, p: &PipelineFile) -> Result<u32, ConfigError> {
        let retries = p.retries.unwrap_or(defaults::RETRIES);
        if retries > MAX_RETRIES {
            return Err(self.bad("retries", format!("{retries} is more than {MAX_RETRIES}")));
        }
        Ok(retries)
    }
}
