//! `floor` (hidden): the benchmark's lower bound, a plain sequential
//! download of every page a full sync reads (see `crate::floor`), printed
//! as one JSON object for `scripts/bench.sh`.

use anyhow::Context;

use super::exit::{self, Failure};
use crate::defaults;

pub async fn run(base_url: &str, limit: u32) -> Result<u8, Failure> {
    let token = std::env::var(defaults::TOKEN_ENV).unwrap_or_default();
    let report = crate::floor::download_all(base_url, &token, limit)
        .await
        .context("downloading the floor")?;
    println!("{}", serde_json::to_string(&report).unwrap_or_default());
    Ok(exit::OK)
}
