//! The roster's endpoints (`roster.rs`): `/member-groups`, `/tags` as a
//! bare array, and `/notes/members`.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::paging::{page, paging};
use super::{Params, St};
use crate::org::Ix;

pub(super) async fn member_groups(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.roster.groups.len() as Ix)
        .map(|g| org.member_group_json(g))
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// Tags: a bare array, no `data`, no `next`, as documented.
pub(super) async fn tags(State(s): St) -> Response {
    let org = s.org();
    let data: Vec<Value> = (0..org.roster.tags.len() as Ix)
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
    let index = &org.roster.notes_ix;
    Json(page(index, &p, |_| true, |n| org.member_note_json(n))).into_response()
}
