//! Exit codes, documented in the README, and the one place errors are
//! mapped to them: [`Failure`]'s `From` looks at what went wrong (by type,
//! never by message) and picks the code; `main` prints the error and exits
//! with it.

use crate::config::{ConfigError, TokenError};
use crate::lifecycle::RunError;
use crate::push::session::SessionError;
use crate::store::LockError;
use crate::sync::SyncError;

pub const OK: u8 = 0;
/// The run failed: API error, refused token, destination error.
pub const FAILED: u8 = 1;
/// Bad command line or configuration; nothing was sent.
pub const USAGE: u8 = 2;
/// Some resources could not be completed; the rest was committed and
/// the next run finishes the job.
pub const PARTIAL: u8 = 3;
/// Another sync holds the destination's lock; nothing was done.
pub const LOCKED: u8 = 4;

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    /// A mistake on the command line, described by `msg`.
    pub fn usage(msg: String) -> Failure {
        Failure {
            code: USAGE,
            error: anyhow::anyhow!(msg),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let error = e.into();
        let code = code_of(&error);
        Failure { code, error }
    }
}

/// The exit code for an error that ends a command.
fn code_of(error: &anyhow::Error) -> u8 {
    if error.is::<ConfigError>() || error.is::<TokenError>() {
        return USAGE;
    }
    if is_locked(error) {
        return LOCKED;
    }
    match error.downcast_ref::<SyncError>() {
        Some(SyncError::Api(crate::api::ApiError::LimitOutOfRange(_))) => USAGE,
        _ => FAILED,
    }
}

/// Whether another run holds the destination's lock.
fn is_locked(error: &anyhow::Error) -> bool {
    let held = |e: &LockError| matches!(e, LockError::Held { .. });
    let run = |e: &RunError| matches!(e, RunError::Lock(l) if held(l));
    error
        .downcast_ref::<SyncError>()
        .is_some_and(|e| matches!(e, SyncError::Lock(l) if held(l)))
        || error.downcast_ref::<RunError>().is_some_and(run)
        || error
            .downcast_ref::<SessionError>()
            .is_some_and(|e| matches!(e, SessionError::Run(r) if run(r)))
}
