//! A push's writes as a run of their own, through the run lifecycle: the
//! destination's lock is held while writes are sent, each answer is
//! written to the destination under the run, and the run publishes what
//! the answers changed and records how it ended.

use std::collections::HashMap;

use super::send::{Ended, Item, SendError, Sender};
use super::PushKind;
use crate::api::Client;
use crate::defaults;
use crate::destination::Target;
use crate::lifecycle::{Ending, Lifecycle, RunError};
use crate::store::RunStatus;

/// Why a push's run failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Send(#[from] SendError),
}

/// Sends `writes` under the destination's lock (waiting up to `wait` for
/// another run holding it), as a run of its own; returns how each write
/// ended.
pub async fn send_all(
    client: &Client,
    target: &Target,
    kind: PushKind,
    writes: Vec<Item>,
    wait: std::time::Duration,
) -> Result<HashMap<String, Ended>, SessionError> {
    let what = format!("push {}", kind.name());
    let (life, store) = Lifecycle::begin(target, &what, wait).await?;
    let journal = store.journal(kind.name()).map_err(RunError::Store)?;
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(writes.len() as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let mut sender = Sender {
        client,
        store,
        journal,
        run_id: life.run_id(),
        kind,
        concurrency: defaults::PUSH_CONCURRENCY,
        rounds: defaults::PUSH_ROUNDS,
        bar,
    };
    let sent = sender.send(writes).await;
    sender.bar.finish_and_clear();
    let (requests, retries, throttled) = client.stats.get();
    let ending = Ending {
        status: if sent.is_ok() {
            RunStatus::Complete
        } else {
            RunStatus::Failed
        },
        window_end: None,
        requests,
        retries,
        throttled,
        error: sent.as_ref().err().map(|e| e.to_string()),
        publish: true,
    };
    let ended = life.end(sender.store, ending).await;
    ended.recorded.map_err(RunError::Store)?;
    let sent = sent?;
    ended.published.map_err(RunError::Publish)?;
    Ok(sent)
}
