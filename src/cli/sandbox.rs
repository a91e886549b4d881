//! `sandbox`: serves the built-in fake organization over HTTP until
//! Ctrl-C, for trying the tool, the demo and the benchmarks without a
//! Huntr account; optionally delivering its actions to a webhook receiver.

use std::time::{Duration, Instant};

use anyhow::Context;

use super::args::SandboxArgs;
use super::exit::{self, Failure};
use crate::defaults;
use crate::sandbox::{RunningSandbox, SandboxOptions};

pub async fn run(args: SandboxArgs) -> Result<u8, Failure> {
    let webhook = check(&args)?;
    let started = Instant::now();
    let sb = RunningSandbox::start(SandboxOptions {
        seed: args.seed,
        scale: args.scale,
        token: args.token.clone(),
        port: args.port,
        rps: args.rps,
        latency: Duration::from_millis(args.latency_ms),
        faults: args.faults,
        write_faults: args.write_faults,
        webhook,
        // Quirks are turned on through `/_sandbox/quirks`.
        ..Default::default()
    })
    .await
    .with_context(|| format!("starting the sandbox on 127.0.0.1:{}", args.port))?;
    print_ready(&sb, &args.token, started);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sb.stop().await;
    Ok(exit::OK)
}

/// Refuses impossible options; returns the webhook URL and its secret
/// when deliveries were asked for.
fn check(args: &SandboxArgs) -> Result<Option<(String, Vec<u8>)>, Failure> {
    for (flag, p) in [
        ("--faults", args.faults),
        ("--write-faults", args.write_faults),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(Failure::usage(format!(
                "{flag} {p} must be between 0 and 1"
            )));
        }
    }
    if args.rps.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err(Failure::usage("--rps must be above 0".into()));
    }
    let Some(url) = &args.webhook_url else {
        return Ok(None);
    };
    let secret = std::env::var(defaults::WEBHOOK_SECRET_ENV).map_err(|_| {
        Failure::usage(format!(
            "--webhook-url needs the secret in {}",
            defaults::WEBHOOK_SECRET_ENV
        ))
    })?;
    Ok(Some((url.clone(), secret.into_bytes())))
}

/// What was built and how to use it.
fn print_ready(sb: &RunningSandbox, token: &str, started: Instant) {
    let (actions, jobs, members) = {
        let org = sb.shared.org.read().unwrap_or_else(|e| e.into_inner());
        (org.actions.len(), org.jobs.len(), org.members_ix.len())
    };
    say!(
        "sandbox organization ready in {:.1}s: {members} members, {jobs} jobs, {actions} actions",
        started.elapsed().as_secs_f64()
    );
    say!("  base URL: {}", sb.base_url);
    say!(
        "  token:    {token} (export {}={token})",
        defaults::TOKEN_ENV
    );
    say!(
        "  next day: curl -X POST http://{}/_sandbox/advance?days=1",
        sb.addr
    );
    say!("  stats:    curl http://{}/_sandbox/stats", sb.addr);
}
