//! Paging as the API does it: validated `limit`, `next`, `created_after`
//! and `created_before`; newest-first pages over an index, and the `next`
//! cursor (sometimes set on the last page, as the real API does).

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::api_error;
use crate::org::{Index, Ix, Oid};

/// Validated paging parameters.
pub(super) struct Paging {
    pub(super) limit: usize,
    pub(super) next: Option<Oid>,
    pub(super) after: Option<i64>,
    pub(super) before: Option<i64>,
}

#[allow(clippy::result_large_err)]
pub(super) fn paging(q: &HashMap<String, String>) -> Result<Paging, Response> {
    let limit = match q.get("limit") {
        None => 100,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=500).contains(&n) => n as usize,
            _ => {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    "Limit must be an integer under 500",
                    Some(("limit", v, "query")),
                ))
            }
        },
    };
    let next = match q.get("next") {
        None => None,
        Some(v) => match Oid::parse(v) {
            Some(o) => Some(o),
            None => {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    "Invalid value",
                    Some(("next", v, "query")),
                ))
            }
        },
    };
    let ts = |name: &str| -> Result<Option<i64>, Response> {
        match q.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                api_error(
                    StatusCode::BAD_REQUEST,
                    "Invalid value",
                    Some((name, v, "query")),
                )
            }),
        }
    };
    Ok(Paging {
        limit,
        next,
        after: ts("created_after")?,
        before: ts("created_before")?,
    })
}

/// One newest-first page of `index`. On the last page `next` is sometimes
/// null and sometimes set (the request after it answers an empty page),
/// as the real API does.
pub(super) fn page(
    index: &Index,
    p: &Paging,
    keep: impl Fn(Ix) -> bool,
    render: impl Fn(Ix) -> Value,
) -> Value {
    let mut upper = p.next.unwrap_or(Oid(u32::MAX, u64::MAX));
    if let Some(b) = p.before {
        upper = upper.min(Oid::first_at(b));
    }
    let lower = p.after.map(|a| Oid::first_at(a + 1)).unwrap_or(Oid(0, 0));
    if upper <= lower {
        return json!({"data": [], "next": null});
    }
    let mut items = index.range(lower..upper).rev().filter(|(_, ix)| keep(**ix));
    let mut data = Vec::with_capacity(p.limit.min(500));
    let mut last = None;
    for (id, ix) in items.by_ref().take(p.limit) {
        data.push(render(*ix));
        last = Some(*id);
    }
    let more = items.next().is_some();
    let next = match last {
        Some(id) if more || id.1.is_multiple_of(2) => json!(id.hex()),
        _ => Value::Null,
    };
    json!({"data": data, "next": next})
}

pub(super) fn oid_param(q: &HashMap<String, String>, name: &str) -> Option<Option<Oid>> {
    // Some(None): given but matching nothing.
    q.get(name).map(|v| Oid::parse(v))
}
