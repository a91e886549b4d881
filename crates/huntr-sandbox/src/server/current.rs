//! The endpoints and filter of the current reference that slice A of #17
//! covers (`/member-groups`, `/tags` as a bare array, `/notes/members`,
//! `isPartner` on `/employers`), and `/_sandbox/missing`, which makes an
//! endpoint answer as an organization's API that does not serve it (404,
//! or 403 for a product not bought).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::paging::{page, paging};
use super::{api_error, Params, Shared, St};
use crate::org::Ix;

pub(super) async fn member_groups(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.current.groups.len() as Ix)
        .map(|g| org.member_group_json(g))
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// Tags: a bare array, no `data`, no `next`, as documented.
pub(super) async fn tags(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.current.tags.len() as Ix)
        .map(|t| org.tag_json(t))
        .collect();
    Json(Value::Array(data)).into_response()
}

/// Internal member notes, newest first, paged with `limit` and `next`.
pub(super) async fn member_notes(State(s): St, Query(q): Params) -> Response {
    let p = match paging(&q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = s.org();
    let index = &org.current.notes_ix;
    Json(page(index, &p, |_| true, |n| org.member_note_json(n))).into_response()
}

/// `isPartner`: None when absent; a 400 unless `true` or `false`.
#[allow(clippy::result_large_err)]
pub(super) fn is_partner(q: &HashMap<String, String>) -> Result<Option<bool>, Response> {
    match q.get("isPartner").map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(api_error(
            StatusCode::BAD_REQUEST,
            "Invalid value",
            Some(("isPartner", v, "query")),
        )),
    }
}

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
pub(super) fn missing(s: &Shared, path: &str) -> Option<u16> {
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
