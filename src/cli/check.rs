//! `check`: the configuration is valid, the token is accepted, each
//! endpoint answers, and a remote destination takes writes; nothing is
//! loaded. One line per endpoint, so an operator sees at a glance what a
//! sync would run into. It answers within seconds: a refused connection,
//! a host that does not resolve, a failed TLS handshake or a refused token
//! ends it at the first request, with one line naming the host, the cause
//! and the setting to fix; so does a server that accepts connections and
//! never answers, within 10 s.

use std::time::Duration;

use super::args::PipelineArgs;
use super::exit::{self, Failure};
use super::pipeline::{connect, resolve_pipeline};
use crate::api::{ApiError, Client, ClientConfig};
use crate::config::Overrides;
use crate::resources::Resource;

pub async fn run(args: PipelineArgs) -> Result<u8, Failure> {
    let p = resolve_pipeline(&args, Overrides::default(), false)?;
    say!("config: ok (pipeline {})", p.name);
    let (mut client, _sandbox) = connect(&p, &args, quick).await?;
    // No "retrying" line: the answer comes within seconds anyway.
    client.set_notice(std::sync::Arc::new(|_: &str| {}));
    let mut failed = false;
    for r in &p.resources {
        let line = match probe(&client, *r).await {
            Ok(n) => format!(
                "ok ({n} record{} in a first page)",
                if n == 1 { "" } else { "s" }
            ),
            Err(e @ ApiError::Unauthorized { .. }) => {
                say!("{:<26} refused", r.path());
                return Err(fail(e));
            }
            // Nothing answers at that address, or it accepts connections
            // and stays silent: the other endpoints would say the same.
            Err(e) if e.unreached() || e.timed_out() => return Err(fail(e)),
            Err(e) if *r == Resource::Events && matches!(e.status(), Some(404 | 410)) => {
                "gone (deprecated; syncs skip it)".to_owned()
            }
            Err(e) if r.optional() && matches!(e.status(), Some(403 | 404)) => format!(
                "not served to this organization ({}; syncs skip it)",
                e.status().unwrap_or(0)
            ),
            Err(e) => {
                failed = true;
                format!("FAILED: {e}")
            }
        };
        say!("{:<26} {line}", r.path());
    }
    match &p.token_file {
        Some(f) => say!("token: accepted (token_file {})", f.display()),
        None => say!("token: accepted ({})", p.token_env),
    }
    if p.destination.is_remote() {
        match p.destination.check_writable().await {
            Ok(()) => say!("destination: writable ({})", p.destination.describe()),
            Err(e) => {
                say!("destination: FAILED: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { exit::FAILED } else { exit::OK })
}

/// A check waits seconds, not the minutes a nightly sync may spend
/// riding out an outage: a server that never answers ends it after two
/// attempts of 3 s each.
fn quick(cfg: &mut ClientConfig) {
    cfg.connect_timeout = Duration::from_secs(3);
    cfg.timeout = Duration::from_secs(3);
    cfg.retry.max_retries = cfg.retry.max_retries.min(1);
    cfg.retry.base = Duration::from_millis(200);
    cfg.retry.cap = Duration::from_secs(1);
    cfg.retry.retry_after_cap = Duration::from_secs(2);
}

fn fail(e: ApiError) -> Failure {
    Failure {
        code: exit::FAILED,
        error: e.into(),
    }
}

/// Asks for the first record of `r` (the whole answer when it is not
/// paged); returns how many records came back.
async fn probe(client: &Client, r: Resource) -> Result<usize, ApiError> {
    let mut query: Vec<(&str, String)> = r.query();
    if r.paged() {
        query.push(("limit", "1".into()));
    }
    let resp = client.get(r.path(), &query).await?;
    // `/tags` answers a bare array.
    let items = resp.body.get("data").unwrap_or(&resp.body);
    Ok(items.as_array().map(Vec::len).unwrap_or(0))
}
