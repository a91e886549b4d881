//! Named points where a test may kill this process, to prove that a run
//! killed there loses and duplicates nothing. `HUNTR_KILL_AT=NAME:N` makes
//! the Nth pass through point NAME (counted from 1) send SIGKILL to this
//! process, the way a machine's crash or an OOM kill ends a run. Without
//! the variable a point costs one check of a value read once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

/// The environment variable naming the point.
pub const KILL_AT_ENV: &str = "HUNTR_KILL_AT";

static WANTED: LazyLock<Option<(String, u64)>> = LazyLock::new(|| {
    let text = std::env::var(KILL_AT_ENV).ok()?;
    let (name, n) = text.rsplit_once(':')?;
    Some((name.to_owned(), n.parse().ok()?))
});

static PASSES: AtomicU64 = AtomicU64::new(0);

/// Passes point `name`: kills the process if it is the wanted pass.
pub fn point(name: &str) {
    let Some((wanted, n)) = WANTED.as_ref() else {
        return;
    };
    if wanted != name || PASSES.fetch_add(1, Ordering::SeqCst) + 1 != *n {
        return;
    }
    tracing::warn!("{KILL_AT_ENV}: killing this process at {name}:{n}");
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status();
    // The signal is on its way; nothing after this point may run.
    loop {
        std::thread::park();
    }
}
