//! The command line. `main` parses, sets up logging, runs one command and
//! turns its result into the process exit code: errors are mapped to codes
//! in [`exit`] (by [`Failure`]'s `From`), printed here, and `src/main.rs`
//! only calls [`main`].
//!
//! - `args`: every clap definition (commands, arguments, help);
//! - `exit`: the exit codes and the error-to-code mapping;
//! - `pipeline`: resolving a pipeline and connecting to its source;
//! - `monitor`: the metrics file and notifications after `sync` and `push`;
//! - one file per command: `sync`, `check`, `state`, `status`, `webhook`,
//!   `sandbox`, `schema`, `push`, `export`, `views`, `report` and
//!   `completions`;
//! - `out`: standard output for all of them (`say!`), quiet on a closed
//!   pipe.

#[macro_use]
mod out;

mod args;
mod check;
mod completions;
pub mod exit;
mod export;
mod logging;
mod monitor;
mod pipeline;
mod push;
mod report;
mod sandbox;
mod schema;
mod state;
mod status;
mod sync;
mod views;
mod webhook;

use std::process::ExitCode;

use clap::Parser;

pub use args::{
    Cli, Command, LogFormat, PipelineArgs, SandboxArgs, SchemaFormat, StateAction, SyncArgs,
    WebhookAction,
};
pub use exit::Failure;
pub use pipeline::resolve_pipeline;

/// Runs the parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Sync(args) => sync::run(args).await,
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::State { action } => state::run(action),
        Command::Status(args) => status::run(args),
        Command::Check(args) => check::run(args).await,
        Command::Push { what } => push::run(what).await,
        Command::Export(args) => export::run(args),
        Command::Report(args) => report::run(args),
        Command::Completions { shell } => completions::run(shell),
        Command::Webhook { action } => webhook::run(action).await,
        Command::Schema { format } => schema::run(format),
        Command::Views(args) => views::run(args),
    }
}

/// Entry point shared by the binary: parse, log, run, exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The sandbox stands in for Huntr's servers: it keeps glibc's defaults.
    if !matches!(cli.command, Command::Sandbox(_)) {
        crate::memory::bound_allocator();
    }
    logging::init(cli.verbose, cli.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("huntr-sync: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("huntr-sync: error: {}", message(&f.error));
            ExitCode::from(f.code)
        }
    }
}

/// The error and each of its causes, joined by ": ", on one line. A cause
/// that the text already states (many errors both show their source and
/// chain it) is left out, so each is said once.
fn message(error: &anyhow::Error) -> String {
    let mut msg = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !msg.contains(&cause) {
            msg.push_str(": ");
            msg.push_str(&cause);
        }
    }
    msg.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read {path}: {source}")]
    struct Shows {
        path: &'static str,
        source: std::io::Error,
    }

    #[test]
    fn a_cause_is_stated_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Shows {
            path: "a.toml",
            source: io,
        });
        assert_eq!(message(&e), "cannot read a.toml: no such file");
        let e = anyhow::Error::new(std::io::Error::other("disk says no")).context("writing x");
        assert_eq!(message(&e), "writing x: disk says no");
    }
}
