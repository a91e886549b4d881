//! `completions`: shell completions, generated from the clap definitions
//! in `args.rs` so they can never disagree with the parser.

use clap::CommandFactory;

use super::args::Cli;
use super::exit::{self, Failure};

pub fn run(shell: clap_complete::Shell) -> Result<u8, Failure> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "huntr-sync",
        &mut std::io::stdout(),
    );
    Ok(exit::OK)
}
