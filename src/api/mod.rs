//! The Org API client: one request policy (rate limit, then retries with
//! backoff, then a timeout) shared by every request of a run, and cursor
//! paging on top of it.

pub mod aimd;
pub mod client;
pub mod error;
pub mod limiter;
pub mod pager;
pub mod retry;
pub mod transport;

pub use client::{Client, ClientConfig, Notice, Response, Stats, Token};
pub use error::{ApiError, ErrorBody};
pub use pager::{Page, Pager};
pub use retry::RetryPolicy;

use crate::defaults::MAX_PAGE_LIMIT;

/// Refuses a `limit` the API would reject, before any request is sent.
pub fn check_limit(limit: u32) -> Result<u32, ApiError> {
    if (1..=MAX_PAGE_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::LimitOutOfRange(limit))
    }
}
