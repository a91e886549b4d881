//! `webhook serve`: receives Huntr's webhooks into the pipeline's
//! destination until SIGTERM or Ctrl-C, finishing in-flight deliveries
//! before it exits.

use std::net::SocketAddr;

use anyhow::Context;

use super::args::{PipelineArgs, WebhookAction};
use super::exit::{self, Failure};
use super::pipeline::resolve_pipeline;
use crate::config::{Overrides, Pipeline};
use crate::webhook::{Receiver, ServeOptions};

pub async fn run(action: WebhookAction) -> Result<u8, Failure> {
    match action {
        WebhookAction::Serve {
            pipeline,
            listen,
            queue,
        } => serve(&pipeline, listen, queue).await,
    }
}

async fn serve(args: &PipelineArgs, listen: SocketAddr, queue: usize) -> Result<u8, Failure> {
    let p = resolve_pipeline(args, Overrides::default(), true)?;
    let secret = secret(&p)?;
    let mut opts = ServeOptions::new(listen, p.destination.clone(), secret.into_bytes());
    opts.queue = queue;
    opts.pipeline = p.label().to_owned();
    let receiver = Receiver::start(opts).await?;
    eprintln!(
        "huntr-sync: receiving webhooks on http://{}/ into {}",
        receiver.addr,
        p.destination.describe()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("huntr-sync: stopping: finishing in-flight deliveries");
    receiver.shutdown().await;
    Ok(exit::OK)
}

/// The webhook's secret, from the pipeline's `webhook_secret_env`.
fn secret(p: &Pipeline) -> Result<String, Failure> {
    std::env::var(&p.webhook_secret_env)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Failure::usage(format!(
                "{} is not set: export {}=<the webhook's secret, from Huntr's Developers tab>",
                p.webhook_secret_env, p.webhook_secret_env
            ))
        })
}
