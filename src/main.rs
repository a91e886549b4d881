//! The `huntr-sync` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    huntr_sync::cli::main()
}
