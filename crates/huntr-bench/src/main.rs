//! `huntr-bench`: the tools the benchmark scripts run beside huntr-sync,
//! kept out of the shipped library and binary. Each command prints one
//! JSON object on stdout for its script to read.
//!
//! - `floor` (`scripts/bench.sh`): the sequential download a sync's wall
//!   time is compared with;
//! - `webhook-load` (`scripts/webhook_bench.sh`): signed deliveries to a
//!   webhook receiver, counting what it accepted.

mod floor;
mod webhook_load;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use huntr_sync::defaults;

#[derive(Debug, Parser)]
#[command(
    name = "huntr-bench",
    about = "Benchmark tools for huntr-sync's scripts (not shipped)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark floor: download every page a full sync reads, sequentially,
    /// and print {requests, bytes, seconds} as JSON (token in HUNTR_ORG_TOKEN).
    Floor {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = defaults::PAGE_LIMIT)]
        limit: u32,
    },
    /// Load generator: POST signed copies of an action to a receiver
    /// (secret in HUNTR_WEBHOOK_SECRET); prints accepted deliveries per second.
    WebhookLoad {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
}

async fn run(command: Command) -> anyhow::Result<String> {
    let json = match command {
        Command::Floor { base_url, limit } => {
            let token = std::env::var(defaults::TOKEN_ENV).unwrap_or_default();
            let report = floor::download_all(&base_url, &token, limit)
                .await
                .context("downloading the floor")?;
            serde_json::to_string(&report)?
        }
        Command::WebhookLoad {
            url,
            count,
            concurrency,
        } => {
            let secret = std::env::var(defaults::WEBHOOK_SECRET_ENV).unwrap_or_default();
            let report = webhook_load::load(&url, secret.as_bytes(), count, concurrency).await?;
            serde_json::to_string(&report)?
        }
    };
    Ok(json)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The allocator as huntr-sync sets it up, so the floor's peak RSS is
    // comparable with a sync's.
    huntr_sync::memory::bound_allocator();
    let report = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(run(cli.command)));
    match report {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("huntr-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn help(name: &str) -> String {
        let mut cmd = Cli::command();
        cmd.build();
        let mut sub = cmd.find_subcommand(name).expect(name).clone();
        sub.render_help().to_string()
    }

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// The help texts spell out the variables read; they must say what
    /// huntr-sync's `defaults.rs` says.
    #[test]
    fn help_texts_agree_with_the_defaults() {
        assert!(help("floor").contains(&format!("token in {}", defaults::TOKEN_ENV)));
        let secret = format!("secret in {}", defaults::WEBHOOK_SECRET_ENV);
        assert!(help("webhook-load").contains(&secret));
    }
}
