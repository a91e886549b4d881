//! What the commands that work on a pipeline share: turning the pipeline
//! arguments into a checked [`Pipeline`] and connecting to its source (the
//! API with its token, or the sandbox served in this process).

use anyhow::Context;

use super::args::PipelineArgs;
use super::exit::Failure;
use crate::api::{Client, ClientConfig, Token};
use crate::config::{ConfigFile, Overrides, Pipeline, Source};
use crate::sandbox::{RunningSandbox, SandboxOptions};

/// Loads the pipeline the arguments describe. A missing default config
/// file is fine when no pipeline is named.
pub fn resolve_pipeline(
    args: &PipelineArgs,
    over: Overrides,
    need_destination: bool,
) -> Result<Pipeline, Failure> {
    let over = Overrides {
        base_url: args.base_url.clone(),
        destination: args.destination.clone(),
        ..over
    };
    let file = ConfigFile::load_or_empty(&args.config, args.pipeline.as_deref())?;
    Ok(file.resolve(
        args.pipeline.as_deref(),
        &args.config,
        &over,
        need_destination,
    )?)
}

/// A client for the pipeline's source; for the sandbox source, also the
/// sandbox, served in this process for as long as it is kept. `adjust`
/// may change the client's settings (`check` answers quickly).
pub async fn connect(
    p: &Pipeline,
    args: &PipelineArgs,
    adjust: impl FnOnce(&mut ClientConfig),
) -> Result<(Client, Option<RunningSandbox>), Failure> {
    let (base_url, token, sandbox) = match &p.source {
        Source::Api { base_url } => (base_url.clone(), p.token()?, None),
        Source::Sandbox { seed, scale } => {
            let sb = start_sandbox(*seed, *scale).await?;
            (sb.base_url.clone(), Token::new(sb.token.clone()), Some(sb))
        }
    };
    let mut cfg = ClientConfig::new(&base_url, token, &p.token_env);
    cfg.token_file = p.token_file.clone().filter(|_| sandbox.is_none());
    cfg.requests_per_second = p.requests_per_second;
    cfg.burst = p.burst;
    cfg.max_requests_per_second = p.max_requests_per_second;
    cfg.retry.max_retries = p.retries as usize;
    cfg.base_url_setting = base_url_setting(args);
    adjust(&mut cfg);
    Ok((Client::new(&cfg)?, sandbox))
}

/// The setting to change when the API cannot be reached.
fn base_url_setting(args: &PipelineArgs) -> String {
    match (&args.base_url, &args.pipeline) {
        (None, Some(name)) => format!(
            "base_url in [pipelines.{name}] of {}",
            args.config.display()
        ),
        _ => "--base-url".into(),
    }
}

/// The sandbox organization of a `source = "sandbox"` pipeline.
async fn start_sandbox(seed: u64, scale: u32) -> Result<RunningSandbox, Failure> {
    let sb = RunningSandbox::start(SandboxOptions {
        seed,
        scale,
        ..Default::default()
    })
    .await
    .context("starting the sandbox organization")?;
    eprintln!(
        "huntr-sync: sandbox organization (seed {seed}, {scale} members) serving at {}",
        sb.base_url
    );
    Ok(sb)
}
