//! The status page over HTTP: `webhook serve` answers `GET /status` with
//! the page, read from the state database at each request (beside the
//! receiver's writes, without waiting for them).

use std::path::PathBuf;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{page, CSP};

/// The answer to `GET /status`: the page, or 500 with the reason.
pub async fn status(db: PathBuf, title: String) -> Response {
    let made = tokio::task::spawn_blocking(move || page(&db, &title)).await;
    match made {
        Ok(Ok(html)) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("status page: {e}\n"),
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "status page: the reading thread failed\n",
        )
            .into_response(),
    }
}
