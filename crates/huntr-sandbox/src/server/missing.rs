//! `/_sandbox/missing`: makes an endpoint answer as an organization's API
//! that does not serve it (404, or 403 for a product not bought), so that
//! a client's handling of optional endpoints can be tested.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{api_error, Params, Shared, St};

/// `POST /_sandbox/missing?endpoint=E&status=S`: endpoint `E` (a path
/// under `/org`, e.g. `notes/members`) answers `S` (404 or 403; anything
/// else, or no status, serves it again).
pub(super) async fn set_missing(State(s): St, Query(q): Params) -> Response {
    let Some(endpoint) = q.get("endpoint").filter(|e| !e.is_empty()).cloned() else {
        return api_error(StatusCode::BAD_REQUEST, "endpoint is required", None);
    };
    let status = q.get("status").and_then(|v| v.parse::<u16>().ok());
    let mut missing = s.missing.lock().unwrap_or_else(|e| e.into_inner());
    match status {
        Some(st @ (403 | 404)) => {
            missing.insert(endpoint.trim_matches('/').to_owned(), st);
        }
        _ => {
            missing.remove(endpoint.trim_matches('/'));
        }
    }
    Json(json!({ "missing": *missing })).into_response()
}

/// The status an API request to `path` answers when its endpoint is not
/// served.
pub(super) fn status(s: &Shared, path: &str) -> Option<u16> {
    let path = path.strip_prefix("/org").unwrap_or(path).trim_matches('/');
    let missing = s.missing.lock().unwrap_or_else(|e| e.into_inner());
    missing
        .iter()
        .find(|(e, _)| path == e.as_str() || path.starts_with(&format!("{e}/")))
        .map(|(_, st)| *st)
}

/// The answer of an endpoint the organization's API does not serve.
pub(super) fn not_served(status: u16) -> Response {
    match status {
        403 => api_error(
            StatusCode::FORBIDDEN,
            "Forbidden: your organization does not have access to this feature",
            None,
        ),
        _ => api_error(StatusCode::NOT_FOUND, "Not Found", None),
    }
}
