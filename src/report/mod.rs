//! The status page: one self-contained HTML file showing how the runs of
//! a destination have gone, written by `huntr-sync report --html` and
//! served by `webhook serve` at `/status`.
//!
//! - `gather`: what the page shows, read from the state database without
//!   migrating it or waiting for a run's lock;
//! - `html`: the page's frame (head, inline CSS), escaping and formatting;
//! - `sections`: its sections, every string from the data escaped;
//! - `svg`: the charts, drawn as inline SVG;
//! - `serve`: the answer to `GET /status`.
//!
//! The page asks for nothing: no scripts, fonts, images or style sheets
//! from anywhere, and a Content-Security-Policy that forbids the browser
//! any request should one slip in.

mod gather;
mod html;
mod sections;
pub mod serve;
mod svg;

use std::path::Path;

pub use gather::{gather, StatusData};
pub use html::{escape, render, CSP};

/// The most runs the charts show.
pub const MAX_RUNS: usize = 90;

/// The most errors and pushes listed.
pub const MAX_LISTED: usize = 20;

/// The page for the state database `db`, named `title`, as of now.
pub fn page(db: &Path, title: &str) -> Result<String, crate::store::StoreError> {
    let store = crate::store::Store::open_read(db)?;
    let data = gather(&store, title, crate::timefmt::now_unix())?;
    Ok(render(&data))
}

#[cfg(test)]
mod tests;
