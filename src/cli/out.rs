//! What the commands print on standard output, through one door. A reader
//! that stops early (`huntr-sync sync --json | head -c 100`, `schema |
//! head`) closes the pipe; Rust's `println!` then panics, which would turn
//! a sync that committed into a crash report and exit code 101. Here a
//! closed pipe ends the printing quietly and the command's own exit code
//! stands; any other write error is said once on standard error.

use std::fmt::Arguments;
use std::io::{ErrorKind, Write};

/// Writes `args` to standard output; see the module's note for errors.
pub fn write(args: Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() != ErrorKind::BrokenPipe {
            eprintln!("huntr-sync: warning: cannot write to standard output: {e}");
        }
    }
}

/// `println!` for the commands' output.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for the commands' output.
macro_rules! say_raw {
    ($($arg:tt)*) => {
        $crate::cli::out::write(format_args!($($arg)*))
    };
}
